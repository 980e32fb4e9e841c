"""Training: a recipe, batches and `fit`, on any Keras backend."""

from __future__ import annotations

import json
import logging
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


def seed_everything(seed: int) -> None:
    """Same seed, same initial weights, batches and dropout: the same result on the CPU."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        _drop_retracing_warnings(tf.get_logger())


def _retracing(record: logging.LogRecord) -> bool:
    return "triggered tf.function retracing" not in record.getMessage()


def _drop_retracing_warnings(logger: logging.Logger) -> None:
    # Each new model traces its own predict function, so a notebook that trains several (an
    # ensemble, the experiments) gets TensorFlow's warning against retracing in a loop.
    if _retracing not in logger.filters:
        logger.addFilter(_retracing)


def from_json(network: str, seed: int | None = None, name: str | None = None):
    """A fresh network with the layers of a saved model's architecture (`model.to_json()`),
    its weights drawn from `seed`; each layer keeps its number format."""
    import keras

    if seed is not None:
        seed_everything(seed)
    config = json.loads(network)
    if name:
        config["config"]["name"] = name
    return keras.models.model_from_json(json.dumps(config))


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

    from digit_recognizer.learning import schedules

    if r.augment != (augmenter is not None):
        raise DigitRecognizerError(
            f"the recipe of {model.name} {'needs' if r.augment else 'takes no'} augmenter"
            + (" (pass augmenter=augment.augmenter())" if r.augment else ""))
    n_epochs = r.epochs
    seed_everything(seed)
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
