"""Training recipes: the profiles (quick/full), seeding, the tf.data pipeline and `fit`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from digit_recognizer.errors import DigitRecognizerError

PROFILES = ("quick", "full")


@dataclass(frozen=True)
class Recipe:
    """How one stage trains: the reference stages use plain Adam at 0.001, as the write-ups do."""

    epochs: dict[str, int]
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"  # or "cosine": linear warm-up then cosine decay to zero
    label_smoothing: float = 0.0
    augment: bool = False
    # XLA doubles the reference CNNs' speed on the CPU but halves the batch-norm CNN's (bench/).
    jit_compile: bool | str = "auto"


_EPOCHS = {
    "quick": {"reference": 3, "batchnorm": 4, "augmentation": 5},
    "full": {"reference": 10, "batchnorm": 10, "augmentation": 10},
}

STAGES = ("dense", "simple_cnn", "double_cnn", "batchnorm", "augmentation")


def recipe(stage: str, profile: str, epochs: int | None = None) -> Recipe:
    """The recipe of `stage` under `profile`; `epochs` overrides the profile's count."""
    if profile not in PROFILES:
        raise DigitRecognizerError(f"unknown profile {profile!r}: choose one of quick, full")
    if stage not in STAGES:
        raise DigitRecognizerError(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}")
    counts = _EPOCHS[profile]
    n = epochs or counts.get(stage, counts["reference"])
    if stage == "batchnorm":
        return Recipe({stage: n}, learning_rate=3e-3, schedule="cosine", jit_compile=False)
    if stage == "augmentation":
        return Recipe({stage: n}, learning_rate=3e-3, schedule="cosine", label_smoothing=0.1,
                      augment=True, jit_compile=False)
    return Recipe({stage: n})


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: bool):
    """A shuffled, batched tf.data pipeline; augmentation runs in it, not inside the model."""
    import tensorflow as tf

    from digit_recognizer import models

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        augmenter = models.augmenter()
        ds = ds.map(lambda images, labels: (augmenter(images, training=True), labels))
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclass
class TrainResult:
    history: dict[str, list[float]]
    seconds: float
    epochs: int
    recipe: Recipe
    extra: dict = field(default_factory=dict)


def fit(model, split, stage: str, profile: str = "quick", seed: int = 42,
        epochs: int | None = None, verbose: int = 2) -> TrainResult:
    """Compile and train `model` on the split's train part, validating on its validation part."""
    import keras

    from digit_recognizer import models

    r = recipe(stage, profile, epochs)
    n_epochs = r.epochs[stage]
    models.seed_everything(seed)
    steps = int(np.ceil(len(split.x_train) / r.batch_size)) * n_epochs
    if r.schedule == "cosine":
        warmup = max(1, steps // 10)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps - warmup, warmup_target=r.learning_rate, warmup_steps=warmup
        )
    else:
        learning_rate = r.learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=r.label_smoothing),
        metrics=["accuracy"],
        jit_compile=r.jit_compile,
    )
    train_ds = dataset(split.x_train, split.y_train, r.batch_size, seed, r.augment)
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=(split.x_val, split.y_val),
        epochs=n_epochs,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    return TrainResult({k: [float(v) for v in vs] for k, vs in history.history.items()},
                       seconds, n_epochs, r)
