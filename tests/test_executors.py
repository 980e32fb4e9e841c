"""Executors: `local` trains members here one by one; `ray` (tests/test_ray.py) on a cluster."""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
from member_support import TINY_MEMBERS, same_predictions

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import executors
from digit_recognizer.learning.members import MemberResult, average


def test_unknown_executor_and_duplicate_names_are_refused(tiny_split):
    with pytest.raises(DigitRecognizerError, match="unknown executor 'dask'"):
        executors.run_members(TINY_MEMBERS, tiny_split, "dask")
    with pytest.raises(DigitRecognizerError, match="member names must be unique"):
        executors.run_members(TINY_MEMBERS[:1] * 2, tiny_split)


def test_ray_executor_without_ray_says_how_to_install_it(tiny_split, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(DigitRecognizerError, match=r"pip install 'digit-recognizer\[ray\]'"):
        executors.run_members(TINY_MEMBERS, tiny_split, "ray")


@pytest.mark.slow
def test_local_results_in_members_order_with_progress(tiny_split, tiny_local_results, tmp_path):
    """The members in the other order give the same members' predictions, and progress shows."""
    import keras

    seen, epochs = [], []

    def epoch_log(member):
        return [keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: epochs.append((member.name, epoch + 1)))]

    results = executors.run_members(
        TINY_MEMBERS[::-1], tiny_split, out_dir=tmp_path,
        on_done=lambda result, done, total: seen.append((result.member.name, done, total)),
        callbacks_for=epoch_log)
    assert seen == [("simple_cnn_seed2", 1, 2), ("dense_seed1", 2, 2)]
    assert epochs == [(m.name, e + 1) for m in TINY_MEMBERS[::-1]
                      for e in range(m.recipe.epochs)]
    assert same_predictions(results[::-1], tiny_local_results)
    assert np.array_equal(average(results)[1], average(tiny_local_results)[1])
    assert len(list(tmp_path.glob("*.npz"))) == 2 and len(list(tmp_path.iterdir())) == 6
    line = executors.describe(results[0], 1, 2)
    assert line.startswith("[1/2] simple_cnn_seed2: validation accuracy ") and "%" in line


def test_progress_shows_the_result_but_not_the_machine_that_trained_it():
    member = TINY_MEMBERS[0]
    metrics = {"val_accuracy": 0.92634, "val_errors": 59, "train_seconds": 3.2}
    result = MemberResult(member, np.zeros((1, 10)), np.zeros((1, 10)), metrics, b"",
                          "vm:5925")
    line = executors.describe(result, 1, 3)
    assert line == (f"[1/3] {member.name}: validation accuracy 92.63% (59 errors), trained in "
                    "3 s")
    assert "vm" not in line and "5925" not in line
    fold = MemberResult(replace(member, folds=3, fold=2), np.zeros((1, 10)), np.zeros((1, 10)),
                        metrics, b"", "")
    assert "accuracy on its held-out fold 2 92.63% (59 errors)" in executors.describe(fold, 3, 3)


def test_a_failing_member_fails_the_run_naming_it(tiny_split, tiny_local_results, tmp_path,
                                                  monkeypatch):
    done = {TINY_MEMBERS[0].name: tiny_local_results[0]}

    def train_member(member, split, callbacks=None):
        if member.name in done:
            return done[member.name]
        raise MemoryError("out of memory")

    monkeypatch.setattr(executors, "train_member", train_member)
    with pytest.raises(DigitRecognizerError,
                       match=r"member simple_cnn_seed2 \(simple_cnn, seed 2\) failed: "
                             r"MemoryError: out of memory"):
        executors.run_members(TINY_MEMBERS, tiny_split, out_dir=tmp_path)
    assert sorted(p.stem for p in tmp_path.iterdir()) == ["dense_seed1"] * 3  # whole files only
    assert not fileio.remove_partial_files(tmp_path)
