"""Controlled experiments: what each change of the recipe is worth, one change at a time.

The chain of `recipes.EXPERIMENTS` starts from the compact CNN without batch norm and adds one
change per step (batch norm, the schedule, label smoothing, augmentation); every step trains
from several seeds with the same budget (`recipes.EXPERIMENT_BUDGETS`). Test-time augmentation
and the average of the last step's seeds follow as two more steps that need no training. Each
step is compared with the one before on the mean over seeds, against two sources of noise: the
spread between seeds and the sampling noise of the rows it is measured on, paired row by row
(both steps read the same rows). This module imports nothing heavy.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise

import numpy as np

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import intervals, recipes
from digit_recognizer.learning.members import Member, MemberResult
from digit_recognizer.learning.recipe import differences

TTA = "tta"
ENSEMBLE = "ensemble"
EXTRA_CHANGES = {
    TTA: "test-time augmentation: each image averaged with its four one-pixel shifts",
    ENSEMBLE: "the average of the last step's seeds, each with test-time augmentation",
}


def budget(epochs: int, seeds: int, train_rows: int, batch_size: int) -> recipes.Budget:
    """What every run gets (`train_rows` 0: the whole training split), checked."""
    if epochs < 1 or seeds < 1 or batch_size < 1 or train_rows < 0:
        raise DigitRecognizerError(
            f"epochs {epochs}, seeds {seeds}, batch_size {batch_size}: each must be at least 1, "
            f"and train_rows {train_rows} at least 0 (0: every training row)")
    return recipes.Budget(epochs, seeds, train_rows or None, batch_size)


def without_batch_norm(network: str) -> str:
    """A saved Sequential network's architecture (`to_json()`) without batch normalisation:
    each BatchNormalization layer dropped, and the ReLU layer after it folded into the
    convolution before it, which gets its bias back."""
    config = json.loads(network)
    if config.get("class_name") != "Sequential":
        raise DigitRecognizerError("the experiments need a Sequential network (05's)")
    kept, after_norm = [], False
    for layer in config["config"]["layers"]:
        kind = layer["class_name"]
        if kind == "BatchNormalization":
            after_norm = True
            continue
        if kind == "ReLU" and after_norm and kept and kept[-1]["class_name"] == "Conv2D":
            kept[-1]["config"].update(activation="relu", use_bias=True)
        else:
            kept.append(layer)
        after_norm = False
    config["config"]["layers"] = kept
    return json.dumps(config)


def network_of(member: Member):
    """A member's network, built (without training) to be looked at."""
    from digit_recognizer.learning import train

    return train.from_json(member.network, member.seed, member.model)


def plan(network: str, seed: int, budget: recipes.Budget) -> list[Member]:
    """Every step with every seed (`seed`, `seed + 1`, ...) under `budget`. The steps train the
    network of 05 (`network`, its saved architecture), the first without batch normalisation;
    only the last step also predicts with TTA, which the two steps after it use."""
    variants = {"compact_cnn": without_batch_norm(network), "batchnorm_cnn": network}
    *_, last = recipes.EXPERIMENTS
    return [Member(f"{name}_seed{s}", name, s,
                   replace(step.model.recipes["full"], epochs=budget.epochs,
                           batch_size=budget.batch_size),
                   step.model.builder, step.model.precision, train_rows=budget.train_rows,
                   tta=name == last, network=variants[step.model.builder])
            for name, step in recipes.EXPERIMENTS.items()
            for s in range(seed, seed + budget.seeds)]


def steps_table(team: list[Member]) -> list[dict]:
    """Each trained step, the one thing it changes, and every difference of its training from
    the step before, computed from what was trained (so that no step claims one change where
    there are two)."""
    first = {}
    for m in team:
        first.setdefault(m.model, {"model": m.model, "builder": m.builder,
                                   "precision": m.precision, "recipe": asdict(m.recipe)})
    specs = list(first.values())
    rows = [{"step": specs[0]["model"], "change": recipes.EXPERIMENTS[specs[0]["model"]].change,
             "recipe differences": ""}]
    for before, after in pairwise(specs):
        rows.append({"step": after["model"], "change": recipes.EXPERIMENTS[after["model"]].change,
                     "recipe differences": "; ".join(differences(before, after))})
    return rows


