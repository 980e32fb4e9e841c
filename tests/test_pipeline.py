"""End to end: the papermill chain on a slice of the embedded sample, as ./run_all.sh runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def run_pipeline(*args: str, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "digit_recognizer.pipeline", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})},
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


FAKE_KEY = "fa4e0000deadbeef5ec2e7c0ffee1234"


def test_same_seed_same_submission_and_no_secret_anywhere(tiny_run, tmp_path):
    """A second run with the same seed, with a planted Kaggle key in a file and in the
    environment and a dry-run submission: identical results, and the key in no output."""
    out, args, _ = tiny_run
    kaggle_dir = tmp_path / "kaggle"
    kaggle_dir.mkdir()
    (kaggle_dir / "kaggle.json").write_text(
        json.dumps({"username": "planted", "key": FAKE_KEY}))
    (kaggle_dir / "kaggle.json").chmod(0o600)
    second = tmp_path / "outputs"
    args = [a if a != str(out) else str(second) for a in args]
    result = run_pipeline(*args, "--submit", "--dry-run", env={
        "KAGGLE_CONFIG_DIR": str(kaggle_dir), "KAGGLE_USERNAME": "planted",
        "KAGGLE_KEY": FAKE_KEY, "DIGIT_RECOGNIZER_KAGGLE_ROWS": "400,150",
    })
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not sent" in result.stdout.lower() or "dry-run" in result.stdout
    for name in ("submission.csv", "submissions/dense.csv", "submissions/augmentation.csv"):
        assert (second / name).read_bytes() == (out / name).read_bytes(), name
    assert FAKE_KEY not in result.stdout + result.stderr
    for path in second.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path


def test_interrupted_run_leaves_no_partial_artifact_and_resumes(tmp_path):
    args = ["--only", "01,02,03,04", "--limit-train", "400", "--limit-test", "100",
            "--epochs", "1", "--output-dir", str(tmp_path), "--no-html"]
    process = subprocess.Popen(
        [sys.executable, "-m", "digit_recognizer.pipeline", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        seen.append(line)
        if line.startswith("--> 04_base_cnn") or time.monotonic() > deadline:
            break
    time.sleep(4)  # inside 04: TensorFlow loading or training
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert not (tmp_path / "notebooks" / "04_base_cnn.ipynb").exists()
    assert not (tmp_path / ".stamps" / "04_base_cnn.json").exists()
    assert not [p for p in tmp_path.rglob("*") if ".partial-" in p.name]

    again = run_pipeline(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    for name in ("01_load", "02_eda", "03_preprocess"):
        assert f"--> {name}: unchanged since its last complete run, skipped" in again.stdout
    assert "--> 04_base_cnn\n" in again.stdout
    assert (tmp_path / "notebooks" / "04_base_cnn.ipynb").is_file()


def test_unwritable_outputs_is_one_clear_error(tmp_path):
    blocker = tmp_path / "outputs"
    blocker.write_text("a file where the outputs folder should be")
    result = run_pipeline("--output-dir", str(blocker))
    assert result.returncode == 1
    assert f"cannot write to {blocker}" in result.stderr and "Traceback" not in result.stderr
