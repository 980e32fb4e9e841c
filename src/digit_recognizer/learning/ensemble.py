"""Average the probabilities of the best models: different networks make different mistakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from digit_recognizer import fileio
from digit_recognizer.datasets.preprocess import Split
from digit_recognizer.learning import evaluate


def combine(table: pd.DataFrame, split: Split, outputs, size: int = 3, writes=None) -> dict:
    """Ensemble the `size` models with the best validation accuracy, reading their
    probabilities from `outputs`; save it under ensemble/ of `writes` (default: `outputs`)."""
    members = list(table.sort_values("val_accuracy", ascending=False)["model"][:size])
    probs = [np.load(outputs.probabilities(name)) for name in members]
    folder = (writes or outputs).ensemble
    return save_average("ensemble", members, [p["val"] for p in probs],
                        [p["test"] for p in probs], split, folder / "submission.csv",
                        folder / "probabilities.npz", folder / "metrics.json")


def save_average(name: str, members: list[str], val_probs: list[np.ndarray],
                 test_probs: list[np.ndarray], split: Split, submission: Path,
                 probabilities: Path, metrics_path: Path,
                 train_seconds: float | None = None, tta: bool = False) -> dict:
    """Score the members' mean probabilities as `name`; write its submission, probabilities
    and metrics. An average trains nothing of its own: `train_seconds` is what training its
    members cost when they were trained for it (a seed ensemble), else None. `tta` says
    whether the probabilities are test-time augmented."""
    val, test = np.mean(val_probs, axis=0), np.mean(test_probs, axis=0)
    metrics = evaluate.score_and_submit(name, val, test, split, submission)
    metrics.update({
        "members": members,
        "split": split.fingerprint,
        "train_seconds": None if train_seconds is None else round(float(train_seconds), 1),
        "epochs": None,
        "parameters": None,
        "tta": tta,
    })
    with fileio.atomic_path(probabilities, suffix=".npz") as tmp:
        np.savez(tmp, val=val, test=test)
    fileio.write_json(metrics_path, metrics)
    return metrics

