"""The figures: what they plot, and what they rank."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digit_recognizer.learning import (
    recipes,
    schedules,  # noqa: E402
)
from digit_recognizer.presentation import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


HISTORY = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.5],
           "accuracy": [0.7, 0.9, 0.95], "val_accuracy": [0.7, 0.88, 0.93]}


def test_training_curves_have_labelled_axes_whole_epochs_and_the_learning_rate():
    recipe = recipes.recipe("batchnorm", "quick", 3)
    rates = schedules.learning_rates(recipe, 1000)
    fig = plots.training_curves(HISTORY, "bn", rates, schedules.steps_per_epoch(recipe, 1000))
    loss, accuracy, rate = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    x, y = rate.lines[0].get_data()
    assert x[0] == 0 and x[-1] == 3 and max(y) == pytest.approx(recipe.learning_rate)
    assert len(plots.training_curves(HISTORY, "plain").axes) == 2
    assert not any("constant" in t.get_text() for t in rate.texts)  # a cosine schedule


def test_a_constant_learning_rate_says_so():
    recipe = recipes.recipe("dense", "quick", 3)
    rates = schedules.learning_rates(recipe, 1000)
    rate = plots.training_curves(HISTORY, "dense", rates, schedules.steps_per_epoch(
        recipe, 1000)).axes[2]
    assert [t.get_text() for t in rate.texts] == [f"constant {recipe.learning_rate:g}"]


def test_most_confused_pairs_and_a_matrix_of_mistakes_only():
    y_true = np.array([4, 4, 4, 9, 7, 1, 1])
    y_pred = np.array([9, 9, 4, 4, 1, 1, 1])
    pairs = plots.most_confused(y_true, y_pred)
    assert pairs.values.tolist() == [[4, 9, 2], [7, 1, 1], [9, 4, 1]]
    fig = plots.confusion_matrix(y_true, y_pred, "m")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts) == ["1", "1", "2"]  # the correct diagonal and empty cells masked
    bars = fig.axes[1]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["4 read as 9"]  # repeated only
    assert "2 pairs confused once each" in bars.get_title()
    assert "(4 of 7" in fig.axes[0].get_title()


def test_no_chart_of_equal_bars_when_no_pair_repeats():
    y_true, y_pred = np.array([4, 9, 7, 1]), np.array([9, 4, 1, 1])
    bars = plots.confusion_matrix(y_true, y_pred, "m").axes[1]
    assert not bars.patches
    [note] = [t.get_text() for t in bars.texts]
    assert "no pair is confused more than once" in note and "each of the 3 mistakes" in note
    perfect = plots.confusion_matrix(y_true, y_true, "m").axes[1]
    assert [t.get_text() for t in perfect.texts] == ["no mistakes"]


def test_worst_mistakes_ranked_by_the_gap_and_show_both_probabilities():
    probs = np.full((4, 10), 0.01)
    probs[0, [3, 5]] = [0.50, 0.40]  # true 5, read 3: gap 0.10
    probs[1, [2, 7]] = [0.60, 0.01]  # true 7, read 2: gap 0.59
    probs[2, 1] = 0.9  # true 1, right
    probs[3, [8, 0]] = [0.70, 0.20]  # true 0, read 8: gap 0.50
    fig = plots.worst_mistakes(np.zeros((4, 28, 28, 1)), np.array([5, 7, 1, 0]), probs, "m")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["true 7: p=0.01\nread 2: p=0.60", "true 0: p=0.20\nread 8: p=0.70",
                      "true 5: p=0.40\nread 3: p=0.50"]


def test_model_comparison_bars_start_at_zero_and_no_time_for_an_average():
    import pandas as pd

    table = pd.DataFrame({"model": ["dense", "ensemble"], "val_accuracy": [0.976, 0.9955],
                          "val_errors": [19, 4], "train_seconds": [17.0, None]})
    errors, seconds = plots.model_comparison(table).axes
    assert errors.get_ylabel() == "validation digits read wrong" and errors.get_ylim()[0] == 0
    assert [bar.get_height() for bar in errors.patches] == [19, 4]
    assert [t.get_text() for t in errors.texts] == ["19\n(97.60%)", "4\n(99.55%)"]
    assert seconds.get_ylabel() == "training time (s)"
    assert [bar.get_height() for bar in seconds.patches] == [17.0]  # the average has none
    [note] = seconds.texts
    assert note.get_text() == "no training\nof its own" and note.get_position()[0] == 1


def test_experiment_plots_show_every_step_and_seed():
    rows = [{"step": "exp_plain", "accuracies": [0.98, 0.99], "std": 0.007},
            {"step": "ensemble", "accuracies": [0.995], "std": 0.0}]
    fig = plots.experiment_accuracies(rows, "28,000 hidden test rows")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["exp_plain", "ensemble"]
    assert ax.get_ylabel() == "accuracy (%)" and "28,000 hidden test rows" in ax.get_title()
    curves = plots.experiment_curves([("exp_plain", [[0.9, 0.95], [0.92, 0.97]])]).axes[0]
    assert list(curves.lines[0].get_ydata()) == pytest.approx([91.0, 96.0])
    assert [t for t in curves.get_xticks() if t == int(t)] == list(curves.get_xticks())


def test_pixel_histogram_shows_shares_on_labelled_axes():
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    every, ink = plots.pixel_histogram(train, test).axes
    assert every.get_ylabel() == "share of all pixels" and every.get_yscale() == "log"
    assert ink.get_ylabel() == "share of non-zero pixels"
    for ax in (every, ink):
        assert ax.get_xlabel() == "intensity"
        assert [p.get_label() for p in ax.patches] == ["train", "test"]
        assert all(sum(p.get_data().values) == pytest.approx(1) for p in ax.patches)


def test_pixel_stats_keep_counts_as_integers():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0, 0, :4] = 255
    table = plots.pixel_stats_table(images, images[:2])
    assert list(table.index) == ["train", "test"]
    assert table.loc["train", "images"] == 3 and table["images"].dtype.kind == "i"
    assert table["max"].dtype.kind in "iu" and table.loc["train", "max"] == 255
    assert table.loc["train", "empty pixels (%)"] == pytest.approx(99.8)
    assert table.loc["test", "ink pixels per image"] == 2.0
