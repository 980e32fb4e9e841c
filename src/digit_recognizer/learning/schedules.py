"""The learning rate a recipe trains with, step by step, for plotting it beside the curves.

`train.fit` builds the same schedule with Keras: "constant" keeps the recipe's rate; "cosine"
warms up linearly from 0 over the first 10% of the steps (at least one), then decays to zero
along a cosine. This module imports nothing heavy.
"""

from __future__ import annotations

import math

import numpy as np

from digit_recognizer.learning.recipe import Recipe


def steps_per_epoch(recipe: Recipe, n_train: int) -> int:
    return max(1, math.ceil(n_train / recipe.batch_size))


def learning_rates(recipe: Recipe, n_train: int) -> np.ndarray:
    """The learning rate of every optimizer step (index 0 is the first step)."""
    steps = steps_per_epoch(recipe, n_train) * recipe.epochs
    step = np.arange(steps, dtype=np.float64)
    if recipe.schedule == "constant":
        return np.full(steps, recipe.learning_rate)
    if recipe.schedule != "cosine":
        raise ValueError(f"unknown schedule {recipe.schedule!r}")
    warmup = max(1, steps // 10)
    decay = max(1, steps - warmup)
    warm = recipe.learning_rate * step / warmup
    done = np.clip(step - warmup, 0, decay) / decay
    cosine = recipe.learning_rate * 0.5 * (1 + np.cos(np.pi * done))
    return np.where(step < warmup, warm, cosine)


def per_epoch(recipe: Recipe, n_train: int) -> list[float]:
    """The mean learning rate of each epoch."""
    rates = learning_rates(recipe, n_train)
    return [float(r) for r in rates.reshape(recipe.epochs, -1).mean(axis=1)]
