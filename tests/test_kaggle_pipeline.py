"""`./run_all.sh --source kaggle --submit` end to end: the real kaggle client downloads from and
submits to a fake Kaggle server, the chain runs in between, and the score is printed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from conftest import make_project
from fake_kaggle import FakeKaggle
from kaggle_fixtures import SECRET_FORMS, USERNAME, cli_fixture, fake_fixture  # noqa: F401

from digit_recognizer import leaderboard
from digit_recognizer.datasets import data

pytestmark = pytest.mark.slow
N_TRAIN, N_TEST = 300, 100


def sample_competition_zip(folder) -> bytes:
    """Kaggle's zip, made of real digits from the embedded sample."""
    files = data.sample_files()
    images, labels = data.read_digits_csv(files.train, labelled=True)
    test, _ = data.read_digits_csv(files.test, labelled=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (x, y) in {"train.csv": (images[:N_TRAIN], labels[:N_TRAIN]),
                             "test.csv": (test[:N_TEST], None),
                             "sample_submission.csv": (None, None)}.items():
            if x is None:
                text = "ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, N_TEST + 1))
            else:
                text = data.write_digits_csv(folder / name, x, y).read_text()
            archive.writestr(name, text)
    return buffer.getvalue()


def test_run_all_with_kaggle_source_downloads_runs_submits_and_prints_the_score(tmp_path, cli):
    server = FakeKaggle(username=USERNAME, key=cli.env["KAGGLE_KEY"],
                        zip_bytes=sample_competition_zip(tmp_path))
    with server:
        env = {**cli.env, "HTTP_PROXY": server.url, "http_proxy": server.url,
               "HTTPS_PROXY": server.url, "https_proxy": server.url,
               "FAKE_KAGGLE_ROWS": f"{N_TRAIN},{N_TEST}"}
        project = make_project(tmp_path / "project")
        out = project / "outputs"
        result = subprocess.run(
            ["bash", str(project / "run_all.sh"), "--source", "kaggle", "--submit", "--epochs",
             "1", "--only", "08"],  # the chain up to the submission
            cwd=project, env={**env, "VIRTUAL_ENV": sys.prefix,
                           "PATH": f"{sys.prefix}/bin:{env['PATH']}"},
            capture_output=True, text=True, timeout=600,
        )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert (project / "data" / "raw" / "train.csv").is_file()
    assert "source kaggle" in result.stdout
    assert "submitted" in result.stdout and "public score" in result.stdout
    assert "local score:        none" in result.stdout  # Kaggle keeps the answers
    rpcs = server.rpcs()
    assert rpcs.count("DownloadDataFiles") == 1 and rpcs.count("CreateSubmission") == 1
    # The run's rows (appended by the runner after 08_submit ran), then the submission's.
    board = leaderboard.load(out / "leaderboard.csv")
    summary = json.loads((out / "summary.json").read_text())
    runs, sent = board[board["kaggle_status"] == ""], board[board["kaggle_status"] != ""]
    assert runs["model"].tolist() == [row["model"] for row in summary["rows"]]
    assert runs["run_id"].eq(summary["run_id"]).all() and runs["source"].eq("kaggle").all()
    assert len(sent) == 1 and sent.index[0] == len(board) - 1
    assert sent.iloc[0][["run_id", "model", "kaggle_status"]].tolist() == \
        [summary["run_id"], summary["model"], "complete"]
    for secret in SECRET_FORMS:
        assert secret not in log
        for path in out.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
