"""`digit-recognizer kaggle-run`: the real kaggle client against a fake Kaggle that keeps
datasets and notebooks, and (end to end) runs the pushed notebook in a folder laid out like
/kaggle, on the CPU, on a tiny slice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SUPPORT, make_project
from fake_kaggle import HANG, FakeKaggle, submission_csv
from kaggle_fixtures import (  # noqa: F401 - the cli fixture
    SAMPLE_TEST,
    SAMPLE_TRAIN,
    SECRET_FORMS,
    USERNAME,
    cli_fixture,
    files_containing,
    sample_competition_zip,
)

from digit_recognizer import leaderboard
from digit_recognizer.kaggle import bundle

KERNEL = f"{USERNAME}/{bundle.KERNEL_SLUG}"
DATASET = f"{USERNAME}/{bundle.CODE_DATASET_SLUG}"
N_TRAIN, N_TEST = SAMPLE_TRAIN, SAMPLE_TEST
RUN_FOLDER = Path("outputs") / "kaggle-runs" / f"{bundle.KERNEL_SLUG}-v1"


def git_commit(project: Path) -> Path:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the project"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                        *args], cwd=project, check=True, capture_output=True)
    return project


@pytest.fixture(name="fake")
def fake_fixture(tmp_path):
    server = FakeKaggle(username=USERNAME, key=SECRET_FORMS[0],
                        zip_bytes=sample_competition_zip(tmp_path))
    with server:
        yield server
    assert not server.unexpected, f"requests the fake does not implement: {server.unexpected}"


@pytest.fixture(name="project")
def small_project(tmp_path):
    """A committed folder that passes for the project root (the scripted runs never run it)."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "dvc.yaml").write_text("stages: {}\n")
    (project / "notebooks" / "README.md").write_text("the notebooks\n")
    return git_commit(project)


def kaggle_run(cli, project: Path, *args: str, timeout: float = 120, **env):
    cli.work = project
    return cli("kaggle-run", *args, timeout=timeout, FAKE_KAGGLE_ROWS=f"{N_TRAIN},{N_TEST}",
               **env)


def finished_run(run_id: str = "20261129-120000") -> dict[str, bytes]:
    """What a finished remote run leaves in /kaggle/working (as the kernel's notebook copies
    it)."""
    summary = {"run_id": run_id, "model": "batchnorm", "val_accuracy": 0.99, "profile": "gpu",
               "source": "kaggle", "seed": 42, "submission": "outputs/submission.csv",
               "local_score": None,
               "rows": [{"model": "batchnorm", "val_accuracy": 0.99, "local_score": None,
                         "train_seconds": 12.0}]}
    log = ("==> run ...\nstage                  wall s  kernel s  imports s  work s\n"
           "08_submit                 7.0       2.0        3.0     2.0\n"
           "total                     7.0\n\nexecuted notebooks: outputs/notebooks\n")
    return {"submission.csv": submission_csv(N_TEST, 7),
            "summary.json": json.dumps(summary).encode(),
            bundle.RUN_LOG: log.encode(),
            bundle.RUN_RECORD: json.dumps({"device": "Tesla T4", "exit_status": 0}).encode(),
            "notebooks/08_submit.ipynb": b"{}"}


