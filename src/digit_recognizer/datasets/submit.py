"""Kaggle submission files (`ImageId,Label`): write atomically, validate, score."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError

COLUMNS = ["ImageId", "Label"]


def read_submission(path: str | os.PathLike) -> pd.DataFrame:
    """Read an `ImageId,Label` CSV; checks the format, not the row count (see validate)."""
    path = Path(path)
    if not path.is_file():
        raise DigitRecognizerError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DigitRecognizerError(
            f"{path}: file is empty (expected header ImageId,Label)"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DigitRecognizerError(f"{path}: malformed CSV: {detail}") from None
    header = [str(c).strip() for c in frame.columns]
    if header != COLUMNS:
        raise DigitRecognizerError(
            f"{path}: header is {','.join(header)!r}, expected 'ImageId,Label'"
        )
    for column, low, high in (("ImageId", 1, None), ("Label", 0, 9)):
        text = frame[column].str.strip()
        numbers = pd.to_numeric(text.where(text.str.fullmatch(r"[+-]?\d+"), None),
                                errors="coerce")
        bad = numbers.isna() | (numbers < low)
        if high is not None:
            bad |= numbers > high
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            expected = f"an integer {low}..{high}" if high is not None else "a positive integer"
            raise DigitRecognizerError(
                f"{path}, line {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is "
                f"not {expected}"
            )
        frame[column] = numbers.astype(np.int64)
    return frame


def validate_submission(path: str | os.PathLike, n_test: int) -> pd.DataFrame:
    """Check a submission is exactly what Kaggle accepts for `n_test` test images.

    Header `ImageId,Label`, one row per test image, ids 1..n_test in order, labels 0..9.
    """
    frame = read_submission(path)
    if len(frame) != n_test:
        raise DigitRecognizerError(
            f"{path}: has {len(frame)} rows, expected {n_test} (one per test image)"
        )
    expected_ids = np.arange(1, n_test + 1)
    wrong = frame["ImageId"].to_numpy() != expected_ids
    if wrong.any():
        row = int(np.argmax(wrong))
        raise DigitRecognizerError(
            f"{path}, line {row + 2}, column 'ImageId': {frame['ImageId'].iloc[row]}, expected "
            f"{row + 1} (ids must run 1..{n_test} in order)"
        )
    return frame


def write_submission(path: str | os.PathLike, labels: np.ndarray) -> Path:
    """Write predicted labels as a Kaggle submission (ImageId from 1), validated, atomically."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise DigitRecognizerError(f"expected a non-empty 1-D array of labels, got {labels.shape}")
    if labels.min() < 0 or labels.max() > 9:
        raise DigitRecognizerError("labels must be digits 0..9")
    frame = pd.DataFrame({"ImageId": np.arange(1, len(labels) + 1), "Label": labels.astype(int)})
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
        validate_submission(tmp, len(labels))
    return path


def score(submission: str | os.PathLike, answer_key: str | os.PathLike) -> float:
    """Accuracy of a submission against an answer key (both `ImageId,Label`)."""
    truth = read_submission(answer_key)
    predicted = validate_submission(submission, len(truth))
    return float(np.mean(predicted["Label"].to_numpy() == truth["Label"].to_numpy()))
