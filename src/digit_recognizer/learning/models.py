"""The networks each notebook trains, from the reference write-ups' dense net to our best CNN.

Every model takes float32 images of shape (n, 28, 28, 1) scaled to 0..1 and returns float32
softmax probabilities over the 10 digits, whichever Keras backend runs it (`KERAS_BACKEND`).
"""

from __future__ import annotations

import keras
from keras import layers

from digit_recognizer.learning.train import seed_everything

INPUT_SHAPE = (28, 28, 1)
N_CLASSES = 10


def dense(name: str = "dense") -> keras.Model:
    """The reference dense network: 784 inputs, 400 hidden units, 10 outputs."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            layers.Flatten(),
            layers.Dense(400, activation="relu"),
            layers.Dense(N_CLASSES, activation="softmax", dtype="float32"),
        ],
        name=name,
    )


def simple_cnn(name: str = "simple_cnn") -> keras.Model:
    """The reference 'simple model': one convolution and one pooling block."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(N_CLASSES, activation="softmax", dtype="float32"),
        ],
        name=name,
    )


def double_cnn(name: str = "double_cnn") -> keras.Model:
    """The reference CNN with double convolutions before each pooling."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(N_CLASSES, activation="softmax", dtype="float32"),
        ],
        name=name,
    )


def _conv_bn(filters: int, kernel: int = 3, batch_norm: bool = True) -> list[layers.Layer]:
    # The convolution's bias is redundant before batch normalisation. A momentum of 0.9 (Keras
    # defaults to 0.99) lets the running statistics settle within short trainings too.
    # "valid" padding shrinks the maps (28-26-24, 12-10-8, 4-2): 2.2x faster than "same" on
    # 2 CPU cores for the same weights (bench/), and MNIST's borders are empty anyway.
    if not batch_norm:
        return [layers.Conv2D(filters, kernel, activation="relu")]
    return [
        layers.Conv2D(filters, kernel, use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
    ]


def batchnorm_cnn(name: str = "batchnorm", dropout: float = 0.25,
                  batch_norm: bool = True) -> keras.Model:
    """A compact CNN (141k weights) with batch normalisation, global pooling and dropout."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            *_conv_bn(32, batch_norm=batch_norm),
            *_conv_bn(32, batch_norm=batch_norm),
            layers.MaxPooling2D(),
            layers.Dropout(dropout),
            *_conv_bn(64, batch_norm=batch_norm),
            *_conv_bn(64, batch_norm=batch_norm),
            layers.MaxPooling2D(),
            layers.Dropout(dropout),
            *_conv_bn(128, batch_norm=batch_norm),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(dropout),
            layers.Dense(N_CLASSES, activation="softmax", dtype="float32"),
        ],
        name=name,
    )


def compact_cnn(name: str = "compact_cnn") -> keras.Model:
    """The batch-norm CNN without its batch normalisation: where the experiments start (10)."""
    return batchnorm_cnn(name, batch_norm=False)


def build(builder: str, seed: int | None = None, precision: str = "float32",
          name: str | None = None) -> keras.Model:
    """A fresh, uncompiled network from the function `builder` of this module; `seed` fixes its
    weights; `name` defaults to the builder's. (`of` builds a model of the catalogue by its
    name.)

    `precision` "auto" computes in bfloat16, weights and outputs staying float32, where the
    hardware does that fast (`precision.policy`).
    """
    from digit_recognizer.learning.precision import policy

    if seed is not None:
        seed_everything(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy(precision))
    try:
        return globals()[builder](name=name or builder)
    finally:
        keras.config.set_dtype_policy(previous)


def of(name: str, seed: int | None = None) -> keras.Model:
    """A fresh, uncompiled network of the catalogue's model `name` (`recipes`), in its own
    precision."""
    from digit_recognizer.learning import recipes

    return build(recipes.model(name).builder, seed, recipes.model(name).precision, name)
