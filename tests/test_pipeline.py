"""End to end: the real notebooks on a slice of the embedded sample, as ./run_all.sh runs them
(in a copy of the project, so the checkout's outputs/ are never touched)."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from conftest import make_project, run_pipeline, stage_lines

from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import stages

pytestmark = pytest.mark.slow


ARGS = ("--source", "sample", "--limit-train", "400", "--limit-test", "150", "--epochs", "1")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("project"))
    first = run_pipeline(project, *ARGS)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return project, first


def test_chain_writes_a_valid_submission_and_every_artifact(tiny_run):
    project, result = tiny_run
    out = project / "outputs"
    submission = pd.read_csv(out / "submission.csv")
    assert list(submission.columns) == ["ImageId", "Label"]
    assert submission["ImageId"].tolist() == list(range(1, 151))
    assert submission["Label"].between(0, 9).all()
    for name in stages.notebooks():
        executed = json.loads((out / "notebooks" / f"{name}.ipynb").read_text())
        assert executed["metadata"]["papermill"]["exception"] is None
        assert (out / "html" / f"{name}.html").is_file()
    for model in recipes.MODELS:
        assert (out / "models" / f"{model}.keras").is_file()
        assert (out / "submissions" / f"{model}.csv").is_file()
        for figure in ("curves", "confusion", "mistakes"):
            assert (out / "figures" / model / f"{figure}.png").stat().st_size > 1000
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["model"]) >= {"dense", "augmentation", "ensemble"}
    assert board["source"].eq("sample").all() and board["local_score"].notna().all()
    assert "local score:" in result.stdout and "submission:" in result.stdout
    assert "kernel s" in result.stdout  # the per-notebook time split
    assert stage_lines(result.stdout) == dict.fromkeys(stages.STAGES, "running")


def test_unchanged_rerun_skips_every_stage(tiny_run):
    project, _ = tiny_run
    before = (project / "outputs" / "submission.csv").stat().st_mtime_ns
    again = run_pipeline(project, *ARGS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert stage_lines(again.stdout) == dict.fromkeys(stages.STAGES, "unchanged")
    assert (project / "outputs" / "submission.csv").stat().st_mtime_ns == before


# Absolute paths of the machine that ran a notebook: its folders, the project's, the package's.
MACHINE_PATH = re.compile(r"(?<![\w.])(?:/(?:tmp|home|root|usr|opt|var|work|private|Users|mnt)/"
                          r"|[A-Za-z]:\\|site-packages|dist-packages)")


def notebook_texts(notebook: dict):
    """Every text a reader of an executed notebook sees in its outputs, and its metadata."""
    yield "metadata", json.dumps(notebook["metadata"])
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            where = f"cell {index} ({output['output_type']})"
            if output["output_type"] == "stream":
                yield where, "".join(output["text"])
            elif output["output_type"] == "error":
                yield where, "\n".join([output["evalue"], *output["traceback"]])
            else:
                for mime, value in output.get("data", {}).items():
                    if not mime.startswith("image/"):  # base64 may spell anything
                        yield f"{where} {mime}", value if isinstance(value, str) else \
                            json.dumps(value)


def test_executed_notebooks_carry_no_stderr_and_no_machine_paths(tiny_run):
    project, _ = tiny_run
    found = []
    for name in stages.notebooks():
        notebook = json.loads((project / "outputs" / "notebooks" / f"{name}.ipynb").read_text())
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                if output["output_type"] == "stream" and output["name"] == "stderr":
                    found.append(f"{name}: stderr {''.join(output['text'])[:300]!r}")
        for where, text in notebook_texts(notebook):
            for line in text.splitlines():
                if MACHINE_PATH.search(line) or str(project) in line:
                    found.append(f"{name} {where}: {line[:300]!r}")
    assert not found, "\n".join(found)


def test_failure_names_the_notebook_and_cell(tiny_run, tmp_path):
    project = shutil.copytree(tiny_run[0], tmp_path / "copy", symlinks=True)
    result = run_pipeline(project, *ARGS, "-p", "val_fraction", "1.5")
    assert result.returncode == 1
    assert "notebook 03_preprocess.ipynb failed in cell" in result.stderr
    assert "val_fraction must be between 0 and 1" in result.stderr
    assert (project / "outputs" / "notebooks" / "03_preprocess.FAILED.ipynb").is_file()
    assert not (project / "outputs" / "notebooks" / "03_preprocess.ipynb").exists()


@pytest.mark.parametrize("args, message", [
    (("--profile", "huge"), "invalid choice: 'huge'"),
    (("--source", "web"), "invalid choice: 'web'"),
    (("--seed", "-3"), "--seed must be a non-negative integer"),
    (("--source", "mnist"), "--source mnist needs --mnist-dir"),
    (("--mnist-dir", "/no/such/dir"), "no such directory"),
])
def test_bad_parameters_are_refused_before_anything_runs(args, message, tmp_path):
    result = run_pipeline(tmp_path, *args)
    assert result.returncode == 2 and message in result.stderr


FAKE_KEY = "fa4e0000deadbeef5ec2e7c0ffee1234"


def test_same_seed_same_submission_and_no_secret_anywhere(tiny_run, tmp_path):
    """The dense and augmentation trainings again (--force: with the data and the split they
    need) with the same seed, a planted Kaggle key in a file and in the environment, and a
    dry-run submission: identical predictions, and the key in no output. (The augmentation
    network draws random transforms: the hardest of the models to keep deterministic.)"""
    project = shutil.copytree(tiny_run[0], tmp_path / "copy", symlinks=True)
    out = project / "outputs"
    names = ("submission.csv", "submissions/dense.csv", "submissions/augmentation.csv")
    before = {name: (out / name).read_bytes() for name in names}
    kaggle_dir = tmp_path / "kaggle"
    kaggle_dir.mkdir()
    (kaggle_dir / "kaggle.json").write_text(
        json.dumps({"username": "planted", "key": FAKE_KEY}))
    (kaggle_dir / "kaggle.json").chmod(0o600)
    result = run_pipeline(project, *ARGS, "--only", "train_dense,train_aug", "--force",
                          "--submit", "--dry-run", env={
        "KAGGLE_CONFIG_DIR": str(kaggle_dir), "KAGGLE_USERNAME": "planted",
        "KAGGLE_KEY": FAKE_KEY, "FAKE_KAGGLE_ROWS": "400,150",
    })
    assert result.returncode == 0, result.stderr[-3000:]
    assert stage_lines(result.stdout) == dict.fromkeys(
        ("01_load", "03_preprocess", "train_dense", "train_augmentation"), "running")
    assert "not sent" in result.stdout.lower() or "dry-run" in result.stdout
    for name in names:
        assert (out / name).read_bytes() == before[name], name
    assert FAKE_KEY not in result.stdout + result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path


def test_unwritable_outputs_is_one_clear_error(tmp_path):
    project = make_project(tmp_path / "project")
    blocker = project / "outputs"
    blocker.write_text("a file where the outputs folder should be")
    result = run_pipeline(project)
    assert result.returncode == 1
    assert f"cannot write to {blocker}" in result.stderr and "Traceback" not in result.stderr


def test_in_a_kaggle_notebook_the_submission_is_also_left_in_the_working_folder(
        tmp_path, monkeypatch, capsys):
    from digit_recognizer.layout import Outputs
    from digit_recognizer.pipeline import run as pipeline
    from digit_recognizer.pipeline import sources

    outputs = Outputs(tmp_path / "project" / "outputs")
    outputs.submission.parent.mkdir(parents=True)
    outputs.submission.write_text("ImageId,Label\n1,7\n")
    monkeypatch.setattr(sources, "KAGGLE_WORKING", tmp_path / "no-kaggle-here")
    pipeline._copy_to_kaggle_working(outputs)
    assert capsys.readouterr().out == ""
    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    monkeypatch.setattr(sources, "KAGGLE_WORKING", working)
    pipeline._copy_to_kaggle_working(outputs)
    assert (working / "submission.csv").read_text() == "ImageId,Label\n1,7\n"
    assert "copied to" in capsys.readouterr().out


def _executed(project, name: str) -> dict:
    return json.loads((project / "outputs" / "notebooks" / f"{name}.ipynb").read_text())


def _cell_text(cell: dict) -> str:
    return "\n".join(text for _, text in notebook_texts({"metadata": {}, "cells": [cell]}))


def _builder(model: str) -> str:
    if model in recipes.ENSEMBLES:  # its members' network, under the run's profile
        model = recipes.seed_ensemble(model, "quick")[0]
    return recipes.model(model).builder


def test_every_notebook_that_shows_models_shows_their_network(tiny_run):
    project, _ = tiny_run
    for name, stage in stages.STAGES.items():
        if stage.notebook and stage.models:
            shown = "\n".join(text for _, text in notebook_texts(_executed(project, name)))
            for model in stage.models:
                assert f"def {_builder(model)}(" in shown, (name, model)
            assert "Adam with" in shown, f"{name}: the optimiser and its schedule"


def test_a_smoke_run_of_the_experiments_gives_no_verdict(tiny_run):
    """The tiny run is `quick` with --epochs 1: its numbers show that the chain runs, and the
    committed full run gives the verdicts."""
    project, _ = tiny_run
    cells = _executed(project, "10_experiments")["cells"]
    [live] = [c for c in cells if "experiments.summary_text(" in "".join(c["source"])]
    text = _cell_text(live)
    assert "no verdicts" in text
    assert not {"helps", "hurts"} & set(re.findall(r"\w+", text)), text
    summary = json.loads((project / "outputs" / "experiments_summary.json").read_text())
    assert summary["smoke"] and summary["verdicts"] == []
    [full] = [c for c in cells if "experiments.full_run_text(" in "".join(c["source"])]
    assert "| helps |" in _cell_text(full), "the committed full run's verdicts are shown"
