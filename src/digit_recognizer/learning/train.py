"""Training: a recipe, batches and `fit`, on any Keras backend."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning.recipe import Recipe


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augmenter=None):
    """Shuffled batches, reshuffled each epoch; augmentation runs here, not inside the model.

    On TensorFlow a tf.data pipeline, which augments in parallel with training; on the other
    backends NumPy batches (`batches.ShuffledBatches`).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        from digit_recognizer.learning.batches import ShuffledBatches

        return ShuffledBatches(x, y, batch_size, seed, augmenter)
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augmenter is not None:
        ds = ds.map(lambda images, labels: (augmenter(images, training=True), labels))
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclass
class TrainResult:
    history: dict[str, list[float]]
    seconds: float
    epochs: int
    recipe: Recipe
    extra: dict = field(default_factory=dict)


def fit(model, split, r: Recipe, seed: int, verbose: int = 0, augmenter=None,
        callbacks: list | None = None, adam_options: dict | None = None) -> TrainResult:
    """Compile and train `model` on the split's train part, validating on its validation part,
    following the recipe `r`.

    A recipe that augments needs the `augmenter` (`augment.augmenter()`), applied to each batch.
    `adam_options` go to Keras's Adam as they are, e.g. `{"use_ema": True}` (an EMA of the
    weights, bench/recipe_screen.py).
    """
    import keras

    from digit_recognizer.learning import models, schedules

    if r.augment != (augmenter is not None):
        raise DigitRecognizerError(
            f"the recipe of {model.name} {'needs' if r.augment else 'takes no'} augmenter"
            + (" (pass augmenter=augment.augmenter())" if r.augment else ""))
    n_epochs = r.epochs
    models.seed_everything(seed)
    # The same step count as the plotted schedule (`schedules.learning_rates`).
    steps = schedules.steps_per_epoch(r, len(split.x_train)) * n_epochs
    if r.schedule == "cosine":
        warmup = max(1, steps // 10)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps - warmup, warmup_target=r.learning_rate, warmup_steps=warmup
        )
    else:
        learning_rate = r.learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, **(adam_options or {})),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=r.label_smoothing),
        metrics=["accuracy"],
        # The recipe's choice is TensorFlow's (XLA or not); JAX always compiles.
        jit_compile=r.jit_compile if keras.backend.backend() == "tensorflow" else "auto",
    )
    train_ds = dataset(split.x_train, split.y_train, r.batch_size, seed, augmenter)
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=(split.x_val, split.y_val),
        epochs=n_epochs,
        verbose=verbose,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself; Keras would warn that it ignores True
    )
    seconds = time.perf_counter() - start
    return TrainResult({k: [float(v) for v in vs] for k, vs in history.history.items()},
                       seconds, n_epochs, r)
