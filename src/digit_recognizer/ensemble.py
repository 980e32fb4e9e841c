"""Average the probabilities of the best models: different networks make different mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digit_recognizer import evaluate, fileio
from digit_recognizer.layout import Outputs
from digit_recognizer.preprocess import Split


def combine(table: pd.DataFrame, split: Split, outputs: Outputs, size: int = 3) -> dict:
    """Ensemble the `size` models with the best validation accuracy; save it under ensemble/."""
    members = list(table.sort_values("val_accuracy", ascending=False)["stage"][:size])
    probs = [np.load(outputs.probabilities(name)) for name in members]
    val = np.mean([p["val"] for p in probs], axis=0)
    test = np.mean([p["test"] for p in probs], axis=0)
    chosen = table.set_index("stage").loc[members]
    metrics = evaluate.score_and_submit("ensemble", val, test, split,
                                        outputs.ensemble / "submission.csv")
    metrics.update({
        "members": members,
        "split": split.fingerprint,
        "train_seconds": float(chosen["train_seconds"].sum()),
        "epochs": int(chosen["epochs"].sum()),
        "parameters": int(chosen["parameters"].sum()),
    })
    with fileio.atomic_path(outputs.ensemble / "probabilities.npz", suffix=".npz") as tmp:
        np.savez(tmp, val=val, test=test)
    fileio.write_json(outputs.ensemble / "metrics.json", metrics)
    return metrics

