"""Controlled experiments: one change per step, several seeds each, a verdict against noise."""

from __future__ import annotations

import functools
import json
from dataclasses import fields
from itertools import pairwise
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import experiments, intervals, members, recipes
from digit_recognizer.learning.experiments import StepScores
from digit_recognizer.learning.members import MemberResult

# Fields of a recipe that are the same change: the schedule brings its own peak rate.
ONE_CHANGE = {frozenset({"learning_rate", "schedule"})}


@pytest.mark.parametrize("profile", recipes.PROFILES)
def test_each_step_changes_one_thing_and_keeps_the_budget(profile):
    budget = recipes.EXPERIMENT_BUDGETS[profile]
    for before, after in pairwise(recipes.EXPERIMENTS):
        a, b = recipes.model(before), recipes.model(after)
        ra, rb = recipes.recipe(before, profile), recipes.recipe(after, profile)
        changed = {f.name for f in fields(ra) if getattr(ra, f.name) != getattr(rb, f.name)
                   and f.name != "jit_compile"} | ({"builder"} if a.builder != b.builder else set())
        assert len(changed) == 1 or frozenset(changed) in ONE_CHANGE, (after, changed)
        assert (rb.epochs, rb.batch_size) == (budget.epochs, budget.batch_size)
        assert a.precision == b.precision


def test_the_chain_ends_at_the_augmentation_recipe():
    """The last step trains as 06 does (bar the epochs and batch): the chain explains 06."""
    last = next(reversed(recipes.EXPERIMENTS))
    changes = recipes.changes("augmentation", last, "full")
    assert all(c.startswith(("epochs", "batch size")) for c in changes), changes


def test_an_experiment_model_is_found_and_an_unknown_one_named():
    assert recipes.model("exp_plain").builder == "compact_cnn"
    with pytest.raises(Exception, match="unknown model 'nope'.*exp_plain"):
        recipes.model("nope")


@functools.cache
def network() -> str:
    """05's network as its saved model gives it."""
    from digit_recognizer.learning import models

    return models.batchnorm_cnn().to_json()


def plan(profile: str, seed: int, epochs: int | None = None):
    b = recipes.EXPERIMENT_BUDGETS[profile]
    return experiments.plan(network(), seed, experiments.budget(
        epochs or b.epochs, b.seeds, b.train_rows or 0, b.batch_size))


def test_plan_every_step_every_seed_and_tta_only_for_the_last():
    team = plan("quick", seed=7)
    budget = recipes.EXPERIMENT_BUDGETS["quick"]
    assert len(team) == len(recipes.EXPERIMENTS) * budget.seeds
    assert {m.seed for m in team} == set(range(7, 7 + budget.seeds))
    last = next(reversed(recipes.EXPERIMENTS))
    assert all(m.tta == (m.model == last) for m in team)
    assert all(m.train_rows == budget.train_rows for m in team)
    assert plan("full", 0, epochs=2)[0].recipe.epochs == 2
    with pytest.raises(DigitRecognizerError, match="at least 1"):
        experiments.budget(0, 1, 0, 64)


def test_the_first_step_is_05s_network_without_batch_norm():
    """The chain's start is derived from the network 05 saved: the same layers, each
    convolution with its bias and ReLU back instead of batch normalisation."""
    from digit_recognizer.learning import models

    team = plan("full", 0)
    plain = experiments.network_of(team[0])
    reference = models.compact_cnn()
    assert [type(x).__name__ for x in plain.layers] == \
        [type(x).__name__ for x in reference.layers]
    assert plain.count_params() == reference.count_params()
    assert experiments.network_of(team[-1]).count_params() == models.batchnorm_cnn().count_params()


def _result(stage: str, seed: int, val: np.ndarray, test: np.ndarray,
            tta: np.ndarray | None = None) -> MemberResult:
    [member] = members.of_models(stage, [seed], "quick", tta=tta is not None)
    metrics = {"train_seconds": 1.0, "history": {"val_accuracy": [0.5, 0.6]}}
    return MemberResult(member, val, test, metrics, b"", "here", tta, tta)


def _probs(labels: np.ndarray, wrong: int) -> np.ndarray:
    """One-hot probabilities that get the first `wrong` labels wrong."""
    predicted = labels.copy()
    predicted[:wrong] = (predicted[:wrong] + 1) % 10
    return np.eye(10)[predicted]