def test_a_finished_run_is_downloaded_recorded_and_submitted_once(cli, fake, project):
    fake.kernels.outcome = ("COMPLETE", finished_run(), "the run's log\n")
    result = kaggle_run(cli, project, "--profile", "gpu", "-p", "epochs", "2", "--submit")
    assert result.returncode == 0, result.stdout + result.stderr
    rpcs = fake.rpcs()
    assert [rpcs.count(r) for r in ("CreateDataset", "SaveKernel", "CreateSubmission")] == \
        [1, 1, 1]
    pushed = fake.kernels.versions[KERNEL][0].request
    assert pushed["competitionDataSources"] == ["digit-recognizer"]
    assert pushed["datasetDataSources"] == [DATASET]
    assert (pushed["machineShape"], pushed["enableGpu"], pushed["isPrivate"]) == \
        ("NvidiaTeslaT4", True, True)
    code = json.loads(pushed["text"])["cells"][1]["source"]
    assert "RUN_ARGS = ['--profile', 'gpu', '-p', 'epochs', '2']" in code  # not --submit
    assert list(fake.datasets[DATASET][0]) == [bundle.ARCHIVE]
    folder = project / RUN_FOLDER
    assert (folder / "submission.csv").read_bytes() == submission_csv(N_TEST, 7)
    assert (folder / "notebooks" / "08_submit.ipynb").is_file()
    assert "08_submit                 7.0" in result.stdout  # the remote run's time table
    assert "trained on:         kaggle tester/digit-recognizer-run v1 (Tesla T4)" in result.stdout
    board = leaderboard.load(project / "outputs" / "leaderboard.csv")
    assert board["trained_on"].eq("kaggle tester/digit-recognizer-run v1 (Tesla T4)").all()
    sent = board[board["kaggle_status"] != ""]
    assert sent[["model", "kaggle_status", "run_id"]].values.tolist() == \
        [["batchnorm", "complete", "20261129-120000"]]
    assert board[board["kaggle_status"] == ""]["model"].tolist() == ["batchnorm"]


def test_a_second_run_is_a_new_version_followed_past_the_previous_ones_status(cli, fake,
                                                                            project):
    fake.kernels.outcome = ("COMPLETE", finished_run("first"), "")
    assert kaggle_run(cli, project).returncode == 0
    fake.kernels.outcome = ("COMPLETE", finished_run("second"), "")
    fake.kernels.stale_polls = 3  # Kaggle still answers with the first run's COMPLETE
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.rpcs().count("CreateDatasetVersion") == 1 and len(fake.datasets[DATASET]) == 2
    assert "version 2" in result.stdout
    second = project / RUN_FOLDER.with_name(f"{bundle.KERNEL_SLUG}-v2") / "summary.json"
    assert json.loads(second.read_text())["run_id"] == "second"


def test_a_run_that_ends_in_error_shows_why_and_submits_nothing(cli, fake, project):
    fake.kernels.outcome = ("ERROR", "SystemExit: ./run_all.sh failed with exit status 1",
                            "==> run 1\n--> 03_preprocess: running\nerror: val_fraction must "
                            "be between 0 and 1\n")
    result = kaggle_run(cli, project, "--submit")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ended in ERROR on Kaggle: SystemExit: ./run_all.sh failed" in result.stderr
    assert "    error: val_fraction must be between 0 and 1" in result.stderr  # the log's tail
    assert "CreateSubmission" not in fake.rpcs()
    assert (project / RUN_FOLDER / "kernel.log").is_file()


