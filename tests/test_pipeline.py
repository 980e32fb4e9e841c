"""End to end: the real notebooks on a slice of the embedded sample, as ./run_all.sh runs them
(in a copy of the project, so the checkout's outputs/ are never touched)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest
import requests
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
    assert set(board["model"]) >= {"dense", "augmentation", "kfold_ensemble"}
    assert board["source"].eq("sample").all() and board["local_score"].notna().all()
    assert "local score:" in result.stdout and "submission:" in result.stdout
    assert "kernel s" in result.stdout  # the per-notebook time split
    assert stage_lines(result.stdout) == dict.fromkeys(stages.STAGES, "running")


def test_best_keras_and_the_submission_come_from_the_same_predictor(tiny_run):
    import keras

    from digit_recognizer.datasets import preprocess
    from digit_recognizer.layout import Outputs

    project, _ = tiny_run
    out = Outputs(project / "outputs")
    summary = json.loads(out.summary.read_text())
    chosen = summary["model"]
    assert out.best_model.read_bytes() == out.model(chosen).read_bytes()
    assert out.submission.read_bytes() == out.model_submission(chosen).read_bytes()
    assert summary["best_model"] == "outputs/models/best.keras" and summary["choice"]
    model = keras.saving.load_model(out.best_model, compile=False)
    labels = model.predict(preprocess.load_split(out.split).x_test, verbose=0).argmax(axis=1)
    assert pd.read_csv(out.submission)["Label"].tolist() == labels.tolist()


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
    """The trainings of 04-06 again (--force: with the data and the split they need, and 04,
    whose double_cnn 05 is measured against; the training memo emptied, so they train) with
    the same seed, a planted Kaggle key in a file and in the environment, and a dry-run
    submission: identical predictions, and the key in no output. (The augmentation network
    draws random transforms: the hardest of the models to keep deterministic.)"""
    project = shutil.copytree(tiny_run[0], tmp_path / "copy", symlinks=True)
    out = project / "outputs"
    shutil.rmtree(out / "training-memo")
    names = ("submission.csv", "submissions/dense.csv", "submissions/batchnorm.csv",
             "submissions/augmentation.csv")
    before = {name: (out / name).read_bytes() for name in names}
    kaggle_dir = tmp_path / "kaggle"
    kaggle_dir.mkdir()
    (kaggle_dir / "kaggle.json").write_text(
        json.dumps({"username": "planted", "key": FAKE_KEY}))
    (kaggle_dir / "kaggle.json").chmod(0o600)
    result = run_pipeline(project, *ARGS, "--only", "06", "--force",
                          "--submit", "--dry-run", env={
        "KAGGLE_CONFIG_DIR": str(kaggle_dir), "KAGGLE_USERNAME": "planted",
        "KAGGLE_KEY": FAKE_KEY, "FAKE_KAGGLE_ROWS": "400,150",
    })
    assert result.returncode == 0, result.stderr[-3000:]
    assert stage_lines(result.stdout) == dict.fromkeys(
        ("01_load", "03_preprocess", "04_base_cnn", "05_batchnorm", "06_augmentation"),
        "running")
    assert "augmentation: epoch 1/1" in result.stdout and "not trained again" not in \
        result.stdout
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
    from digit_recognizer.pipeline import sources, summary

    outputs = Outputs(tmp_path / "project" / "outputs")
    outputs.submission.parent.mkdir(parents=True)
    outputs.submission.write_text("ImageId,Label\n1,7\n")
    monkeypatch.setattr(sources, "KAGGLE_WORKING", tmp_path / "no-kaggle-here")
    summary.copy_to_kaggle_working(outputs)
    assert capsys.readouterr().out == ""
    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    monkeypatch.setattr(sources, "KAGGLE_WORKING", working)
    summary.copy_to_kaggle_working(outputs)
    assert (working / "submission.csv").read_text() == "ImageId,Label\n1,7\n"
    assert "copied to" in capsys.readouterr().out


def _executed(project, name: str) -> dict:
    return json.loads((project / "outputs" / "notebooks" / f"{name}.ipynb").read_text())


def _cell_text(cell: dict) -> str:
    return "\n".join(text for _, text in notebook_texts({"metadata": {}, "cells": [cell]}))


def test_every_notebook_that_trains_builds_compiles_and_fits_on_the_page(tiny_run):
    """The network as Keras code, its compile call and its training in the notebook's own
    cells; a line per epoch and the network's summary in its outputs."""
    project, _ = tiny_run
    for name, stage in stages.STAGES.items():
        if not stage.training:
            continue
        notebook = _executed(project, name)
        code = "\n".join("".join(c["source"]) for c in notebook["cells"]
                         if c["cell_type"] == "code")
        shown = "\n".join(text for _, text in notebook_texts(notebook))
        trained = [m for m in stage.models if m in recipes.MODELS]
        if trained:
            assert code.count("keras.Sequential") >= len(trained), name
            assert "model.compile(" in code and "memo.fit(" in code, name
            for model in trained:
                assert f"{model}: epoch 1/1" in shown, (name, model)
        else:  # members: launched from the notebook, a line per member
            assert "executors.run_members(" in code and "[1/" in shown, name
        assert "Total params" in shown, f"{name}: the network's summary"
        assert "Adam with" in shown, f"{name}: the optimiser and its schedule"
        [parameters] = [c for c in notebook["cells"]
                        if "parameters" in c["metadata"].get("tags", [])]
        assert "".join(parameters["source"]).startswith("# This run's values"), name
        assert not [c for c in notebook["cells"]
                    if "injected-parameters" in c["metadata"].get("tags", [])], name