def test_score_measures_every_step_on_the_answer_key_then_tta_and_the_ensemble():
    key = np.arange(100) % 10
    split = SimpleNamespace(answer_key=key, val_labels=key[:10], x_val=np.zeros((10, 1)))
    rows = experiments.measured_on(split)
    assert rows.use_test and "100 hidden test rows" in rows.what
    last = next(reversed(recipes.EXPERIMENTS))
    results = [_result(stage, seed, _probs(key[:10], 0), _probs(key, 10 + seed))
               for stage in list(recipes.EXPERIMENTS)[:-1] for seed in (0, 1)]
    # The ensemble of these two is right wherever either member is: their errors differ.
    results += [_result(last, seed, _probs(key[:10], 0), _probs(key, 4), _probs(key, 2 + seed))
                for seed in (0, 1)]
    steps = experiments.score(results, rows)
    assert [s.name for s in steps] == [*recipes.EXPERIMENTS, "tta", "ensemble"]
    assert steps[0].accuracies == [0.9, 0.89]
    # Per row, the share of seeds that read it right: both miss rows 0-9, one misses row 10.
    assert steps[0].correct.tolist() == [0.0] * 10 + [0.5] + [1.0] * 89
    assert steps[-2].accuracies == [0.98, 0.97]
    assert steps[-1].accuracies == [0.98]  # ties go to the lower class: the right one here
    assert steps[0].val_curves == [[0.5, 0.6], [0.5, 0.6]]


def test_without_an_answer_key_the_validation_rows_are_used():
    split = SimpleNamespace(answer_key=None, val_labels=np.arange(10), x_val=np.zeros((10, 1)))
    rows = experiments.measured_on(split)
    assert not rows.use_test and rows.what == "10 validation rows"


def _right(n: int, wrong: range | list[int]) -> np.ndarray:
    right = np.ones(n, dtype=bool)
    right[list(wrong)] = False
    return right


def _step(name: str, *accuracies: float, n: int = 10_000, runs: list | None = None
          ) -> StepScores:
    """A step whose seed i reads the first `accuracies[i] * n` rows right (so the steps' right
    rows nest), or reads right the rows given per seed in `runs`."""
    runs = runs or [np.arange(n) < round(a * n) for a in accuracies]
    return StepScores(name, f"change {name}", [float(r.mean()) for r in runs],
                      list(range(len(runs))), correct=np.mean(runs, axis=0))


@pytest.mark.parametrize(("before", "after", "n_rows", "verdict"), [
    ((0.950, 0.951, 0.949), (0.990, 0.991, 0.989), 10_000, "helps"),
    ((0.990, 0.991, 0.989), (0.950, 0.951, 0.949), 10_000, "hurts"),
    # Beyond the rows' noise, not beyond the seeds' spread.
    ((0.950, 0.990, 0.930), (0.970, 0.960, 0.980), 100_000, "not settled"),
    ((0.95, 0.95, 0.95), (0.95, 0.95, 0.95), 1_000, "not settled"),
])
def test_a_change_counts_only_beyond_both_kinds_of_noise(before, after, n_rows, verdict):
    found = experiments.compare(_step("b", *after, n=n_rows), _step("a", *before, n=n_rows))
    assert found.verdict == verdict
    assert found.difference == pytest.approx(np.mean(after) - np.mean(before), abs=1e-9)


def test_the_rows_count_paired_only_where_the_two_steps_differ():
    """The same +0.15 points on the same 10,000 rows, from steps whose seeds agree: settled when
    the change reads 15 rows right and breaks none, not when it mends 60 and breaks 45."""
    n = 10_000
    before = _step("a", runs=[_right(n, range(100))] * 3)  # 99.00%
    mends_only = _step("b", runs=[_right(n, range(85))] * 3)
    mends_and_breaks = _step("b", runs=[_right(n, range(60, 145))] * 3)
    assert mends_only.mean == mends_and_breaks.mean == pytest.approx(0.9915)
    assert experiments.compare(mends_only, before).verdict == "helps"
    assert experiments.compare(mends_and_breaks, before).verdict == "not settled"
    # Treated as independent samples (Newcombe), the first could not be told from noise either.
    low, high = intervals.difference_interval(0.9915, 0.99, n)
    assert low < 0 < high


def test_the_paired_interval_is_the_mean_row_difference_and_its_standard_error():
    after, before = np.array([1, 1, 0, 1.0]), np.array([1, 0, 0, 0.5])
    low, high = intervals.paired_interval(after, before)
    differences = after - before
    half = intervals.Z95 * differences.std(ddof=1) / 2
    assert (low, high) == pytest.approx((differences.mean() - half, differences.mean() + half))
    with pytest.raises(ValueError, match="same two or more rows"):
        intervals.paired_interval(after, before[:3])


def test_a_single_value_has_no_seed_interval_and_is_judged_on_the_rows():
    found = experiments.compare(_step("ensemble", 0.995, n=28_000),
                                _step("tta", 0.990, 0.991, 0.989, n=28_000))
    assert found.seed_interval is None and found.verdict == "helps"


