"""End to end: the papermill chain on a slice of the embedded sample, as ./run_all.sh runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def run_pipeline(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "digit_recognizer.pipeline", *args],
        capture_output=True, text=True, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    args = ("--source", "sample", "--limit-train", "400", "--limit-test", "150", "--epochs", "1",
            "--output-dir", str(out))
    first = run_pipeline(*args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return out, args, first


def test_chain_writes_a_valid_submission_and_every_artifact(tiny_run):
    out, _, result = tiny_run
    submission = pd.read_csv(out / "submission.csv")
    assert list(submission.columns) == ["ImageId", "Label"]
    assert submission["ImageId"].tolist() == list(range(1, 151))
    assert submission["Label"].between(0, 9).all()
    for name in ("01_load", "02_eda", "03_preprocess", "04_base_cnn", "05_batchnorm",
                 "06_augmentation", "07_submit"):
        executed = json.loads((out / "notebooks" / f"{name}.ipynb").read_text())
        assert executed["metadata"]["papermill"]["exception"] is None
        assert (out / "html" / f"{name}.html").is_file()
    for stage in ("dense", "simple_cnn", "double_cnn", "batchnorm", "augmentation"):
        assert (out / "models" / f"{stage}.keras").is_file()
        assert (out / "submissions" / f"{stage}.csv").is_file()
        for figure in ("curves", "confusion", "mistakes"):
            assert (out / "figures" / f"{stage}_{figure}.png").stat().st_size > 1000
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["stage"]) >= {"dense", "augmentation", "ensemble"}
    assert board["source"].eq("sample").all() and board["local_score"].notna().all()
    assert "local score:" in result.stdout and "submission:" in result.stdout
    assert "kernel s" in result.stdout  # the per-notebook time split


def test_unchanged_rerun_skips_every_stage(tiny_run):
    out, args, _ = tiny_run
    before = (out / "submission.csv").stat().st_mtime_ns
    again = run_pipeline(*args, "--no-html")
    assert again.returncode == 0, again.stderr[-3000:]
    stages = [line for line in again.stdout.splitlines() if line.startswith("--> ")]
    assert len(stages) >= 7 and all("unchanged" in line and "skipped" in line for line in stages)
    assert (out / "submission.csv").stat().st_mtime_ns == before


def test_failure_names_the_notebook_and_cell(tmp_path):
    # 03 without 01's output: the chain must stop with a readable message.
    result = run_pipeline("--only", "03", "--output-dir", str(tmp_path), "--no-html")
    assert result.returncode == 1
    assert "notebook 03_preprocess.ipynb failed in cell" in result.stderr
    assert "run the earlier notebooks first" in result.stderr
    assert not (tmp_path / "notebooks" / "03_preprocess.ipynb").exists()


@pytest.mark.parametrize("args, message", [
    (("--profile", "huge"), "invalid choice: 'huge'"),
    (("--source", "web"), "invalid choice: 'web'"),
    (("--seed", "-3"), "--seed must be a non-negative integer"),
    (("--source", "mnist"), "--source mnist needs --mnist-dir"),
    (("--mnist-dir", "/no/such/dir"), "no such directory"),
])
def test_bad_parameters_are_refused_before_anything_runs(args, message):
    result = run_pipeline(*args)
    assert result.returncode == 2 and message in result.stderr
