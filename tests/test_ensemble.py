"""The k-fold ensemble: out-of-fold predictions on every labelled row, one averaging model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from digit_recognizer.datasets import preprocess, submit
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.learning import ensemble, evaluate, executors, members, recipes
from digit_recognizer.presentation import report


@pytest.fixture(scope="module")
def fold_results(tiny_split):
    """Three dense members, one per fold of the tiny split's 400 labelled rows."""
    team = members.fold_members("dense", 3, 7, "quick", epochs=1)
    return executors.run_members(team, tiny_split)


def test_fold_members_share_their_folds_and_differ_in_fold_and_seed():
    team = members.fold_members("augmentation", 5, 42, "full")
    assert [m.name for m in team] == [f"augmentation_fold{i}" for i in range(5)]
    assert [(m.fold, m.seed) for m in team] == [(i, 43 + i) for i in range(5)]
    assert {(m.folds, m.fold_seed) for m in team} == {(5, 42)}
    assert team[0].recipe == recipes.recipe("augmentation", "full")
    assert recipes.kfold_ensemble("kfold_ensemble", "quick") == ("dense", 3)
    assert recipes.kfold_ensemble("kfold_ensemble", "gpu", folds=4) == ("augmentation", 4)
    with pytest.raises(DigitRecognizerError, match="at least 2"):
        recipes.kfold_ensemble("kfold_ensemble", "full", folds=1)


def test_every_labelled_row_is_predicted_once_by_the_member_that_never_saw_it(
        tiny_split, fold_results):
    split = preprocess.load_split(tiny_split)
    oof = ensemble.out_of_fold(fold_results, split)
    assert oof.shape == (400, 10) and np.allclose(oof.sum(axis=1), 1, atol=1e-4)
    folds = preprocess.stratified_folds(preprocess.labelled(split)[1].argmax(1), 3, 7)
    for result in fold_results:
        np.testing.assert_array_equal(oof[folds[result.member.fold]], result.val_probs)
        assert len(result.val_probs) + len(folds[0]) + len(folds[1]) + len(folds[2]) \
            - len(folds[result.member.fold]) == 400


def test_the_members_must_cover_every_fold_once(fold_results):
    with pytest.raises(DigitRecognizerError, match="one member per fold"):
        ensemble.check_folds(fold_results[:2])
    other = replace(fold_results[0], member=replace(fold_results[0].member, fold_seed=8))
    with pytest.raises(DigitRecognizerError, match="share their folds"):
        ensemble.check_folds([other, *fold_results[1:]])


def test_the_averaging_model_is_the_mean_of_its_members_with_and_without_tta(
        tiny_split, fold_results):
    split = preprocess.load_split(tiny_split)
    networks = [r.load_model() for r in fold_results]
    x = split.x_test[:50]
    plain = ensemble.averaging_model(networks).predict(x, verbose=0)
    np.testing.assert_allclose(plain, np.mean([n.predict(x, verbose=0) for n in networks], 0),
                               atol=1e-6)
    shifted = ensemble.averaging_model(networks, tta=True).predict(x, verbose=0)
    np.testing.assert_allclose(
        shifted, np.mean([evaluate.predict_tta(n, x) for n in networks], 0), atol=1e-6)


def test_the_ensembles_submission_is_what_its_saved_model_predicts(tmp_path, tiny_split,
                                                                    fold_results):
    import keras

    split = preprocess.load_split(tiny_split)
    outputs = Outputs(tmp_path / "outputs")
    metrics = ensemble.build("kfold_ensemble", fold_results, split, outputs)
    assert metrics["oof_rows"] == metrics["train_rows"] == 400 and metrics["folds"] == 3
    assert metrics["members"] == [f"dense_fold{i}" for i in range(3)]
    probs = np.load(outputs.probabilities("kfold_ensemble"))
    np.testing.assert_array_equal(probs["val"], probs["oof"][300:])  # the validation rows
    assert metrics["val_accuracy"] == pytest.approx(np.mean(probs["val"].argmax(1)
                                                            == split.val_labels))
    saved = keras.saving.load_model(outputs.model("kfold_ensemble"), compile=False)
    labels = saved.predict(split.x_test, verbose=0).argmax(axis=1)
    submission = submit.read_submission(outputs.model_submission("kfold_ensemble"))
    np.testing.assert_array_equal(submission["Label"].to_numpy(), labels)
    assert "out-of-fold accuracy" in report.describe(metrics)
