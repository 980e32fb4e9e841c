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
from pathlib import Path

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
root = pathlib.Path({root!r})
params = {{k: v for k, v in globals().items() if k in {params!r}}}


def digest(paths, code=()):
    made = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for text in code:
        made.update(text.encode())
    for dep in paths:
        path = root / dep
        for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if part.is_file():
                made.update(part.read_bytes())
    return made.hexdigest()


def write(outs, value):
    for out in outs:
        path = root / out
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({{"model": "stand-in", "val_accuracy": 0.5,
                                        "submission": "outputs/submission.csv", "hash": value}}))
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "result.txt").write_text(value)


{extra}
# What it hands on changes with its data, parameters, code cells and the package code that
# computes; its figures with everything, its presentation code and Markdown included.
write({products!r}, digest({product_deps!r}, {code!r}))
write({reports!r}, digest({deps!r}))
'''


def stage_entry(name: str) -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]


def stand_in_code(name: str, params: list[str], extra: str = "", root: str = "..",
                  code: tuple[str, ...] = ()) -> str:
    entry = stage_entry(name)
    s = stages.STAGES[name]
    runner_written = {f"outputs/notebooks/{name}.ipynb", f"outputs/html/{name}.html"}
    everything = [*entry["outs"], *entry.get("metrics", []),
                  *[next(iter(p)) for p in entry.get("plots", [])]]
    products = [str(p) for p in s.writes]
    return STAND_IN.format(
        root=root, params=params, extra=extra, deps=entry["deps"], code=list(code),
        product_deps=[d for d in entry["deps"] if "/presentation/" not in d
                      and not d.startswith("notebooks/")],
        products=products,
        reports=[o for o in everything if o not in products and o not in runner_written])


def stand_in(real: dict, name: str, extra: str = "") -> dict:
    """A notebook with the real one's parameters cell that writes the stage's outputs."""
    parameters = next(c for c in real["cells"] if "parameters" in c["metadata"].get("tags", []))
    params = [k for k in graph.declared_parameters(ROOT / "notebooks" / f"{name}.ipynb")
              if k not in graph.RUNNER_PARAMETERS]
    code = tuple("".join(c["source"]) for c in real["cells"] if c["cell_type"] == "code")
    cell = {"cell_type": "code", "execution_count": None, "id": "work", "metadata": {},
            "outputs": [], "source": stand_in_code(name, params, extra, code=code)}
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
    for name in stages.notebooks():
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
    """The stages from `names` on: them and every stage that reads what they write."""
    found = set(names)
    while True:
        more = {s for s in stages.STAGES if found & set(stages.upstream(s))}
        if more <= found:
            return found
        found |= more


TRAINING = {name for name, s in stages.STAGES.items() if s.training}


def edit(root, module: str) -> None:
    with open(root / "src" / "digit_recognizer" / f"{module}.py", "a") as source:
        source.write("\n# an edit\n")


def module_users(root, module: str) -> set[str]:
    return {name for name, entry in yaml.safe_load((root / "dvc.yaml").read_text())[
        "stages"].items() if f"src/digit_recognizer/{module}.py" in entry["deps"]}


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


def stale(root, env) -> set[str]:
    """The stages that `dvc repro` would run now for their own sake (DVC's status)."""
    result = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=root,
                            capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    return set(json.loads(result.stdout or "{}"))


# What each edit makes out of date (a stage then reruns, and so does every stage that reads
# what changed in its outputs). A notebook that trains reruns for any edit of its code, its
# figures' included: the training memo (tests/test_pipeline.py) keeps it from training again
# what did not change. Choosing (08) is nobody else's dependency.
@pytest.mark.parametrize("module, expected", [
    ("presentation/plots", {"02_eda", "03_preprocess", "04_base_cnn", "05_batchnorm",
                            "06_augmentation", "07_ensemble", "08_submit", "10_experiments"}),
    ("presentation/report", set(stages.notebooks())),
    ("presentation/tables", {"04_base_cnn", "07_ensemble", "08_submit"}),
    ("learning/train", TRAINING),
    ("learning/memo", TRAINING),
    # The members' augmentation when the model they train has none of its own (06 defines
    # its augmentation on the page, and hands it on).
    ("learning/augment", {"07_ensemble", "10_experiments"}),
    ("learning/choice", {"08_submit"}),
])
def test_an_edit_makes_out_of_date_exactly_what_it_can_change(project, module, expected):
    root, env = project
    edit(root, module)
    assert stale(root, env) == expected == module_users(root, module)


def test_the_command_line_and_keras_verbosity_are_no_dependency(project):
    root, env = project
    assert not module_users(root, "cli") and not module_users(root, "pipeline/run")
    edit(root, "cli")
    edit(root, "pipeline/run")
    assert ran(run_pipeline(root, *FAST, "--verbose", env=env)) == set()


@pytest.mark.parametrize("parameter, value, expected", [
    ("folds", "2", {"07_ensemble"}),
    ("images", "'x.png'", {"09_own_handwriting"}),
    ("05_batchnorm.epochs", "3", {"05_batchnorm"}),  # one notebook's
    ("epochs", "3", TRAINING),  # every model's
    ("profile", "'full'", TRAINING | {n for n in stages.notebooks()
                                      if "profile" in stages.STAGES[n].shared}),
])
def test_changed_parameter_reruns_the_stages_that_declare_it(project, parameter, value,
                                                             expected):
    root, env = project
    written = run_pipeline(root, *FAST, "-p", parameter, value, "--only", "01", env=env)
    assert ran(written) == set()  # params.yaml is written; 01_load does not use it
    assert stale(root, env) == expected


def test_where_members_train_is_no_parameter(project):
    root, env = project
    result = run_pipeline(root, *FAST, "--workers", "ray", "--only", "01", env=env)
    assert ran(result) == set()


def test_a_new_seed_reruns_the_split_on_and_switching_back_restores_it(project):
    root, env = project
    assert ran(run_pipeline(root, *FAST, "--seed", "7", "--only", "03", env=env)) == {
        "03_preprocess"}
    assert stale(root, env) == {s for s in stages.STAGES if "03_preprocess" in
                                stages.upstream(s) or "seed" in stages.STAGES[s].shared} - {
        "03_preprocess"}
    back = run_pipeline(root, *FAST, "--only", "03", env=env)
    assert ran(back) == set()
    assert stage_lines(back.stdout)["03_preprocess"] == "restored"
    assert "restored from DVC's run cache" in back.stdout
    assert stale(root, env) == set()


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


def test_a_stage_added_to_the_manifest_alone_runs(project):
    """A new stage is one entry of the manifest (and its notebook): dvc.yaml, params.yaml and
    the injected parameters follow from it."""
    root, env = project
    toy = stages.Stage("11_toy", reads=(stages.OUT.split,), writes=(Path("outputs/toy.json"),),
                       params={"size": stages.Param(3)}, shared=("seed",))
    manifest = {**stages.STAGES, toy.name: toy}
    notebook = {**json.loads((ROOT / "notebooks" / "02_eda.ipynb").read_text()), "cells": [
        {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {
            "tags": ["parameters"]}, "outputs": [], "source": "size = 3\nseed = 42\n"
                                                               "output_dir = '../outputs'"},
        {"cell_type": "code", "execution_count": None, "id": "w", "metadata": {}, "outputs": [],
         "source": "import json, pathlib\npathlib.Path(output_dir, 'toy.json').write_text("
                   "json.dumps({'size': size, 'seed': seed}))"}]}
    (root / "notebooks" / "11_toy.ipynb").write_text(json.dumps(notebook, indent=1))
    dvc = yaml.safe_load(graph.render_dvc_yaml(root, manifest))["stages"]["11_toy"]
    assert dvc["deps"][-1] == "outputs/preprocess/split.npz" and dvc["params"] == ["11_toy"]
    with open(root / "dvc.yaml", "a") as graph_file:
        graph_file.write(yaml.safe_dump({"stages": {"11_toy": dvc}})[len("stages:\n"):])
    sections = yaml.safe_load((root / "params.yaml").read_text())
    sections["11_toy"] = graph.stage_section(toy, {**graph.run_defaults(), "size": 5})
    (root / "params.yaml").write_text(yaml.safe_dump(sections))
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run([sys.executable, "-m", "dvc", "repro", "11_toy"], cwd=root,
                            capture_output=True, text=True,
                            env={**os.environ, **env, "PATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((root / "outputs" / "toy.json").read_text()) == {"size": 5, "seed": 42}
    assert (root / "outputs" / "notebooks" / "11_toy.ipynb").is_file()


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
    result = run_pipeline(root, *FAST, "--only", "01", env=env)
    assert ran(result) == {"01_load"}
    assert stale(root, env) == {"02_eda", "03_preprocess", "08_submit"}  # and what follows
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


def test_force_reruns_a_stage_and_what_it_needs(project):
    root, env = project
    assert ran(run_pipeline(root, *FAST, "--force", "--only", "03", env=env)) == {
        "01_load", "03_preprocess"}


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
    assert "folds" in result.stderr and "Traceback" not in result.stderr


def test_dead_kernel_is_reported_like_a_failed_cell(project):
    root, env = project
    write_stand_in(root, "02_eda", extra="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    result = run_pipeline(root, *FAST, env=env)
    assert result.returncode == 1
    assert "notebook 02_eda.ipynb stopped: its kernel died" in result.stderr
    assert (root / "outputs" / "notebooks" / "02_eda.FAILED.ipynb").is_file()
    assert not (root / "outputs" / "notebooks" / "02_eda.ipynb").exists()
    assert "Traceback" not in result.stderr
    write_stand_in(root, "02_eda")
    assert run_pipeline(root, *FAST, "--only", "02", env=env).returncode == 0
    assert not (root / "outputs" / "notebooks" / "02_eda.FAILED.ipynb").exists(), \
        "the failed copy of an earlier run is gone once the notebook ran"


def test_sigterm_keeps_no_partial_output_and_the_rerun_resumes_there(project):
    root, env = project
    write_stand_in(root, "04_base_cnn", extra="import time\ntime.sleep(60)")
    process = subprocess.Popen(
        [sys.executable, "-m", "digit_recognizer.pipeline.run", *FAST, "--seed", "5", "--only",
         "04"], cwd=root,
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
    assert not [p for p in outputs.rglob("*") if ".partial-" in p.name]

    write_stand_in(root, "04_base_cnn")
    again = run_pipeline(root, *FAST, "--seed", "5", "--only", "04", env=env)
    said = stage_lines(again.stdout)
    assert ran(again) >= {"04_base_cnn"}
    assert "03_preprocess" not in ran(again) and said["03_preprocess"] == "unchanged"


def test_committed_graph_is_derived_from_the_manifest_and_params_are_the_runs():
    assert (ROOT / "dvc.yaml").read_text() == graph.render_dvc_yaml(ROOT), \
        "dvc.yaml is stale: run python -m digit_recognizer.pipeline.graph"
    tracked = subprocess.run(["git", "ls-files", "params.yaml", "dvc.lock"], cwd=ROOT,
                             capture_output=True, text=True).stdout
    assert tracked == "", "params.yaml and dvc.lock are a run's, never committed"


def test_candidates_of_the_choice_are_the_run_models():
    assert set(stages.STAGES["08_submit"].candidates) == set(recipes.MODELS) | set(
        recipes.ENSEMBLES)


def test_metrics_and_plots_are_declared_for_dvc():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert "outputs/metrics/dense.json" in dvc["04_base_cnn"]["metrics"]
    assert {"outputs/histories/dense.json": {"x": "epoch", "y": "val_accuracy"}} in \
        dvc["04_base_cnn"]["plots"]
    assert dvc["08_submit"]["metrics"] == ["outputs/summary.json"]


def test_a_refused_submission_fails_the_run_with_the_submit_status(project):
    root, env = project
    result = run_pipeline(root, *FAST, "--submit", env=env)  # the stand-in's file is no CSV
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "nothing was submitted" in result.stderr and "Traceback" not in result.stderr


def committed(root: Path, env: dict) -> dict:
    """`root` as a git checkout on its branch `main`: the project committed, the last run's
    params.yaml and dvc.lock not. Returns the environment for git and the runs."""
    (root / ".gitignore").write_text("/outputs/*\n")
    (root / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    git = {**os.environ, **env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["rm", "-q", "--cached", "params.yaml", "dvc.lock"],
                    ["commit", "-qm", "project"]):
        subprocess.run(["git", *command], cwd=root, check=True, env=git)
    return git


def git_state(root: Path) -> tuple[str, str, str]:
    """The branch checked out, what is staged, and `git status`."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout
    return git("symbolic-ref", "-q", "HEAD"), git("diff", "--cached", "--name-status"), \
        git("status", "--porcelain")


@pytest.mark.parametrize("how", ["sigterm", "failed stage"])
def test_an_interrupted_run_leaves_the_checkout_as_it_found_it(project, how):
    """`dvc exp run` detaches HEAD and stages dvc.lock and params.yaml while it runs; stopped
    or failed, the run puts the branch and the index back, and keeps the completed stages."""
    root, env = project
    write_stand_in(root, "04_base_cnn", extra="import time\ntime.sleep(60)" if how == "sigterm"
                   else "raise RuntimeError('broken on purpose')")
    git = committed(root, env)
    found = git_state(root)
    assert found == ("refs/heads/main\n", "", "?? dvc.lock\n?? params.yaml\n")
    args = [*FAST, "--seed", "5", "--only", "04"]  # another seed: 01 and 03 run first
    if how == "sigterm":
        process = subprocess.Popen(
            [sys.executable, "-m", "digit_recognizer.pipeline.run", *args], cwd=root,
            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=git)
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("--> 04_base_cnn: running"):
                break
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=120)
        assert process.returncode == 130, "".join(seen) + rest
        assert "Traceback" not in rest, rest
    else:
        result = run_pipeline(root, *args, env=git)
        assert result.returncode == 1 and "broken on purpose" in result.stderr, \
            result.stdout[-2000:] + result.stderr[-2000:]
    assert git_state(root) == found
    write_stand_in(root, "04_base_cnn")
    again = run_pipeline(root, *args, env=git)
    assert ran(again) == {"04_base_cnn"}, "the completed stages are kept"
    assert stage_lines(again.stdout)["03_preprocess"] == "unchanged"
    assert git_state(root) == (found[0], "", " M notebooks/04_base_cnn.ipynb\n" + found[2])


def test_in_a_git_checkout_every_run_is_an_experiment_that_dvc_compares(project):
    root, env = project
    git = committed(root, env)
    # Two runs with another parameter (recorded; --only keeps them short: it is the record
    # that is tested, the stages' reruns are tested above).
    first = run_pipeline(root, *FAST, "-p", "images", "'a.png'", "--only", "01", env=git)
    second = run_pipeline(root, *FAST, "-p", "images", "'b.png'", "--only", "01", env=git)
    assert "recorded as the DVC experiment" in second.stdout, \
        first.stdout[-2000:] + first.stderr[-2000:]
    assert "commit nothing in this checkout until the run ends" in second.stdout
    shown = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=root,
                           capture_output=True, text=True, env=git)
    assert shown.returncode == 0, shown.stderr
    runs = [e for rev in json.loads(shown.stdout) for e in (rev.get("experiments") or [])]
    names = {e["name"] for e in runs}
    assert len(names) == 2 and all(n.startswith("run-") for n in names), names
    for run in runs:
        data = run["revs"][0]["data"]
        assert "outputs/summary.json" in data["metrics"]
        assert data["params"]["params.yaml"]["data"]["09_own_handwriting"]["images"] in (
            "a.png", "b.png")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                            text=True).stdout.split("\n")
    assert {line for line in status if line} == {"?? dvc.lock", "?? params.yaml"}
