"""Average the probabilities of the best stages: different networks make different mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digit_recognizer import fileio, submit
from digit_recognizer.layout import Outputs
from digit_recognizer.preprocess import Split


def combine(table: pd.DataFrame, split: Split, outputs: Outputs, size: int = 3) -> dict:
    """Ensemble the `size` stages with the best validation accuracy; save it as stage 'ensemble'."""
    singles = table[table["stage"] != "ensemble"]
    members = list(singles.sort_values("val_accuracy", ascending=False)["stage"][:size])
    probs = [np.load(outputs.probabilities(stage)) for stage in members]
    val = np.mean([p["val"] for p in probs], axis=0)
    test = np.mean([p["test"] for p in probs], axis=0)
    submission = submit.write_submission(outputs.stage_submission("ensemble"), test.argmax(1))
    local_score = None
    if split.answer_key is not None:
        local_score = float(np.mean(test.argmax(1) == split.answer_key))
    chosen = singles.set_index("stage").loc[members]
    metrics = {
        "stage": "ensemble",
        "members": members,
        "val_accuracy": float(np.mean(val.argmax(1) == split.val_labels)),
        "val_errors": int(np.sum(val.argmax(1) != split.val_labels)),
        "local_score": local_score,
        "train_seconds": float(chosen["train_seconds"].sum()),
        "epochs": int(chosen["epochs"].sum()),
        "parameters": int(chosen["parameters"].sum()),
        "submission": str(submission),
    }
    fileio.write_json(outputs.metrics("ensemble"), metrics)
    return metrics
