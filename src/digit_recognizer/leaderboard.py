"""`outputs/leaderboard.csv`: one row per stage per run, so runs can be compared across days."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from digit_recognizer import fileio

COLUMNS = [
    "run_id", "time", "source", "profile", "seed", "stage",
    "val_accuracy", "local_score", "train_seconds", "kaggle_score", "note",
]


def append(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Append rows (missing columns left empty), rewriting the file atomically."""
    path = Path(path)
    new = pd.DataFrame(rows, columns=COLUMNS)
    if path.is_file():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        new = pd.concat([old, new.astype(str).replace("nan", "")], ignore_index=True)
    with fileio.atomic_path(path) as tmp:
        new.reindex(columns=COLUMNS).to_csv(tmp, index=False)
    return path


def read(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_csv(path)
