"""What `dvc repro` reruns, on the project's real graph (dvc.yaml, params, package modules)
with tiny stand-in notebooks: each declares its real notebook's parameters and writes its
declared outputs from a hash of its parameters and dependencies (as a retrained model would
change), in a second or two."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import ROOT, make_project, run_pipeline, stage_lines

from digit_recognizer.datasets import data
from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import graph, stages

ALL = list(stages.STAGES)
FAST = ("--source", "auto")

STAND_IN = '''\
import hashlib, json, pathlib
root = pathlib.Path("..")
digest = hashlib.sha256(json.dumps(
    {{k: v for k, v in globals().items() if k in {params!r}}}, sort_keys=True).encode())
for dep in {deps!r}:
    path = root / dep
    for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if part.is_file():
            digest.update(part.read_bytes())
{extra}
for out in {outs!r}:
    path = root / out
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({{"stage": "stand-in", "submission": "outputs/submission.csv",
                                    "val_accuracy": 0.5, "hash": digest.hexdigest()}}))
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / "result.txt").write_text(digest.hexdigest())
'''


def stand_in(real: dict, name: str, extra: str = "") -> dict:
    """A notebook with the real one's parameters cell that writes the stage's outputs."""
    entry = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]
    runner_written = {f"outputs/notebooks/{name}.ipynb", f"outputs/html/{name}.html"}
    params = [k for k in graph.declared_parameters(ROOT / "notebooks" / f"{name}.ipynb")
              if k != "run_id"]
    code = STAND_IN.format(params=params, extra=extra,
                           deps=entry["deps"],
                           outs=[o for o in entry["outs"] if o not in runner_written])
    parameters = next(c for c in real["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell = {"cell_type": "code", "execution_count": None, "id": "work", "metadata": {},
            "outputs": [], "source": code}
    markdown = {"cell_type": "markdown", "id": "title", "metadata": {}, "source": f"# {name}"}
    return {**real, "cells": [markdown, parameters, cell]}


def write_stand_in(project, name: str, extra: str = "") -> None:
    path = project / "notebooks" / f"{name}.ipynb"
    real = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    path.write_text(json.dumps(stand_in(real, name, extra), indent=1))


def isolated_env(tmp_path) -> dict:
    """No Kaggle credentials, so `auto` never tries the network."""
    return {"KAGGLE_CONFIG_DIR": str(tmp_path / "no-kaggle"), "HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"), "PYTHONUNBUFFERED": "1",
            "KAGGLE_USERNAME": "", "KAGGLE_KEY": "", "KAGGLE_API_TOKEN": ""}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A project with stand-in notebooks after one complete run."""
    project = make_project(tmp_path_factory.mktemp("base"))
    for name in ALL:
        write_stand_in(project, name)
    env = isolated_env(tmp_path_factory.mktemp("env"))
    first = run_pipeline(project, *FAST, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert stage_lines(first.stdout) == dict.fromkeys(ALL, "running")
    return project, env


@pytest.fixture
def project(base, tmp_path):
    """A copy of the completed base project (with its DVC cache) for one scenario."""
    source, env = base
    copy = tmp_path / "project"
    shutil.copytree(source, copy, symlinks=True)
    return copy, env


def ran(result) -> set[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {name for name, what in stage_lines(result.stdout).items() if what == "running"}


def after(*names: str) -> set[str]:
    """The stages from `names` on: them and every stage downstream of them."""
    found = set(names)
    while True:
        more = {s.name for s in stages.STAGES.values() if found & set(s.upstream)}
        more |= {"09_own_handwriting"} if "08_submit" in found else set()
        if more <= found:
            return found
        found |= more


def test_nothing_changed_nothing_runs(project):
    root, env = project
    result = run_pipeline(root, *FAST, env=env)
    assert ran(result) == set()
    assert "every stage is up to date" in result.stdout


def test_markdown_edit_reruns_only_that_notebook(project):
    root, env = project
    path = root / "notebooks" / "02_eda.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] += "\n\nA better explanation."
    path.write_text(json.dumps(notebook, indent=1))
    assert ran(run_pipeline(root, *FAST, env=env)) == {"02_eda"}


def module_users(root, module: str) -> list[str]:
    return [name for name, entry in yaml.safe_load((root / "dvc.yaml").read_text())[
        "stages"].items() if f"src/digit_recognizer/{module}.py" in entry["deps"]]


@pytest.mark.parametrize("module, users", [
    # The full seed ensemble and the last controlled experiment augment too.
    ("augment", ["06_augmentation", "07_ensemble", "10_experiments"]),
    ("executors", ["07_ensemble", "10_experiments"]),
])
def test_module_edit_reruns_its_stages_and_their_descendants(project, module, users):
    root, env = project
    assert module_users(root, module) == users
    with open(root / "src" / "digit_recognizer" / f"{module}.py", "a") as source:
        source.write("\n# an edit\n")
    assert ran(run_pipeline(root, *FAST, env=env)) == after(*users)


def test_command_line_code_is_no_dependency(project):
    root, env = project
    assert module_users(root, "cli") == [] and module_users(root, "pipeline") == []
    with open(root / "src" / "digit_recognizer" / "cli.py", "a") as source:
        source.write("\n# a help string changed\n")
    assert ran(run_pipeline(root, *FAST, env=env)) == set()


@pytest.mark.parametrize("parameter, value, first", [
    ("ensemble_size", "2", "08_submit"),
    ("ensemble_seeds", "3", "07_ensemble"),
    ("images", "'x.png'", "09_own_handwriting"),
])
def test_changed_parameter_reruns_the_stages_that_declare_it(project, parameter, value, first):
    root, env = project
    assert ran(run_pipeline(root, *FAST, "-p", parameter, value, env=env)) == after(first)


def test_where_members_train_is_no_parameter(project):
    root, env = project
    result = run_pipeline(root, *FAST, "--workers", "ray", "--only", "01", env=env)
    assert ran(result) == set()


def test_a_new_seed_reruns_the_split_on_and_switching_back_restores_it(project):
    root, env = project
    assert ran(run_pipeline(root, *FAST, "--seed", "7", env=env)) == after("03_preprocess")
    back = run_pipeline(root, *FAST, env=env)
    assert ran(back) == set()
    said = stage_lines(back.stdout)
    assert {name for name, what in said.items() if what == "restored"} == after("03_preprocess")
    assert "restored from DVC's run cache" in back.stdout


def test_deleted_output_brings_back_its_stage_only(project):
    root, env = project
    model = root / "outputs" / "models" / "dense.keras"
    before = model.read_bytes()
    model.unlink()
    shutil.rmtree(root / "outputs" / "figures" / "eda")
    result = run_pipeline(root, *FAST, env=env)
    assert ran(result) == set()  # DVC restores them from its cache rather than recomputing
    said = stage_lines(result.stdout)
    assert {name for name, what in said.items() if what != "unchanged"} == {"02_eda",
                                                                           "04_base_cnn"}
    assert model.read_bytes() == before and (root / "outputs" / "figures" / "eda").is_dir()


def _raw_files(root, digits, seed: int = 0):
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    images, labels = digits
    data.write_digits_csv(raw / "train.csv", images, labels)
    data.write_digits_csv(raw / "test.csv", images[:7])
    return raw


def test_new_or_changed_data_reruns_everything(project, digits):
    root, env = project
    raw = _raw_files(root, digits)
    result = run_pipeline(root, *FAST, env=env)
    assert ran(result) == set(ALL)
    assert "source local" in result.stdout
    # Same size, same modification time, other content: still seen.
    train = raw / "train.csv"
    before = train.stat()
    text = train.read_text()
    position = text.index("\n") + 1  # the first label
    swapped = text[:position] + ("1" if text[position] == "0" else "0") + text[position + 1:]
    train.write_text(swapped)
    os.utime(train, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert train.stat().st_size == before.st_size
    # Loading alone shows it (the rest would follow it as above).
    again = run_pipeline(root, *FAST, "--only", "01", env=env)
    assert ran(again) == {"01_load"} and "new or changed since the last run" in again.stdout


def test_force_reruns_everything(project):
    root, env = project
    assert ran(run_pipeline(root, *FAST, "--force", env=env)) == set(ALL)


def test_only_runs_the_stage_and_says_when_the_submission_is_stale(project):
    root, env = project
    result = run_pipeline(root, *FAST, "--seed", "9", "--only", "03", env=env)
    assert ran(result) == {"03_preprocess"}
    assert "08_submit was not part of this run" in result.stdout


def test_unknown_parameter_lists_the_parameters(project):
    root, env = project
    result = run_pipeline(root, *FAST, "-p", "learning_rate", "0.1", env=env)
    assert result.returncode == 1
    assert "-p learning_rate: no such parameter; the parameters are" in result.stderr
    assert "ensemble_size" in result.stderr and "Traceback" not in result.stderr


def test_dead_kernel_is_reported_like_a_failed_cell(project):
    root, env = project
    write_stand_in(root, "02_eda", extra="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    result = run_pipeline(root, *FAST, env=env)
    assert result.returncode == 1
    assert "notebook 02_eda.ipynb stopped: its kernel died" in result.stderr
    assert (root / "outputs" / "notebooks" / "02_eda.FAILED.ipynb").is_file()
    assert not (root / "outputs" / "notebooks" / "02_eda.ipynb").exists()
    assert "Traceback" not in result.stderr


def test_sigterm_keeps_no_partial_output_and_the_rerun_resumes_there(project):
    root, env = project
    write_stand_in(root, "04_base_cnn", extra="import time\ntime.sleep(60)")
    process = subprocess.Popen(
        [sys.executable, "-m", "digit_recognizer.pipeline.run", *FAST, "--seed", "5"], cwd=root,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, **env})
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("--> 04_base_cnn: running"):
            break
    time.sleep(5)  # inside the stand-in's sleep
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    outputs = root / "outputs"
    assert not (outputs / "notebooks" / "04_base_cnn.ipynb").exists()
    assert not (outputs / "models" / "dense.keras").exists()
    assert not [p for p in outputs.rglob("*") if ".partial-" in p.name]

    write_stand_in(root, "04_base_cnn")
    again = run_pipeline(root, *FAST, "--seed", "5", env=env)
    said = stage_lines(again.stdout)
    assert ran(again) >= {"04_base_cnn"}
    assert "03_preprocess" not in ran(again) and said["03_preprocess"] == "unchanged"


def test_committed_graph_and_params_are_derived_from_the_registry():
    assert (ROOT / "dvc.yaml").read_text() == graph.render_dvc_yaml(ROOT), \
        "dvc.yaml is stale: run python -m digit_recognizer.pipeline.graph"
    assert (ROOT / "params.yaml").read_text() == graph.render_params(
        graph.default_parameters(ROOT)), "params.yaml is not the notebooks' defaults"


def test_candidates_of_the_choice_are_the_run_models():
    assert stages.candidates("08_submit")[:5] == [
        m for s in ("04_base_cnn", "05_batchnorm", "06_augmentation")
        for m in stages.STAGES[s].models]
    assert set(stages.candidates("08_submit")) == set(recipes.MODELS) | set(recipes.ENSEMBLES)


def test_a_refused_submission_fails_the_run_with_the_submit_status(project):
    root, env = project
    result = run_pipeline(root, *FAST, "--submit", env=env)  # the stand-in's file is no CSV
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "nothing was submitted" in result.stderr and "Traceback" not in result.stderr
