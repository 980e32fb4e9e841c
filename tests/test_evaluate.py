"""Comparing models: only the run's own candidates, all measured on the run's own split."""

from __future__ import annotations

import numpy as np
import pytest

from digit_recognizer import fileio
from digit_recognizer.datasets import preprocess
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.learning.evaluate import model_table, table_of
from digit_recognizer.presentation.tables import models as shown_table


def split_with_seed(seed: int) -> preprocess.Split:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = np.arange(60) % 10
    train, val = preprocess.stratified_split(labels, 0.2, seed)
    x, y = preprocess.normalise(images), preprocess.one_hot(labels)
    return preprocess.Split(x[train], y[train], x[val], y[val], x[:5])


def write_metrics(outputs: Outputs, name: str, split: preprocess.Split) -> None:
    fileio.write_json(outputs.metrics(name), {
        "model": name, "val_accuracy": 0.9, "val_errors": 1, "local_score": None,
        "train_seconds": 1.0, "epochs": 1, "parameters": 10, "split": split.fingerprint})


def test_only_the_named_candidates_are_compared(tmp_path):
    outputs, split = Outputs(tmp_path), split_with_seed(1)
    for name in ("dense", "batchnorm", "left_from_an_earlier_run"):
        write_metrics(outputs, name, split)
    table = model_table(outputs, ["dense", "batchnorm"], split)
    assert list(table["model"]) == ["dense", "batchnorm"]


def test_a_model_measured_on_another_split_is_refused(tmp_path):
    outputs = Outputs(tmp_path)
    assert split_with_seed(1).fingerprint != split_with_seed(2).fingerprint
    write_metrics(outputs, "dense", split_with_seed(1))
    write_metrics(outputs, "batchnorm", split_with_seed(2))
    with pytest.raises(DigitRecognizerError, match="batchnorm.json: computed on another "
                                                   "validation split"):
        model_table(outputs, ["dense", "batchnorm"], split_with_seed(1))


def test_a_missing_candidate_is_a_clear_error(tmp_path):
    with pytest.raises(DigitRecognizerError, match="run the notebook that trains dense first"):
        model_table(Outputs(tmp_path), ["dense"])


def test_the_split_survives_saving_exactly(tmp_path):
    split = split_with_seed(3)
    again = preprocess.load_split(preprocess.save_split(tmp_path / "split.npz", split))
    assert again.fingerprint == split.fingerprint
    np.testing.assert_array_equal(again.x_train, split.x_train)


def test_shown_table_rounds_once_names_members_and_drops_empty_columns():
    table = table_of([
        {"model": "batchnorm", "val_accuracy": 0.98626, "val_errors": 11, "local_score": None,
         "train_seconds": 40.4, "epochs": 6, "parameters": 141322},
        {"model": "kfold_ensemble", "val_accuracy": 0.9875, "val_errors": 10,
         "local_score": None, "train_seconds": 30.0, "epochs": None, "parameters": None,
         "members": ["dense_fold0", "dense_fold1"], "tta": True},
    ])
    shown = shown_table(table)
    assert list(shown.columns) == ["model", "validation accuracy", "validation errors",
                                   "training"]  # no answer key: no local score column
    assert shown["validation accuracy"].tolist() == ["98.63%", "98.75%"]
    assert shown["training"].tolist() == [
        "6 epochs, 40 s, 141,322 parameters",
        "members: dense_fold0, dense_fold1, with test-time augmentation"]
    table.loc[0, "local_score"] = 0.986
    assert shown_table(table)["local score"].tolist() == ["98.60%", ""]


def test_describe_gives_accuracies_as_percentages():
    from digit_recognizer.presentation.report import describe

    line = describe({"model": "dense", "val_accuracy": 0.926342, "val_errors": 59,
                     "parameters": 318010, "train_seconds": 3.2, "local_score": 0.9145})
    assert line == ("dense: validation accuracy 92.63% (59 errors), 318,010 parameters, trained "
                    "in 3 s; local test score 91.45%")
    average = describe({"model": "kfold_ensemble", "val_accuracy": 0.93009, "val_errors": 56,
                        "members": ["a", "b"], "tta": True, "local_score": None,
                        "oof_accuracy": 0.9412, "oof_rows": 400})
    assert average == ("kfold_ensemble: out-of-fold accuracy 94.12% on all 400 labelled rows, "
                       "93.01% (56 errors) on the validation rows, the average of a, b with "
                       "test-time augmentation")
