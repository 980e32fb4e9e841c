"""Fixtures for tests/test_kaggle.py: a fake Kaggle server and a CLI runner aimed at it.

Every command runs `python -m digit_recognizer.cli` in a subprocess, so the real kaggle client is
imported fresh with the environment that points it at the fake server, and nothing from the
developer's own Kaggle set-up (HOME, KAGGLE_*, proxies) leaks in or out.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import with_support
from fake_kaggle import FakeKaggle, competition_zip, submission_csv

from digit_recognizer.datasets import data

N_TRAIN = 60
N_TEST = 40
USERNAME = "tester"
# A recognisable key: it must never appear in any output or file the project writes.
SECRET_KEY = "SECRETKEY-7f3a9c1e5b2d4086"
SECRET_FORMS = (SECRET_KEY, base64.b64encode(f"{USERNAME}:{SECRET_KEY}".encode()).decode())


@pytest.fixture(name="fake")
def fake_fixture():
    server = FakeKaggle(username=USERNAME, key=SECRET_KEY,
                        zip_bytes=competition_zip(N_TRAIN, N_TEST))
    with server:
        yield server
    assert not server.unexpected, f"requests the fake does not implement: {server.unexpected}"


@dataclass
class Runner:
    """Runs `digit-recognizer ARGS` against the fake server and checks no output holds the key."""

    env: dict[str, str]
    home: Path
    work: Path

    def __call__(self, *args: str, timeout: float = 60, **env: str | None):
        full = dict(self.env)
        for name, value in env.items():
            if value is None:
                full.pop(name, None)
            else:
                full[name] = value
        proc = subprocess.run(
            [sys.executable, "-m", "digit_recognizer.cli", *map(str, args)],
            env=full, cwd=self.work, capture_output=True, text=True, timeout=timeout,
        )
        for secret in SECRET_FORMS:
            assert secret not in proc.stdout + proc.stderr, f"the API key leaked from {args}"
        return proc

    def without_credentials(self) -> dict[str, None]:
        return {"KAGGLE_USERNAME": None, "KAGGLE_KEY": None}


@pytest.fixture(name="cli")
def cli_fixture(fake, tmp_path):
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Set before `kaggle` is imported: calls go to http://localhost/api/v1/<Service>/<Method>.
        "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
        # ... which the proxy settings deliver to the fake server (https too: it refuses them).
        "HTTP_PROXY": fake.url, "http_proxy": fake.url,
        "HTTPS_PROXY": fake.url, "https_proxy": fake.url,
        "NO_PROXY": "", "no_proxy": "",
        "KAGGLE_USERNAME": USERNAME,
        "KAGGLE_KEY": SECRET_KEY,
        # The fake competition's size, quick retries and polls (tests/support/sitecustomize.py).
        "FAKE_KAGGLE_ROWS": f"{N_TRAIN},{N_TEST}",
        "FAKE_KAGGLE_BACKOFF_S": "0.01",
        "FAKE_KAGGLE_POLL_S": "0.02",
        # Connect, read timeouts (a user setting): short, so that a test never hangs for long.
        "DIGIT_RECOGNIZER_KAGGLE_TIMEOUT": "5,10",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return Runner(with_support(env), home, work)


def write_submission(path: Path, rows: int = N_TEST, label: int = 7) -> Path:
    path.write_bytes(submission_csv(rows, label))
    return path


def files_containing(folder: Path, secrets=SECRET_FORMS) -> list[Path]:
    """Files under `folder` whose bytes contain any of `secrets`."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(secret.encode() in data for secret in secrets):
                found.append(path)
    return found


SAMPLE_TRAIN, SAMPLE_TEST = 300, 100  # rows of sample_competition_zip


def sample_competition_zip(folder) -> bytes:
    """Kaggle's zip, made of real digits from the embedded sample."""
    files = data.sample_files()
    images, labels = data.read_digits_csv(files.train, labelled=True)
    test, _ = data.read_digits_csv(files.test, labelled=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (x, y) in {"train.csv": (images[:SAMPLE_TRAIN], labels[:SAMPLE_TRAIN]),
                             "test.csv": (test[:SAMPLE_TEST], None),
                             "sample_submission.csv": (None, None)}.items():
            if x is None:
                text = "ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, SAMPLE_TEST + 1))
            else:
                text = data.write_digits_csv(folder / name, x, y).read_text()
            archive.writestr(name, text)
    return buffer.getvalue()
