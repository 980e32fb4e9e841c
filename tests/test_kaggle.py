"""The Kaggle half, end to end: the real kaggle client against a fake Kaggle API on 127.0.0.1.
Downloads, errors and credentials here; submissions in tests/test_kaggle_submit.py.

See tests/fake_kaggle.py for the requests the client makes and tests/kaggle_fixtures.py for how
the client is pointed at the fake server (no patching of the client).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from fake_kaggle import HANG, competition_zip, corrupt_member
from kaggle_fixtures import (  # noqa: F401 - cli_fixture, fake_fixture: fixtures `cli`, `fake`
    N_TEST,
    N_TRAIN,
    SECRET_KEY,
    USERNAME,
    cli_fixture,
    fake_fixture,
    files_containing,
    write_submission,
)

from digit_recognizer.kaggle import credentials, transport

FILES = ["sample_submission.csv", "test.csv", "train.csv"]


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- download


def test_download_unzips_validates_and_then_is_a_no_op(cli, fake):
    proc = cli("download")
    assert proc.returncode == 0, proc.stderr
    raw = cli.work / "data" / "raw"
    assert listing(raw) == FILES  # unzipped; no zip, no temporary folder left
    assert len(pd.read_csv(raw / "train.csv")) == N_TRAIN
    assert fake.rpcs() == ["DownloadDataFiles", "GET /files/digit-recognizer.zip"]
    assert "downloaded and valid" in proc.stdout
    assert "Authentication required" not in proc.stdout + proc.stderr

    proc = cli("download")
    assert proc.returncode == 0, proc.stderr
    assert "already there and valid" in proc.stdout
    assert len(fake.requests) == 2  # no request at all

    proc = cli("download", "--force")
    assert proc.returncode == 0, proc.stderr
    assert fake.rpcs()[2:] == ["DownloadDataFiles", "GET /files/digit-recognizer.zip"]


def test_download_replaces_invalid_local_files(cli, fake):
    raw = cli.work / "data" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        (raw / name).write_text("garbage\n")
    proc = cli("download")
    assert proc.returncode == 0, proc.stderr
    assert "downloading again" in proc.stdout
    assert len(pd.read_csv(raw / "test.csv")) == N_TEST


@pytest.mark.parametrize("broken", ["bad-crc", "truncated", "missing-member", "wrong-rows"])
def test_broken_download_changes_nothing(cli, fake, broken):
    archive = competition_zip(N_TRAIN, N_TEST)
    fake.zip_bytes = {
        "bad-crc": corrupt_member(archive, "test.csv"),  # train.csv extracts fine first
        "truncated": archive[: len(archive) // 2],
        "missing-member": competition_zip(N_TRAIN, N_TEST, omit="sample_submission.csv"),
        "wrong-rows": competition_zip(N_TRAIN - 1, N_TEST),
    }[broken]
    proc = cli("download")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "nothing" in proc.stderr and "changed" in proc.stderr
    raw = cli.work / "data" / "raw"
    assert listing(raw) == []  # no half-extracted file, no temporary folder


def test_broken_forced_download_keeps_the_valid_files(cli, fake):
    assert cli("download").returncode == 0
    raw = cli.work / "data" / "raw"
    before = {name: (raw / name).read_bytes() for name in FILES}
    fake.zip_bytes = corrupt_member(competition_zip(N_TRAIN, N_TEST), "sample_submission.csv")
    proc = cli("download", "--force")
    assert proc.returncode == 2 and "broken" in proc.stderr
    assert listing(raw) == FILES
    assert {name: (raw / name).read_bytes() for name in FILES} == before


def test_download_retries_429_and_5xx_then_succeeds(cli, fake):
    fake.fail = {"DownloadDataFiles": [429, 503], "GET": [500]}
    proc = cli("download")
    assert proc.returncode == 0, proc.stderr
    assert fake.rpcs().count("DownloadDataFiles") == 4
    assert listing(cli.work / "data" / "raw") == FILES


@pytest.mark.parametrize("status", [429, 503])
def test_persistent_429_or_5xx_fails_after_bounded_retries(cli, fake, status):
    fake.fail = {"DownloadDataFiles": [status] * 20}
    proc = cli("download")
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: could not download the competition files: Kaggle answered "
                           f"HTTP {status} (")
    assert f"{transport.ATTEMPTS} times in a row" in line and "wait a few minutes" in line
    assert fake.rpcs() == ["DownloadDataFiles"] * transport.ATTEMPTS
    assert listing(cli.work / "data" / "raw") == []


@pytest.mark.parametrize("where", ["DownloadDataFiles", "GET"])
def test_download_from_a_kaggle_that_never_answers_ends_and_writes_nothing(cli, fake, where):
    fake.fail = {where: [HANG] * 20}  # accepts the connection, never answers
    proc = cli("download", DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="2,1")
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line == (
        "error: could not download the competition files: Kaggle did not answer within 1 s, "
        f"{transport.ATTEMPTS} times in a row; Kaggle may be down: wait a few minutes and run "
        "again (DIGIT_RECOGNIZER_KAGGLE_TIMEOUT=CONNECT,READ sets the timeouts in seconds)"
    )
    assert fake.rpcs().count("DownloadDataFiles") == transport.ATTEMPTS
    assert listing(cli.work / "data" / "raw") == []  # no partial zip, no temporary folder


# --------------------------------------------------------------------------- errors


def test_no_credentials_says_where_to_put_kaggle_json(cli, fake):
    proc = cli("download", **cli.without_credentials())
    assert proc.returncode == 2
    assert proc.stdout == ""  # not the kaggle client's help text
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: ") and "no Kaggle credentials" in line
    assert str(cli.home / ".kaggle" / "kaggle.json") in line and "chmod 600" in line
    assert fake.requests == []


def test_bad_key_is_reported_as_401(cli, fake):
    proc = cli("download", KAGGLE_KEY="wrong-key")
    assert proc.returncode == 2
    assert "HTTP 401" in proc.stderr and "kaggle.json" in proc.stderr
    assert "wrong-key" not in proc.stdout + proc.stderr
    assert "Authentication required" not in proc.stdout  # the client's help text is captured
    assert fake.rpcs() == ["DownloadDataFiles"]  # a 401 is not retried


def test_rules_not_accepted_links_the_rules_page(cli, fake, tmp_path):
    fake.rules_accepted = False
    proc = cli("download")
    assert proc.returncode == 2
    assert "HTTP 403" in proc.stderr and transport.RULES_URL in proc.stderr
    assert "accept" in proc.stderr
    proc = cli("submit", write_submission(tmp_path / "s.csv"))
    assert proc.returncode == 2 and transport.RULES_URL in proc.stderr
    assert "CreateSubmission" not in fake.rpcs()


def test_missing_competition_is_reported_as_404(cli, fake):
    fake.exists = False
    proc = cli("download")
    assert proc.returncode == 2
    assert "HTTP 404" in proc.stderr and "digit-recognizer" in proc.stderr


# --------------------------------------------------------------------------- credentials, key


def test_kaggle_json_and_api_token_work_and_the_key_never_leaks(cli, fake, tmp_path):
    folder = cli.home / ".kaggle"
    folder.mkdir()
    config = folder / "kaggle.json"
    config.write_text(f'{{"username": "{USERNAME}", "key": "{SECRET_KEY}"}}')
    config.chmod(0o644)
    no_env = cli.without_credentials()
    # VERBOSE=1 would make the client print request headers: the project turns that off.
    proc = cli("download", VERBOSE="1", **no_env)
    assert proc.returncode == 0, proc.stderr
    assert "chmod 600" in proc.stderr  # warned about a world-readable kaggle.json
    config.chmod(0o600)
    path = write_submission(tmp_path / "s.csv")
    proc = cli("submit", path, "--leaderboard", "outputs/leaderboard.csv", **no_env)
    assert proc.returncode == 0, proc.stderr
    assert "chmod" not in proc.stderr
    config.unlink()

    fake.token = "SECRETTOKEN-0b1c2d3e"
    proc = cli("submissions", KAGGLE_API_TOKEN=fake.token, **no_env)
    assert proc.returncode == 0, proc.stderr
    assert fake.token not in proc.stdout + proc.stderr
    assert "IntrospectToken" in fake.rpcs()
    secrets = (SECRET_KEY, fake.token)
    assert files_containing(cli.work, secrets) == []  # data/, outputs/: no key anywhere


def test_has_credentials_follows_the_client(tmp_path, monkeypatch):
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR",
                 "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not credentials.has_credentials()
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    assert not credentials.has_credentials()
    monkeypatch.setenv("KAGGLE_KEY", "k")
    assert credentials.has_credentials()
    monkeypatch.delenv("KAGGLE_KEY")
    xdg = tmp_path / ".config" / "kaggle"  # used by the client when ~/.kaggle does not exist
    xdg.mkdir(parents=True)
    (xdg / "kaggle.json").write_text("{}")
    assert credentials.has_credentials()
    (tmp_path / ".kaggle").mkdir()  # now the client reads ~/.kaggle/kaggle.json only
    assert not credentials.has_credentials()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(xdg))
    assert credentials.has_credentials()
    assert credentials.config_dir() == xdg


def test_help_and_validation_do_not_import_the_kaggle_client(tmp_path):
    path = write_submission(tmp_path / "s.csv")
    code = (
        "import sys\n"
        "from digit_recognizer import cli\n"
        "cli.build_parser()\n"
        "cli.main(['submit', sys.argv[1], '--rows', '40', '--dry-run'])\n"
        "print('kaggle imported:', 'kaggle' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "not sent: --dry-run" in proc.stdout
    assert "kaggle imported: False" in proc.stdout
