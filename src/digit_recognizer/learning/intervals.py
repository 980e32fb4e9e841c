"""How far an accuracy measured on a finite set of rows can be trusted: Wilson's interval of a
proportion, Newcombe's interval of a difference, and the paired interval of a difference
measured on the same rows."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959964  # two-sided 95% normal quantile


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `correct / n` (95% by default)."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def interval(accuracy: float, n: int) -> tuple[float, float]:
    return wilson(round(accuracy * n), n)


def difference_interval(a: float, b: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's interval (from the two Wilson intervals) of the difference a - b between two
    accuracies, each measured on `n` validation rows. It treats them as independent samples;
    on the same rows the true interval is narrower, so this errs on the cautious side."""
    low_a, high_a = wilson(round(a * n), n, z)
    low_b, high_b = wilson(round(b * n), n, z)
    d = a - b
    return (d - math.sqrt((a - low_a) ** 2 + (high_b - b) ** 2),
            d + math.sqrt((high_a - a) ** 2 + (b - low_b) ** 2))


def paired_interval(after: np.ndarray, before: np.ndarray, z: float = Z95) -> tuple[float, float]:
    """The interval of the mean of the per-row differences `after - before`, both scored on the
    same rows (each row's share of runs that read it right): only the rows on which the two
    differ count, so it is narrower than Newcombe's whenever they agree on most rows."""
    after, before = np.asarray(after, dtype=np.float64), np.asarray(before, dtype=np.float64)
    if after.shape != before.shape or after.ndim != 1 or len(after) < 2:
        raise ValueError("a paired interval needs the same two or more rows on both sides, got "
                         f"{after.shape} and {before.shape}")
    differences = after - before
    d = float(differences.mean())
    half = z * float(differences.std(ddof=1)) / math.sqrt(len(differences))
    return d - half, d + half


def beyond_noise(a: float, b: float, n: int) -> bool:
    """Whether two validation accuracies on `n` rows differ by more than the set's noise: the
    95% interval of their difference excludes zero."""
    low, high = difference_interval(a, b, n)
    return low > 0 or high < 0


def noise_points(accuracy: float, n: int) -> float:
    """About how far apart (in points) two models near `accuracy` must be to differ beyond
    the noise of `n` validation rows."""
    low, high = difference_interval(accuracy, accuracy, n)
    return 100 * (high - low) / 2
