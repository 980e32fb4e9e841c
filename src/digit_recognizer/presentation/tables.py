"""The tables a notebook shows: trained models and ensemble members, as a reader wants them."""

from __future__ import annotations

import pandas as pd


def _training(row: pd.Series) -> str:
    if isinstance(row["members"], list):  # an average: it has no training of its own
        return ("members: " + ", ".join(row["members"])
                + (", with test-time augmentation" if row["tta"] is True else ""))
    return (f"{row['epochs']:.0f} epoch{'' if row['epochs'] == 1 else 's'}, "
            f"{row['train_seconds']:.0f} s, "
            f"{row['parameters']:,.0f} parameters")


def models(table: pd.DataFrame) -> pd.DataFrame:
    """`table` as a reader wants it: accuracies as percentages rounded once, an average's
    members instead of training figures, and no column that is empty in every row."""
    shown = pd.DataFrame({
        "model": table["model"],
        "validation accuracy": table["val_accuracy"].map("{:.2%}".format),
        "validation errors": table["val_errors"],
        "local score": table["local_score"].map(
            lambda v: "" if pd.isna(v) else f"{v:.2%}"),
        "training": table.apply(_training, axis=1),
    })
    return shown.drop(columns=[c for c in shown if shown[c].eq("").all()])



def members(results: list) -> pd.DataFrame:
    """The members as a reader wants them (a DataFrame): accuracies as percentages, without
    test-time augmentation's column when no member was predicted with it."""
    shown = pd.DataFrame({
        "member": [r.member.name for r in results],
        "seed": [r.member.seed for r in results],
        "validation accuracy": [f"{r.metrics['val_accuracy']:.2%}" for r in results],
        "with test-time augmentation": ["" if r.metrics.get("val_accuracy_tta") is None
                                        else f"{r.metrics['val_accuracy_tta']:.2%}"
                                        for r in results],
        "validation errors": [r.metrics["val_errors"] for r in results],
        "training": [f"{r.metrics['train_seconds']:.0f} s" for r in results],
    })
    return shown.drop(columns=[c for c in shown if shown[c].eq("").all()])
