"""Labelled digits that a reading model's confidence is calibrated on (`reading.calibration`).

From the embedded sample: its first training rows (where a model's features of known digits
are measured), and its test rows that no model of this project trains on
(`unseen_sample_rows`, where its confidence on digits it never saw is measured).
"""

from __future__ import annotations

import numpy as np

from digit_recognizer.datasets import data

FIT_ROWS = 4000  # of the sample's training rows: enough for a stable covariance, ~1 s


def unseen_sample_rows() -> np.ndarray:
    """The embedded sample's test rows (0-based) that no model of this project trains on.

    They are MNIST test images (`data.sample_rows`), so not among the sample's training rows,
    and their MNIST images fall among the hidden test rows of the local competition built from
    all of MNIST (`data.competition_rows`: MNIST's test images follow its 60,000 train images),
    so not among that competition's training rows either.
    """
    _, sample_test = data.sample_rows()
    _, competition_test = data.competition_rows()
    return np.flatnonzero(np.isin(data.MNIST_TRAIN_SIZE + sample_test, competition_test))


def calibration_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(training digits, their labels, unseen digits, their labels): uint8 (n, 28, 28)."""
    folder = data.sample_dir()
    train, train_labels = data.read_digits_csv(folder / "train.csv.gz", labelled=True)
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    labels = data.read_answer_key(folder / "answer_key.csv.gz")
    rows = unseen_sample_rows()
    return train[:FIT_ROWS], train_labels[:FIT_ROWS], test[rows], labels[rows]