def test_summary_names_every_verdict_and_the_budget():
    steps = [_step("exp_plain", 0.95, 0.951, 0.949), _step("exp_batch_norm", 0.99, 0.991, 0.989),
             _step("exp_schedule", 0.99, 0.991, 0.989)]
    found = experiments.verdicts(steps)
    rows = experiments.Rows(np.zeros(10_000), "10,000 validation rows", False)
    team = plan("full", 42)
    text = experiments.summary_text(steps, found, rows, team, 37_800)
    assert "`exp_batch_norm` (change exp_batch_norm): **helps**: +4.00 points" in text
    assert "`exp_schedule` (change exp_schedule): **not settled**: +0.00 points" in text
    assert "these help: exp_batch_norm" in text
    assert "Not settled at this budget: exp_schedule" in text
    assert "each 4 epochs over 37,800 training rows in batches of 128" in text
    assert "gains 4.00 points in all" in text


def test_the_results_page_quotes_every_committed_experiments_result():
    readme = (ROOT / "docs" / "results.md").read_text()
    results = sorted((ROOT / "bench" / "results").glob("experiments-*.json"))
    assert results, "the full run's experiments are committed under bench/results/"
    for path in results:
        assert experiments.markdown_table(json.loads(path.read_text())) in readme, path.name


def test_markdown_table_rows_follow_the_summary():
    steps = [_step("exp_plain", 0.95, 0.951, 0.949), _step("exp_batch_norm", 0.99, 0.991, 0.989),
             _step("ensemble", 0.992)]
    summary = {"steps": [s.row() for s in steps], "rows_interval": "paired",
               "verdicts": [v.row() for v in experiments.verdicts(steps)]}
    lines = experiments.markdown_table(summary).splitlines()
    assert "| paired rows' 95% interval |" in lines[0]
    assert lines[2] == "| `exp_plain` | change exp_plain | 95.00% | 94.90–95.10% |  |  |  |  |"
    assert lines[3] == ("| `exp_batch_norm` | change exp_batch_norm | 99.00% | 98.90–99.10% | "
                        "+4.00 points | +3.77 to +4.23 | +3.62 to +4.38 | helps |")
    # The ensemble's 20 rows more, read right where its seeds were already right: paired, that
    # is beyond the rows' noise (unpaired it was not: -0.06 to +0.47).
    assert lines[4].endswith("| 99.20% |  | +0.20 points |  | +0.12 to +0.28 | helps |")


def test_a_bound_that_rounds_to_zero_keeps_its_sign_and_size():
    v = experiments.Verdict("ensemble", "average", 0.0004, None, (0.00004, 0.0007), "helps")
    assert experiments.verdict_line(v) == (
        "**helps**: +0.04 points (paired rows' 95% interval +0.004 to +0.07)")
    assert experiments._points(0.0) == "+0.00" and experiments._points(-0.00001) == "-0.001"


def test_a_summary_from_before_paired_rows_says_its_interval_was_unpaired():
    summary = {"steps": [], "verdicts": []}
    assert "| rows' 95% interval (unpaired, Newcombe's) |" in experiments.markdown_table(summary)


def test_the_steps_table_lists_what_each_step_trained_differently():
    rows = experiments.steps_table(plan("full", 42))
    assert [r["step"] for r in rows] == list(recipes.EXPERIMENTS)
    assert rows[0]["recipe differences"] == ""
    assert rows[1]["recipe differences"] == "architecture: `compact_cnn` → `batchnorm_cnn`"
    assert rows[4]["recipe differences"] == "augment: False → True"


def test_a_smoke_budget_gives_no_verdict_even_when_its_numbers_differ_widely():
    """One epoch of a few thousand rows once printed "helps: +18 points" for augmentation,
    where the full run measures -0.12: a smoke budget says so, and gives no verdict."""
    team = plan("quick", 42)
    reason = experiments.smoke_reason(recipes.EXPERIMENT_BUDGETS["quick"])
    assert "1 epoch where the full run trains 4" in reason and "one seed" in reason
    steps = [_step("exp_plain", 0.70), _step("exp_augmentation", 0.88)]
    rows = experiments.Rows(np.zeros(800), "800 validation rows", False)
    text = experiments.summary_text(steps, [], rows, team, 7_200, smoke=reason)
    assert "no verdicts" in text and "between 70.00% and 88.00%" in text
    assert not {"helps", "hurts", "not settled"} & set(text.replace("*", " ").split())


@pytest.mark.parametrize(("profile", "epochs", "smoke"), [
    ("full", None, False), ("gpu", None, False), ("full", 1, True), ("quick", None, True)])
def test_a_budget_cut_below_the_profiles_is_a_smoke_run(profile, epochs, smoke):
    b = recipes.EXPERIMENT_BUDGETS[profile]
    budget = experiments.budget(epochs or b.epochs, b.seeds, b.train_rows or 0, b.batch_size)
    assert bool(experiments.smoke_reason(budget)) == smoke


def test_the_committed_full_run_is_shown_with_its_date_command_and_verdicts():
    [path] = (ROOT / "bench" / "results").glob("experiments-full-*.json")
    summary = json.loads(path.read_text())
    text = experiments.full_run_text(summary)
    assert summary["date"] in text and summary["command"] in text
    assert experiments.markdown_table(summary) in text and "| helps |" in text
