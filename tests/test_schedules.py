"""The learning rate plotted beside the curves is the one Keras trains with."""

from __future__ import annotations

import numpy as np
import pytest

from digit_recognizer.learning import recipes, schedules


@pytest.mark.parametrize("n_train, epochs", [(7200, 4), (359, 1), (37800, 10)])
def test_cosine_matches_the_schedule_train_fit_builds(n_train, epochs):
    import keras

    recipe = recipes.recipe("batchnorm", "quick", epochs)
    rates = schedules.learning_rates(recipe, n_train)
    steps = int(np.ceil(n_train / recipe.batch_size)) * epochs
    assert len(rates) == steps == schedules.steps_per_epoch(recipe, n_train) * epochs
    warmup = max(1, steps // 10)  # as train.fit builds it
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - warmup, warmup_target=recipe.learning_rate,
        warmup_steps=warmup)
    expected = np.array([float(keras_schedule(step)) for step in range(steps)])
    np.testing.assert_allclose(rates, expected, rtol=1e-5, atol=1e-9)


def test_constant_and_per_epoch():
    recipe = recipes.recipe("dense", "quick")
    rates = schedules.learning_rates(recipe, 1000)
    assert rates.shape == (8 * recipe.epochs,) and np.all(rates == recipe.learning_rate)
    assert schedules.per_epoch(recipe, 1000) == [recipe.learning_rate] * recipe.epochs


def test_cosine_warms_up_then_decays_to_zero():
    recipe = recipes.recipe("batchnorm", "full", 10)
    per_epoch = schedules.per_epoch(recipe, 37800)
    assert len(per_epoch) == recipe.epochs
    assert per_epoch[1] == max(per_epoch) and per_epoch[-1] < per_epoch[1] / 10
    assert all(a > b for a, b in zip(per_epoch[1:], per_epoch[2:], strict=False))