@dataclass(frozen=True)
class Rows:
    """The labelled rows a step is measured on, and what they are."""

    labels: np.ndarray
    what: str
    use_test: bool  # the hidden test rows (answer key), else the validation rows


def measured_on(split) -> Rows:
    """The hidden test rows when the run has their answer key (more rows, so less noise, and
    used for no choice here), else the validation rows."""
    if split.answer_key is not None:
        return Rows(np.asarray(split.answer_key), f"{len(split.answer_key):,} hidden test rows "
                    "(answer key)", True)
    return Rows(split.val_labels, f"{len(split.x_val):,} validation rows", False)


@dataclass
class StepScores:
    name: str
    change: str
    accuracies: list[float]  # one per seed (one for the ensemble)
    seeds: list[int]
    train_seconds: list[float] = field(default_factory=list)
    val_curves: list[list[float]] = field(default_factory=list)  # per seed, per epoch
    # Per row measured on: the share of the seeds that read it right (the rows' pairing).
    correct: np.ndarray | None = field(default=None, repr=False)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def std(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    def row(self) -> dict:
        return {"step": self.name, "change": self.change, "seeds": self.seeds,
                "accuracies": self.accuracies, "mean": self.mean, "std": self.std,
                "min": min(self.accuracies), "max": max(self.accuracies),
                "train_seconds": (statistics.fmean(self.train_seconds)
                                  if self.train_seconds else None)}


def _probabilities(result: MemberResult, rows: Rows, tta: bool = False) -> np.ndarray:
    val, test = result.probabilities(tta)
    return test if rows.use_test else val


def _step_scores(name: str, change: str, probabilities: list[np.ndarray], rows: Rows,
                 seeds: list[int], **more) -> StepScores:
    right = np.array([p.argmax(axis=1) == rows.labels for p in probabilities])
    return StepScores(name, change, [float(r.mean()) for r in right], seeds,
                      correct=right.mean(axis=0), **more)


def score(results: list[MemberResult], rows: Rows) -> list[StepScores]:
    """Each step's accuracy per seed on `rows`, in the chain's order, then TTA and the
    ensemble of the last step's seeds."""
    by_step: dict[str, list[MemberResult]] = {}
    for result in results:
        by_step.setdefault(result.member.model, []).append(result)
    steps = []
    for name, step in recipes.EXPERIMENTS.items():
        done = by_step.get(name, [])
        if not done:
            continue
        steps.append(_step_scores(
            name, step.change, [_probabilities(r, rows) for r in done], rows,
            [r.member.seed for r in done],
            train_seconds=[r.metrics["train_seconds"] for r in done],
            val_curves=[r.metrics["history"].get("val_accuracy", []) for r in done]))
    last = by_step.get(next(reversed(recipes.EXPERIMENTS)), [])
    if last and last[0].val_tta is not None:
        seeds = [r.member.seed for r in last]
        with_tta = [_probabilities(r, rows, tta=True) for r in last]
        steps.append(_step_scores(TTA, EXTRA_CHANGES[TTA], with_tta, rows, seeds))
        steps.append(_step_scores(ENSEMBLE, EXTRA_CHANGES[ENSEMBLE],
                                  [np.mean(with_tta, axis=0)], rows, seeds))
    return steps


# ------------------------------------------------------------------ is a difference real?


def seed_interval(after: StepScores, before: StepScores) -> tuple[float, float] | None:
    """95% Welch interval of the difference of the two means from the seeds' spread; None
    when a side has a single value (the ensemble), where the seeds say nothing."""
    from scipy import stats

    a, b = after.accuracies, before.accuracies
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = after.std ** 2 / len(a), before.std ** 2 / len(b)
    d = after.mean - before.mean
    if va + vb == 0:
        return d, d
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, df)) * math.sqrt(va + vb)
    return d - half, d + half


