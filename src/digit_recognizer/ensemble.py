"""Average the probabilities of the best stages: different networks make different mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digit_recognizer import evaluate, fileio
from digit_recognizer.layout import Outputs
from digit_recognizer.preprocess import Split


def combine(table: pd.DataFrame, split: Split, outputs: Outputs, size: int = 3) -> dict:
    """Ensemble the `size` stages with the best validation accuracy; save it as stage 'ensemble'."""
    singles = table[table["stage"] != "ensemble"]
    members = list(singles.sort_values("val_accuracy", ascending=False)["stage"][:size])
    probs = [np.load(outputs.probabilities(stage)) for stage in members]
    val = np.mean([p["val"] for p in probs], axis=0)
    test = np.mean([p["test"] for p in probs], axis=0)
    chosen = singles.set_index("stage").loc[members]
    metrics = evaluate.score_and_submit("ensemble", val, test, split, outputs)
    metrics.update({
        "members": members,
        "train_seconds": float(chosen["train_seconds"].sum()),
        "epochs": int(chosen["epochs"].sum()),
        "parameters": int(chosen["parameters"].sum()),
    })
    fileio.write_json(outputs.metrics("ensemble"), metrics)
    return metrics