MODELS_OF_04 = ("dense", "simple_cnn", "double_cnn")


def _copy(tiny_run, tmp_path):
    """A copy of the tiny run's project whose own package sources run (not the installed
    ones), so that an edit of them is an edit of the code that runs."""
    project = shutil.copytree(tiny_run[0], tmp_path / "copy", symlinks=True)
    return project, {"PYTHONPATH": str(project / "src")}


def _models(project) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (project / "outputs" / "models").glob("*.keras")}


def _trained(stdout: str) -> set[str]:
    """The models and members that trained (not loaded) in a run, by its progress lines."""
    return set(re.findall(r"^    (\w+): trained in ", stdout, re.M)) | set(
        re.findall(r"^    (\w+): epoch 1/", stdout, re.M))


def test_a_figure_or_table_edit_reruns_the_notebooks_and_trains_nothing(tiny_run, tmp_path):
    project, env = _copy(tiny_run, tmp_path)
    before = _models(project)
    for module in ("presentation/plots", "presentation/tables"):
        with open(project / "src" / "digit_recognizer" / f"{module}.py", "a") as source:
            source.write("\n# how a figure or a table looks\n")
    result = run_pipeline(project, *ARGS, "--only", "04", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert stage_lines(result.stdout)["04_base_cnn"] == "running"
    assert _trained(result.stdout) == set()
    assert result.stdout.count("not trained again") == 3
    assert _models(project) == before  # byte for byte: the memo's files


def test_a_network_cell_and_an_epoch_count_retrain_exactly_their_models(tiny_run, tmp_path):
    project, env = _copy(tiny_run, tmp_path)
    before = _models(project)
    path = project / "notebooks" / "04_base_cnn.ipynb"
    notebook = json.loads(path.read_text())
    [cell] = [c for c in notebook["cells"] if 'name="dense"' in "".join(c["source"])]
    cell["source"] = "".join(cell["source"]).replace("Dense(400", "Dense(300")
    path.write_text(json.dumps(notebook, indent=1))
    result = run_pipeline(project, *ARGS, "--only", "04,05", "-p", "05_batchnorm.epochs", "2",
                          env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _trained(result.stdout) == {"dense", "batchnorm"}
    assert "batchnorm: epoch 2/2" in result.stdout
    after = _models(project)
    assert [m for m in MODELS_OF_04 if after[m] != before[m]] == ["dense"]
    metrics = json.loads((project / "outputs" / "metrics" / "dense.json").read_text())
    assert metrics["parameters"] == 784 * 300 + 300 + 300 * 10 + 10
    executed = _executed(project, "05_batchnorm")
    [parameters] = [c for c in executed["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert "epochs = 2" in "".join(parameters["source"])


def test_a_training_code_edit_retrains_what_it_trains(tiny_run, tmp_path):
    project, env = _copy(tiny_run, tmp_path)
    with open(project / "src" / "digit_recognizer" / "learning" / "train.py", "a") as source:
        source.write("\n# a change of how batches are made\n")
    result = run_pipeline(project, *ARGS, "--only", "04", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _trained(result.stdout) == set(MODELS_OF_04)


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


# --------------------------------------------------------------------------- JupyterLab

LAB_TOKEN = "digit-recognizer-test"


def _git(project, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=project, check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def jupyter_lab(project, tmp_path):
    """`jupyter lab notebooks/` in `project` on a free port of 127.0.0.1, as a learner starts it
    (this environment's configuration, no user's); yields the server's URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The kernel must get TensorFlow's log level from its kernel.json, not from this process.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update({f"JUPYTER_{what}_DIR": str(tmp_path / "jupyter" / what.lower())
                for what in ("CONFIG", "DATA", "RUNTIME")})
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "lab.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={LAB_TOKEN}",
             "--ServerApp.allow_root=True", "notebooks/"],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/api/status", params={"token": LAB_TOKEN},
                                timeout=5).ok:
                    break
            assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def run_cells(url: str, kernel_id: str, sources: list[str]) -> tuple[dict, list]:
    """Run `sources` one after another on the kernel over its websocket, as JupyterLab does;
    the kernel's language_info and each source's (execution count, outputs)."""
    from jupyter_client.jsonutil import json_default
    from jupyter_client.session import Session
    from tornado.websocket import websocket_connect

    session = Session(username="learner")
    ws = await websocket_connect(
        f"{url.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels?token={LAB_TOKEN}")

    async def request(msg_type: str, content: dict) -> tuple[dict, list]:
        msg = session.msg(msg_type, content)
        await ws.write_message(json.dumps({**msg, "channel": "shell"}, default=json_default))
        reply, outputs, idle = None, [], False
        while reply is None or not idle:
            answer = json.loads(await asyncio.wait_for(ws.read_message(), timeout=600))
            if answer["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            kind = answer["msg_type"]
            if answer["channel"] == "shell":
                reply = answer["content"]
            elif kind == "status":
                idle = answer["content"]["execution_state"] == "idle"
            elif kind == "clear_output":
                outputs.clear()
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(answer))
        return reply, outputs

    info, _ = await request("kernel_info_request", {})
    executed = []
    for source in sources:
        reply, outputs = await request("execute_request", {
            "code": source, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        assert reply["status"] == "ok", outputs
        executed.append((reply["execution_count"], outputs))
    ws.close()
    return info["language_info"], executed


def test_a_network_changed_in_jupyterlab_trains_there_and_changes_nothing_tracked(
        tiny_run, tmp_path):
    """05_batchnorm opened in JupyterLab, its last convolution narrowed in the network's cell
    and its epochs changed in the parameters cell, run in the project's kernel, saved with its
    outputs: it trains the changed network (a line per epoch, the new weight count), writes
    under outputs/interactive/, and leaves the pipeline's products as they were. The saved
    notebook differs from the committed one by the learner's two edits only (no outputs, no
    metadata); with the edits undone and saved again, git sees no change. No cell shows the
    libraries' stderr."""
    project = shutil.copytree(tiny_run[0], tmp_path / "copy", symlinks=True)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the project"]):
        _git(project, *args)
    setup = subprocess.run([sys.executable, "-m", "digit_recognizer.pipeline.notebook_setup"],
                           cwd=project, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    out = project / "outputs"
    # Rewritten with the same bytes is still written: the time is compared too.
    products = ("submission.csv", "models/best.keras", "models/batchnorm.keras",
                "metrics/batchnorm.json", "leaderboard.csv", "summary.json")

    def state(name: str) -> tuple[bytes, int]:
        return (out / name).read_bytes(), (out / name).stat().st_mtime_ns

    before = {name: state(name) for name in products}
    committed = (project / "notebooks" / "05_batchnorm.ipynb").read_bytes()
    pipeline_weights = json.loads(state("metrics/batchnorm.json")[0])["parameters"]

    with jupyter_lab(project, tmp_path) as url:
        api, auth = f"{url}/api", {"Authorization": f"token {LAB_TOKEN}"}
        model = requests.get(f"{api}/contents/05_batchnorm.ipynb", headers=auth, timeout=30)
        model.raise_for_status()
        notebook = model.json()["content"]
        started = requests.post(f"{api}/sessions", headers=auth, timeout=60, json={
            "path": "05_batchnorm.ipynb", "type": "notebook", "name": "05_batchnorm.ipynb",
            "kernel": {"name": "digit-recognizer"}})
        started.raise_for_status()
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        original = [c["source"] for c in code]
        for cell in code:  # the learner's edits
            cell["source"] = cell["source"].replace("epochs = 6", "epochs = 2").replace(
                "*conv_bn(128)", "*conv_bn(96)")
        sources = [c["source"] for c in code]
        assert "epochs = 2" in sources[0] and any("conv_bn(96)" in s for s in sources)
        language_info, executed = asyncio.run(
            run_cells(url, started.json()["kernel"]["id"], sources))
        for cell, (count, outputs) in zip(code, executed, strict=True):
            cell["execution_count"], cell["outputs"] = count, outputs
        notebook["metadata"]["language_info"] = language_info  # as JupyterLab saves it

        def save() -> None:
            saved = requests.put(f"{api}/contents/05_batchnorm.ipynb", headers=auth,
                                 timeout=60, json={"type": "notebook", "format": "json",
                                                   "content": notebook})
            saved.raise_for_status()

        save()
        edited = json.loads((project / "notebooks" / "05_batchnorm.ipynb").read_text())
        expected = json.loads(committed)
        for cell in expected["cells"]:
            cell["source"] = "".join(cell["source"]).replace("epochs = 6", "epochs = 2").replace(
                "*conv_bn(128)", "*conv_bn(96)")
        for cell in edited["cells"]:
            cell["source"] = "".join(cell["source"])
        assert edited == expected
        for cell, source in zip(code, original, strict=True):  # the edits undone
            cell["source"] = source
        save()
        requests.delete(f"{api}/sessions/{started.json()['id']}", headers=auth, timeout=60)

    outputs = [o for _, cell_outputs in executed for o in cell_outputs]
    streams = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "batchnorm: epoch 1/2" in streams and "batchnorm: epoch 2/2" in streams
    assert any(o["output_type"] == "display_data" for o in outputs)  # saved with its figures
    assert [o["text"] for o in outputs if o.get("name") == "stderr"] == []
    mine = json.loads((out / "interactive" / "05_batchnorm" / "metrics" / "batchnorm.json")
                      .read_text())
    assert mine["epochs"] == 2 and mine["parameters"] < pipeline_weights
    assert f"{mine['parameters']:,}" in json.dumps(outputs)  # the summary's weight count
    assert (project / "notebooks" / "05_batchnorm.ipynb").read_bytes() == committed
    assert _git(project, "status", "--porcelain") == ""
    assert {name: state(name) for name in products} == before
