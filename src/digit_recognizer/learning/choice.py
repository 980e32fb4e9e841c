"""Choose the submitted predictor, paired on the same validation rows.

With a few thousand validation digits, the better models differ by a handful of rows, and the
highest accuracy is often a coin flip. So the choice starts from the candidate that should
generalise best, the one that averages the most networks over the most labelled rows, and
leaves it only for a candidate that reads more rows right beyond the noise: McNemar's exact
test on the rows where exactly one of the two is right, at `ALPHA` shared among the challengers
(Bonferroni). Every comparison is kept, with its reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digit_recognizer.errors import DigitRecognizerError

ALPHA = 0.05


@dataclass(frozen=True)
class Candidate:
    name: str
    correct: np.ndarray  # per validation row: whether it read the digit right
    networks: int = 1  # how many networks it averages
    train_rows: int = 0  # how many labelled rows its networks learned from, together

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))


@dataclass(frozen=True)
class Comparison:
    """A challenger against the default on the same rows."""

    challenger: str
    wins: int  # rows only the challenger reads right
    losses: int  # rows only the default reads right
    p_value: float  # McNemar's exact test, two-sided
    beyond_noise: bool


@dataclass(frozen=True)
class Choice:
    chosen: str
    default: str
    comparisons: tuple[Comparison, ...]
    level: float  # the p-value a challenger must beat
    reasons: tuple[str, ...]


def mcnemar(wins: int, losses: int) -> float:
    """Two-sided exact p-value that rows won and lost are equally likely (McNemar's test)."""
    if wins + losses == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(wins, wins + losses, 0.5).pvalue)


def compare(default: Candidate, challenger: Candidate, level: float) -> Comparison:
    if default.correct.shape != challenger.correct.shape:
        raise DigitRecognizerError(f"{challenger.name} and {default.name} were not scored on "
                                   "the same validation rows")
    wins = int(np.sum(challenger.correct & ~default.correct))
    losses = int(np.sum(default.correct & ~challenger.correct))
    p = mcnemar(wins, losses)
    return Comparison(challenger.name, wins, losses, p, wins > losses and p < level)


def choose(candidates: list[Candidate], alpha: float = ALPHA) -> Choice:
    """The candidate averaging the most networks over the most rows, unless another reads more
    validation rows right beyond the noise; among several such, the most accurate."""
    if not candidates:
        raise DigitRecognizerError("nothing to choose from: no candidate")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise DigitRecognizerError(f"candidate names must be unique: {names}")
    default = max(candidates, key=lambda c: (c.networks, c.train_rows, c.accuracy))
    challengers = [c for c in candidates if c is not default]
    level = alpha / max(len(challengers), 1)
    comparisons = tuple(compare(default, c, level) for c in challengers)
    winners = [c for c, result in zip(challengers, comparisons, strict=True)
               if result.beyond_noise]
    chosen = max(winners, key=lambda c: c.accuracy) if winners else default
    return Choice(chosen.name, default.name, comparisons, level,
                  tuple(reasons(default, chosen, comparisons, alpha, len(default.correct))))


def reasons(default: Candidate, chosen: Candidate, comparisons: tuple[Comparison, ...],
            alpha: float, rows: int) -> list[str]:
    """The choice in sentences (Markdown): the default and why, each challenger, the verdict."""
    level = alpha / max(len(comparisons), 1)
    what = (f"averages {default.networks} networks" if default.networks > 1
            else "is a single network")
    lines = [f"The default is `{default.name}`: it {what} that together learned from "
             f"{default.train_rows:,} labelled rows, the most of any candidate, and reads "
             f"{default.accuracy:.2%} of the {rows:,} validation rows right."]
    for c in comparisons:
        if c.wins + c.losses == 0:
            detail = "reads exactly the same rows right"
        else:
            detail = (f"reads {c.wins} rows right that `{default.name}` misses and misses "
                      f"{c.losses} that it reads right (McNemar p = {c.p_value:.3g})")
        lines.append(f"`{c.challenger}` {detail}: {_verdict(c, level)}.")
    if chosen is default:
        lines.append(f"No candidate beats `{default.name}` beyond the noise (p < {level:.3g}, "
                     f"{alpha:g} shared among {len(comparisons)} comparisons), so it is chosen.")
    else:
        lines.append(f"`{chosen.name}` is chosen: it reads more rows right than "
                     f"`{default.name}` beyond the noise (p < {level:.3g}).")
    return lines


def _verdict(c: Comparison, level: float) -> str:
    if c.wins == c.losses:
        return "level with it"
    ahead = c.wins > c.losses
    if c.p_value < level:
        return "better beyond the noise" if ahead else "worse beyond the noise"
    return "ahead, but within the noise" if ahead else "behind, within the noise"


def candidates(outputs, models: list[str], split) -> list[Candidate]:
    """The models as candidates: which validation rows each reads right, how many networks it
    averages, and how many labelled rows they learned from."""
    from digit_recognizer.learning.evaluate import model_metrics

    found = []
    for name in models:
        metrics = model_metrics(outputs, name, split)
        probs = np.load(outputs.probabilities(name))["val"]
        found.append(Candidate(name, probs.argmax(axis=1) == split.val_labels,
                               len(metrics.get("members") or [None]),
                               metrics.get("train_rows") or len(split.x_train)))
    return found
