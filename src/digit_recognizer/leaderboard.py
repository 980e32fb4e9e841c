"""`outputs/leaderboard.csv`: one row per stage per run, so runs can be compared across days.

Rows of stage `kaggle` are submissions: `kaggle_submission` is Kaggle's submission id,
`kaggle_status` is pending, complete, error, unconfirmed or not submitted, and `note` is the
submission's description (plus Kaggle's error, if any).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from digit_recognizer import fileio

COLUMNS = [
    "run_id", "time", "source", "profile", "seed", "stage",
    "val_accuracy", "local_score", "train_seconds", "kaggle_score",
    "kaggle_submission", "kaggle_status", "note",
]


def load(path: str | os.PathLike) -> pd.DataFrame:
    """Every row as text (empty cells ''), with all COLUMNS, old files included."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS, dtype=str)
    old = pd.read_csv(path, dtype=str, keep_default_na=False)
    return old.reindex(columns=[*COLUMNS, *[c for c in old.columns if c not in COLUMNS]],
                       fill_value="")


def save(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """Write `frame` atomically (the old file stays whole if anything fails)."""
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def append(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Append rows (missing columns left empty), rewriting the file atomically."""
    new = pd.DataFrame([{name: _text(row.get(name)) for name in COLUMNS} for row in rows],
                       columns=COLUMNS, dtype=str)
    old = load(path)
    if len(old):
        new = pd.concat([old, new], ignore_index=True).fillna("")
    return save(path, new)


def _text(value) -> str:
    """A cell as text: '' for None/NaN, '7' for 7 (never '7.0')."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def read(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_csv(path)