@pytest.mark.parametrize("script, request_name", [
    ("fail", "GetKernelSessionStatus"),  # a status request that times out: asked again
    ("fail_after", "SaveKernel"),  # a push that times out after Kaggle took it: not pushed again
])
def test_a_request_that_times_out_is_retried_and_the_run_pushed_once(cli, fake, project,
                                                                     script, request_name):
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    getattr(fake, script)[request_name] = [HANG]
    result = kaggle_run(cli, project, DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.rpcs().count("SaveKernel") == 1 and len(fake.kernels.versions[KERNEL]) == 1
    assert "version 1" in result.stdout
    assert (project / RUN_FOLDER / "submission.csv").is_file()


def test_a_push_kaggle_did_not_take_is_tried_again_and_at_most_four_times(cli, fake, project):
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    fake.fail["SaveKernel"] = [503]
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.rpcs().count("SaveKernel") == 2 and len(fake.kernels.versions[KERNEL]) == 1
    fake.fail["SaveKernel"] = [503] * 4
    result = kaggle_run(cli, project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not push the notebook: Kaggle answered HTTP 503" in result.stderr
    assert len(fake.kernels.versions[KERNEL]) == 1


def test_a_429_on_an_output_file_is_retried_and_every_file_arrives(cli, fake, project):
    files = finished_run()
    fake.kernels.outcome = ("COMPLETE", files, "")
    fake.fail["GET"] = [429, 429]
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, data in files.items():
        assert (project / RUN_FOLDER / name).read_bytes() == data, name
    assert not (project / RUN_FOLDER).with_name(RUN_FOLDER.name + ".partial").exists()


def test_output_is_listed_page_by_page(cli, fake, project, monkeypatch):
    files = {f"notebooks/{i:02d}.html": b"x" * i for i in range(1, 60)}  # two pages of 50
    fake.kernels.outcome = ("COMPLETE", {**finished_run(), **files}, "")
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(1 for p in (project / RUN_FOLDER / "notebooks").iterdir()) == 60
    assert fake.rpcs().count("ListKernelSessionOutput") >= 2


@pytest.mark.parametrize("case, args, env, said", [
    ("quota", (), {}, "weekly GPU quota"),
    ("no credentials", (), {"KAGGLE_USERNAME": None, "KAGGLE_KEY": None},
     "no Kaggle credentials found"),
    ("another's dataset", ("--dataset", "someone/their-code"), {},
     "--dataset someone/their-code belongs to another account"),
    ("a deleted notebook", ("--follow", KERNEL), {}, f"Kaggle has no notebook {KERNEL}"),
    ("a local option", ("--workers", "ray"), {}, "--workers means nothing on Kaggle"),
    ("a wrong run option", ("--profile", "huge"), {}, "invalid choice: 'huge'"),
])
def test_refusals_are_one_line_exit_2_and_start_nothing(cli, fake, project, case, args, env,
                                                        said):
    if case == "quota":
        fake.kernels.refuse_push = "You have exceeded your weekly GPU quota"
    result = kaggle_run(cli, project, *args, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert not fake.kernels.versions


# ------------------------------------------------------------- Kaggle's answers as they are


def test_a_first_run_goes_through_kaggles_403s_for_what_is_absent_or_new(cli, fake, project):
    """Kaggle answers 403 for a dataset or notebook that does not exist, and for a new one
    for a while: a new user's first run creates, waits, pushes once and follows."""
    fake.absent_status = 403
    fake.hidden_lookups = {"dataset": 3, "kernel": 3}
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    rpcs = fake.rpcs()
    assert [rpcs.count(r) for r in ("CreateDataset", "CreateDatasetVersion", "SaveKernel")] == \
        [1, 0, 1]
    assert "the code dataset is being processed (not visible yet)" in result.stdout
    assert "Kaggle does not show the run yet (HTTP 403), waiting" in result.stdout
    assert (project / RUN_FOLDER / "submission.csv").is_file()
    # The next run's first lookup of the dataset is denied too: the create that follows is
    # answered "already in use", and a new version is made instead.
    fake.hidden[f"dataset:{DATASET}"] = 1
    result = kaggle_run(cli, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "code dataset tester/digit-recognizer-code: new version" in result.stdout
    assert len(fake.datasets[DATASET]) == 2 and len(fake.kernels.versions[KERNEL]) == 2


@pytest.mark.parametrize("hidden, code", [(3, 0), (10 ** 6, 3)])
def test_a_lost_push_answer_for_a_notebook_kaggle_does_not_show_is_never_pushed_again(
        cli, fake, project, hidden, code):
    """The push reached Kaggle but its answer was lost, and Kaggle answers 403 for the new
    notebook: wait for it to show (bounded), and never push a second time."""
    fake.absent_status = 403
    fake.hidden_lookups = {"kernel": hidden}
    fake.fail_after["SaveKernel"] = [500]
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    result = kaggle_run(cli, project)
    assert result.returncode == code, result.stdout + result.stderr
    assert fake.rpcs().count("SaveKernel") == 1 and len(fake.kernels.versions[KERNEL]) == 1
    assert "waiting for Kaggle to show" in result.stdout
    if code == 0:
        assert "version 1" in result.stdout
    else:
        assert "it was not pushed again" in result.stderr
        assert f"resume with digit-recognizer kaggle-run --follow {KERNEL}" in result.stderr


def test_a_run_kaggle_never_shows_after_the_push_is_left_to_follow_not_pushed_again(
        cli, fake, project):
    fake.hidden_lookups = {"kernel": 10 ** 6}
    result = kaggle_run(cli, project, "--submit")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "still showed no run of" in result.stderr and "push a new run" not in result.stderr
    assert f"resume with digit-recognizer kaggle-run --follow {KERNEL} --submit" in \
        result.stderr
    assert fake.rpcs().count("SaveKernel") == 1


@pytest.mark.parametrize("kind, said", [
    ("dataset", f"could not attach its dataset source(s) {DATASET}"),
    ("competition", "accept the competition rules at"),
])
def test_a_push_kaggle_takes_without_a_source_stops_before_following(cli, fake, project, kind,
                                                                    said):
    fake.kernels.invalid_sources = kind
    result = kaggle_run(cli, project, "--submit")
    assert result.returncode == 1, result.stdout + result.stderr
    assert said in result.stderr and "cannot work and is not followed" in result.stderr
    rpcs = fake.rpcs()
    assert rpcs.count("SaveKernel") == 1 and "GetKernelSessionStatus" not in rpcs
    assert "CreateSubmission" not in rpcs


def test_a_failed_download_keeps_what_arrived_and_follow_fetches_only_the_rest(cli, fake,
                                                                             project):
    files = finished_run()
    fake.kernels.outcome = ("COMPLETE", files, "")
    fake.fail["GET"] = [None] + [500] * 4  # the second file fails on every try
    result = kaggle_run(cli, project, "--submit")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the run ended (COMPLETE) on Kaggle, but downloading its output failed" in \
        result.stderr
    assert "1 file(s) arrived and are kept" in result.stderr
    assert f"resume with digit-recognizer kaggle-run --follow {KERNEL} --submit" in \
        result.stderr
    kept = [p for p in (project / RUN_FOLDER).rglob("*") if p.is_file()]
    assert len(kept) == 1
    assert not list(RUN_FOLDER.parent.glob("*.partial")) and \
        not list((project / RUN_FOLDER.parent).glob("*.partial"))
    assert "CreateSubmission" not in fake.rpcs()
    first = len(fake.requests)
    result = kaggle_run(cli, project, "--follow", KERNEL, "--submit")
    assert result.returncode == 0, result.stdout + result.stderr
    fetched = [r.path for r in fake.requests[first:] if r.method == "GET"]
    assert len(fetched) == len(files) - 1 and f"/{kept[0].name}" not in \
        [path[-len(kept[0].name) - 1:] for path in fetched]
    for name, data in files.items():
        assert (project / RUN_FOLDER / name).read_bytes() == data, name
    rpcs = fake.rpcs()
    assert rpcs.count("SaveKernel") == 1 and rpcs.count("CreateSubmission") == 1


def test_wait_minutes_bounds_the_following_even_when_kaggle_does_not_answer(cli, fake,
                                                                          project):
    """No status request starts after the bound, and the command ends within it plus one
    request's timeout (each read was tried 4 times before: 4 timeouts per status read)."""
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    fake.kernels.running_polls = 10 ** 6
    fake.fail["GetKernelSessionStatus"] = [None] + [HANG] * 100
    bound_s, read_s = 3.0, 3.0
    result = kaggle_run(cli, project, "--wait-minutes", str(bound_s / 60),
                        DIGIT_RECOGNIZER_KAGGLE_TIMEOUT=f"5,{read_s:g}")
    ended = time.monotonic()
    assert result.returncode == 3, result.stdout + result.stderr
    polls = [r.at for r in fake.requests if r.rpc == "GetKernelSessionStatus"]
    assert polls[-1] - polls[0] <= bound_s
    assert ended - polls[0] <= bound_s + read_s + 3  # 3 s for the process to end
    assert result.stderr.count("could not read the run's status") == 1
    assert "the run had not ended after 0.05 min of following" in result.stderr
    assert f"resume with digit-recognizer kaggle-run --follow {KERNEL}" in result.stderr


@pytest.mark.parametrize("given, shape, gpu, tpu", [
    ("none", None, False, False),
    ("tpu1vmv38", "Tpu1VmV38", False, True),
    ("NvidiaTeslaP100", "NvidiaTeslaP100", True, False),
])
def test_the_accelerator_is_a_shape_kaggle_documents_or_none_for_its_cpu(cli, fake, project,
                                                                        given, shape, gpu, tpu):
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    result = kaggle_run(cli, project, "--accelerator", given)
    assert result.returncode == 0, result.stdout + result.stderr
    pushed = fake.kernels.versions[KERNEL][0].request
    assert (pushed.get("machineShape"), pushed.get("enableGpu", False),
            pushed.get("enableTpu", False)) == (shape, gpu, tpu)


def test_an_accelerator_kaggle_does_not_document_is_refused_before_any_upload(cli, fake,
                                                                             project):
    result = kaggle_run(cli, project, "--accelerator", "NvidiaTeslaV100")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "'NvidiaTeslaV100' is not a machine shape Kaggle documents" in result.stderr
    assert "NvidiaTeslaT4" in result.stderr and "Traceback" not in result.stderr
    assert not fake.requests


def test_ctrl_c_leaves_the_run_going_and_says_how_to_resume(cli, fake, project):
    fake.kernels.outcome = ("COMPLETE", finished_run(), "")
    fake.kernels.running_polls = 10 ** 6
    env = {**cli.env, "FAKE_KAGGLE_ROWS": f"{N_TRAIN},{N_TEST}"}
    process = subprocess.Popen([sys.executable, "-m", "digit_recognizer.cli", "kaggle-run"],
                               cwd=project, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if "running" in line:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert f"Resume with: digit-recognizer kaggle-run --follow {KERNEL}" in err
    assert fake.kernels.versions[KERNEL][0].state == "RUNNING"


def test_run_all_on_kaggle_is_kaggle_run(cli, fake, project):
    result = subprocess.run(
        [sys.executable, "-m", "digit_recognizer.pipeline.run", "--on-kaggle", "--workers",
         "ray"], cwd=project, env=cli.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--workers means nothing on Kaggle" in result.stderr
    assert not fake.requests


def test_the_help_of_run_all_and_kaggle_run_names_each_other(cli, project):
    result = kaggle_run(cli, project, "--help")
    assert result.returncode == 0 and "./run_all.sh" in result.stdout
    assert "--accelerator" in result.stdout and "--follow" in result.stdout


# --------------------------------------------------------------------------- end to end

IMAGE_PYTHON = """#!/usr/bin/env bash
# The Kaggle image's python3 in this test: a fresh image (its prefix, where run_all.sh keeps
# its install stamp, is an empty folder); pip is recorded, not run (no network here, and the
# test's environment holds every dependency); the project's src/ is importable as
# `pip install -e .` would make it.
if [ "${1:-}" = -c ] && [ "${2:-}" = 'import sys; print(sys.prefix)' ]; then
    echo "$IMAGE_PREFIX"; exit 0
fi
if [ "${1:-}" = -m ] && [ "${2:-}" = pip ]; then echo "$*" >> "$PIP_LOG"; exit 0; fi
if [ -d "$PWD/src/digit_recognizer" ]; then export PYTHONPATH="$PWD/src:$PYTHONPATH"; fi
exec "%s" "$@"
"""


def kernel_environment(tmp_path: Path) -> dict:
    """What the pushed notebook runs with: a Kaggle-like environment without credentials."""
    image = tmp_path / "image-bin"
    image.mkdir()
    (image / "python3").write_text(IMAGE_PYTHON % sys.executable)
    (image / "python3").chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAGGLE_", "VIRTUAL_ENV", "HTTP", "http"))}
    (tmp_path / "image-prefix").mkdir()
    return {**env, "KAGGLE_KERNEL_RUN_TYPE": "Batch", "PIP_LOG": str(tmp_path / "pip.log"),
            "IMAGE_PREFIX": str(tmp_path / "image-prefix"),
            "PATH": f"{image}:{Path(sys.executable).parent}:{env.get('PATH', '')}",
            "PYTHONPATH": str(SUPPORT), "FAKE_KAGGLE_ROWS": f"{N_TRAIN},{N_TEST}"}


@pytest.mark.slow
def test_kaggle_run_submit_end_to_end(cli, fake, tmp_path):
    """One push, one run of the real notebooks on the fake's /kaggle, the outputs downloaded,
    one submission, its leaderboard row."""
    project = git_commit(make_project(tmp_path / "project"))
    fake.kernels.execute = True
    fake.kernels.workdir = tmp_path / "kaggle"
    fake.kernels.env = kernel_environment(tmp_path)
    result = kaggle_run(cli, project, "--submit", "--epochs", "1", "--only", "08",
                        timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    rpcs = fake.rpcs()
    assert [rpcs.count(r) for r in ("CreateDataset", "SaveKernel", "CreateSubmission")] == \
        [1, 1, 1]
    # The notebook installed the project as run_all.sh does in a fresh Kaggle image.
    assert "pip install --disable-pip-version-check -q -e ." in (tmp_path / "pip.log").read_text()
    folder = project / RUN_FOLDER
    record = json.loads((folder / bundle.RUN_RECORD).read_text())
    assert record["exit_status"] == 0 and record["args"] == ["--epochs", "1", "--only", "08"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["source"] == "kaggle"  # the competition attached to the notebook
    assert (folder / "notebooks" / "08_submit.ipynb").is_file()
    assert (folder / "html" / "08_submit.html").is_file()
    assert "submitted" in result.stdout and "public score" in result.stdout
    board = leaderboard.load(project / "outputs" / "leaderboard.csv")
    sent = board[board["kaggle_status"] != ""]
    assert len(sent) == 1 and sent.iloc[0]["kaggle_status"] == "complete"
    assert sent.iloc[0]["run_id"] == summary["run_id"]
    assert board["trained_on"].str.startswith(f"kaggle {KERNEL} v1").all()
    assert not files_containing(project / "outputs")
    for secret in SECRET_FORMS:
        assert secret not in log


# --------------------------------------------------------------------------- the files


def test_the_archive_is_the_commit_and_names_what_it_leaves_out(project, tmp_path):
    (project / "dvc.yaml").write_text("stages: {changed: yes}\n")  # not committed
    (project / "notebooks" / "11_mine.ipynb").write_text("{}")  # never added
    (project / ".gitignore").write_text("outputs/\n")
    (project / "outputs").mkdir()
    (project / "outputs" / "ignored.csv").write_text("x\n")
    commit = bundle.project_archive(project, tmp_path / "dataset")
    assert commit.uncommitted == ("dvc.yaml",)
    assert commit.untracked == (".gitignore", "notebooks/11_mine.ipynb")
    assert commit.left_out() == (
        "not part of it: uncommitted changes (1): dvc.yaml; untracked files (2): .gitignore, "
        "notebooks/11_mine.ipynb (commit them to include them)")
    import tarfile

    with tarfile.open(tmp_path / "dataset" / bundle.ARCHIVE) as archive:
        data = archive.extractfile(f"{bundle.PREFIX}/dvc.yaml").read()
        names = archive.getnames()
    assert data == b"stages: {}\n"
    assert f"{bundle.PREFIX}/notebooks/11_mine.ipynb" not in names


def test_a_folder_without_git_is_one_clear_error(tmp_path):
    from digit_recognizer.errors import DigitRecognizerError

    with pytest.raises(DigitRecognizerError, match="run it in a git clone"):
        bundle.project_archive(tmp_path, tmp_path / "dataset")


@pytest.mark.parametrize("layout", ["input/{slug}", "input/datasets/{owner}/{slug}"])
def test_the_notebook_finds_the_code_under_either_input_layout(project, tmp_path, layout):
    """The notebook's first code cell, run against a folder laid out like /kaggle."""
    import nbformat

    root = tmp_path / "kaggle"
    folder = root / layout.format(owner=USERNAME, slug=bundle.CODE_DATASET_SLUG)
    bundle.project_archive(project, folder)
    notebook = bundle.kernel_notebook(["--profile", "gpu"], "0" * 40, "run")
    nbformat.validate(nbformat.from_dict(notebook))
    setup = notebook["cells"][1]["source"].replace('"/kaggle"', repr(str(root)))
    namespace = {}
    exec(setup, namespace)  # noqa: S102 - our own generated code
    assert (namespace["project"] / "dvc.yaml").read_text() == "stages: {}\n"
