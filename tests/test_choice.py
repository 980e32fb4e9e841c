"""The choice of the submitted predictor: paired on the same rows, preferring the average."""

from __future__ import annotations

import numpy as np
import pytest

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import choice

ROWS = 4_200  # the validation rows of Kaggle's 42,000 with a 10% split


def _correct(wrong: list[int] | range) -> np.ndarray:
    correct = np.ones(ROWS, dtype=bool)
    correct[list(wrong)] = False
    return correct


def _average(wrong) -> choice.Candidate:
    return choice.Candidate("kfold_ensemble", _correct(wrong), networks=5, train_rows=42_000)


def _single(name: str, wrong) -> choice.Candidate:
    return choice.Candidate(name, _correct(wrong), networks=1, train_rows=37_800)


def test_mcnemar_is_the_exact_two_sided_binomial_test():
    assert choice.mcnemar(0, 0) == 1.0
    assert choice.mcnemar(10, 0) == pytest.approx(2 * 0.5 ** 10)
    assert choice.mcnemar(3, 3) == pytest.approx(1.0)


def test_a_tie_keeps_the_average_even_when_a_single_model_is_a_few_rows_ahead():
    # The single model misses 16 rows, the average 18: two rows better, within the noise.
    average = _average(range(0, 18))
    single = _single("augmentation", range(10, 26))
    picked = choice.choose([single, average])
    assert single.accuracy > average.accuracy
    assert picked.chosen == "kfold_ensemble" and picked.default == "kfold_ensemble"
    [comparison] = picked.comparisons
    assert (comparison.wins, comparison.losses) == (10, 8) and not comparison.beyond_noise
    text = "\n".join(picked.reasons)
    assert "`augmentation` reads 10 rows right that `kfold_ensemble` misses" in text
    assert "ahead, but within the noise" in text and "so it is chosen" in text


def test_a_single_model_that_wins_beyond_the_noise_is_chosen():
    average = _average(range(0, 60))
    strong = _single("augmentation", range(50, 62))
    weak = _single("batchnorm", range(20, 75))
    poor = _single("dense", range(0, 200))
    picked = choice.choose([weak, average, strong, poor])
    assert picked.chosen == "augmentation"
    by_name = {c.challenger: c for c in picked.comparisons}
    assert by_name["augmentation"].beyond_noise and (by_name["augmentation"].wins,
                                                     by_name["augmentation"].losses) == (50, 2)
    assert not by_name["batchnorm"].beyond_noise
    text = "\n".join(picked.reasons)
    assert ("`batchnorm` reads 20 rows right that `kfold_ensemble` misses and misses 15 that it "
            "reads right (McNemar p = 0.5): ahead, but within the noise.") in text
    assert "`dense` reads 0 rows right" in text and ": worse beyond the noise." in text
    assert "misses 2 that it reads right (McNemar p = 6.12e-13): better beyond the noise" in text
    assert picked.level == pytest.approx(choice.ALPHA / 3)  # shared by three comparisons
    assert "`augmentation` is chosen" in picked.reasons[-1]


def test_several_challengers_share_the_level_so_that_luck_among_many_does_not_win():
    # 19 wins to 7 losses: p = 0.029, enough against one challenger but not as one of five.
    average = _average(range(0, 26))
    lucky = _single("lucky", [*range(0, 7), *range(100, 107)])
    alone = choice.choose([average, lucky])
    assert (alone.comparisons[0].wins, alone.comparisons[0].losses) == (19, 7)
    assert alone.comparisons[0].p_value == pytest.approx(0.029, abs=0.001)
    assert alone.chosen == "lucky"
    others = [_single(f"other{i}", range(0, 26)) for i in range(4)]
    assert choice.choose([average, lucky, *others]).chosen == "kfold_ensemble"


def test_the_default_prefers_more_networks_then_more_rows():
    same = _correct([])
    picked = choice.choose([choice.Candidate("one", same, 1, 40_000),
                            choice.Candidate("three", same, 3, 30_000),
                            choice.Candidate("three_more_rows", same, 3, 36_000)])
    assert picked.default == picked.chosen == "three_more_rows"
    assert "reads exactly the same rows right" in "\n".join(picked.reasons)


def test_candidates_must_be_scored_on_the_same_rows_and_be_named_once():
    with pytest.raises(DigitRecognizerError, match="same validation rows"):
        choice.choose([_average([]), choice.Candidate("short", np.ones(10, dtype=bool))])
    with pytest.raises(DigitRecognizerError, match="unique"):
        choice.choose([_single("a", []), _single("a", [1])])
    with pytest.raises(DigitRecognizerError, match="no candidate"):
        choice.choose([])