@dataclass(frozen=True)
class Verdict:
    step: str
    change: str
    difference: float  # mean after - mean before, in accuracy
    seed_interval: tuple[float, float] | None
    rows_interval: tuple[float, float]
    verdict: str  # "helps", "hurts" or "not settled"

    def row(self) -> dict:
        return {"step": self.step, "change": self.change, "difference": self.difference,
                "seed_interval": self.seed_interval, "rows_interval": self.rows_interval,
                "verdict": self.verdict}


def _excludes_zero(interval: tuple[float, float] | None, sign: int) -> bool:
    return interval is None or (interval[0] > 0 if sign > 0 else interval[1] < 0)


def compare(after: StepScores, before: StepScores) -> Verdict:
    """A change helps (or hurts) when the difference of the means is beyond both the seeds'
    spread (Welch) and the noise of the rows measured on, paired row by row; else it is not
    settled."""
    d = after.mean - before.mean
    seeds = seed_interval(after, before)
    rows = intervals.paired_interval(after.correct, before.correct)
    sign = 1 if d > 0 else -1
    beyond = d != 0 and _excludes_zero(seeds, sign) and _excludes_zero(rows, sign)
    verdict = ("helps" if sign > 0 else "hurts") if beyond else "not settled"
    return Verdict(after.name, after.change, d, seeds, rows, verdict)


def verdicts(steps: list[StepScores]) -> list[Verdict]:
    """Each step against the one before it."""
    return [compare(after, before) for before, after in pairwise(steps)]


# ------------------------------------------------------------------ in words


def _points(value: float) -> str:
    """Percentage points to 2 decimals, or 3 where 2 would show a non-zero bound as 0.00 (an
    interval that excludes zero must not read "+0.00 to +0.07")."""
    points = 100 * value
    decimals = 2 if points == 0 or abs(points) >= 0.005 else 3
    return f"{points:+.{decimals}f}"


def verdict_line(v: Verdict) -> str:
    seeds = ("" if v.seed_interval is None else
             f"seeds' 95% interval {_points(v.seed_interval[0])} to "
             f"{_points(v.seed_interval[1])}; ")
    rows = (f"paired rows' 95% interval {_points(v.rows_interval[0])} to "
            f"{_points(v.rows_interval[1])}")
    return f"**{v.verdict}**: {_points(v.difference)} points ({seeds}{rows})"


def budget_text(team: list[Member], n_train: int) -> str:
    """How many runs, and what each gets: epochs, rows, batch."""
    first = team[0]
    r = first.recipe
    n_steps = len({m.model for m in team})
    seeds = len(team) // n_steps
    return (f"{len(team)} runs ({n_steps} steps x {seeds} seed{'s' * (seeds != 1)}), each "
            f"{r.epochs} epoch{'s' * (r.epochs != 1)} over {first.train_rows or n_train:,} "
            f"training rows in batches of {r.batch_size}")


def smoke_reason(budget: recipes.Budget) -> str:
    """Why a budget can settle no question ("" when it can): fewer epochs than the full run's,
    a single seed (no spread to measure), or a cut of the training rows."""
    full = recipes.EXPERIMENT_BUDGETS["full"]
    short = []
    if budget.epochs < full.epochs:
        short.append(f"{budget.epochs} epoch{'s' * (budget.epochs != 1)} where the full run "
                     f"trains {full.epochs}")
    if budget.seeds < 2:
        short.append("one seed, so no spread between seeds to measure")
    if budget.train_rows:
        short.append(f"only {budget.train_rows:,} training rows")
    return "this run's budget has " + "; ".join(short) if short else ""


