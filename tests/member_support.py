"""Helpers shared by the member, executor and Ray tests: a tiny split of the embedded sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digit_recognizer.datasets import data, preprocess
from digit_recognizer.learning import members

# Two members that train in a few seconds: one epoch on 300 rows.
TINY_MEMBERS = [*members.of_models("dense", [1], "quick", epochs=1),
                *members.of_models("simple_cnn", [2], "quick", epochs=1)]


def tiny_split(path: Path, train_rows: int = 300, val_rows: int = 100,
               test_rows: int = 200) -> Path:
    """A saved split of the embedded real-MNIST sample, small enough to train in a second."""
    folder = data.sample_dir()
    images, labels = data.read_digits_csv(folder / "train.csv.gz", labelled=True)
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    answer_key = data.read_answer_key(folder / "answer_key.csv.gz")
    n = train_rows + val_rows
    train_idx, val_idx = preprocess.stratified_split(labels[:n], val_rows / n, seed=0)
    x, y = preprocess.normalise(images[:n]), preprocess.one_hot(labels[:n])
    split = preprocess.Split(x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                             preprocess.normalise(test[:test_rows]), answer_key[:test_rows])
    return preprocess.save_split(path, split)


def same_predictions(a, b) -> bool:
    """Bit-identical validation and test probabilities, member by member."""
    return len(a) == len(b) and all(
        x.member == y.member and np.array_equal(x.val_probs, y.val_probs)
        and np.array_equal(x.test_probs, y.test_probs) for x, y in zip(a, b, strict=True))