def _smoke_text(steps: list[StepScores], rows: Rows, team: list[Member], n_train: int,
                reason: str) -> str:
    low, high = min(s.mean for s in steps), max(s.mean for s in steps)
    return (f"**A smoke run: no verdicts.** {reason[0].upper() + reason[1:]}: "
            f"{budget_text(team, n_train)}, far from the budget at which a change's worth "
            f"shows. The {len(steps)} steps above scored between {100 * low:.2f}% and "
            f"{100 * high:.2f}% on the {rows.what}: that shows the chain runs, and nothing "
            "about which change is worth what. For that, read the committed full run below.")


def summary_text(steps: list[StepScores], found: list[Verdict], rows: Rows,
                 team: list[Member], n_train: int, smoke: str = "") -> str:
    """What the experiments show, computed from their numbers (Markdown); under a smoke
    budget (`smoke`: why, from `smoke_reason`) that they show nothing yet."""
    if smoke:
        return _smoke_text(steps, rows, team, n_train, smoke)
    text = (f"**What this shows.** The start and {len(steps) - 1} changes, each measured on the "
            f"{rows.what} as the mean of its seeds; {budget_text(team, n_train)}. Each step "
            "against the one before:\n")
    for v in found:
        text += f"\n- `{v.step}` ({v.change}): {verdict_line(v)}"
    helps = [v.step for v in found if v.verdict == "helps"]
    hurts = [v.step for v in found if v.verdict == "hurts"]
    unsettled = [v.step for v in found if v.verdict == "not settled"]
    text += "\n\n" + (f"Beyond both kinds of noise, these help: {', '.join(helps)}. "
                      if helps else "No change helps beyond both kinds of noise here. ")
    if hurts:
        text += f"These hurt: {', '.join(hurts)}. "
    if unsettled:
        text += (f"Not settled at this budget: {', '.join(unsettled)}; more seeds, more rows or "
                 "more epochs would be needed to tell.")
    best = max(steps, key=lambda s: s.mean)
    text += (f"\n\nFrom `{steps[0].name}` ({100 * steps[0].mean:.2f}%) to `{best.name}` "
             f"({100 * best.mean:.2f}%), the chain gains {100 * (best.mean - steps[0].mean):.2f} "
             "points in all.")
    return text


def _interval(interval) -> str:
    return "" if interval is None else f"{_points(interval[0])} to {_points(interval[1])}"


def full_run_text(summary: dict) -> str:
    """A committed full run of the experiments (`bench/results/experiments-*.json`): when, how,
    and its table with the verdicts (Markdown)."""
    return (f"**The committed full run** (`{summary['profile']}` profile, {summary['date']}; "
            f"{summary['data']}; {summary['budget']}; measured on {summary['measured_on']}):\n\n"
            f"```bash\n{summary['command']}\n```\n\n{markdown_table(summary)}")


# How a summary's rows' interval was computed: runs before 2026-11-30 wrote no `rows_interval`,
# and compared the two means as independent samples (Newcombe's interval).
ROWS_INTERVALS = {"paired": "paired rows' 95% interval",
                  None: "rows' 95% interval (unpaired, Newcombe's)"}


def markdown_table(summary: dict) -> str:
    """The README's table of a run's experiments (`summary.json` of 10_experiments)."""
    verdicts = {v["step"]: v for v in summary["verdicts"]}
    rows = ROWS_INTERVALS[summary.get("rows_interval")]
    lines = ["| step | what it changes | mean | min–max | vs the step before | seeds' 95% "
             f"interval | {rows} | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for step in summary["steps"]:
        v = verdicts.get(step["step"], {})
        spread = ("" if len(step["accuracies"]) < 2 else
                  f"{100 * step['min']:.2f}–{100 * step['max']:.2f}%")
        difference = f"{_points(v['difference'])} points" if v else ""
        lines.append(f"| `{step['step']}` | {step['change']} | {100 * step['mean']:.2f}% | "
                     f"{spread} | {difference} | {_interval(v.get('seed_interval'))} | "
                     f"{_interval(v.get('rows_interval'))} | {v.get('verdict', '')} |")
    return "\n".join(lines)
