"""Shared fixtures: small, valid Kaggle-format files made on the fly (no ../shared needed)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from digit_recognizer.datasets import data
from digit_recognizer.pipeline.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]
# sitecustomize.py there sets the Kaggle modules' constants for the fake Kaggle server in the
# processes a test starts (FAKE_KAGGLE_ROWS, FAKE_KAGGLE_BACKOFF_S, FAKE_KAGGLE_POLL_S).
SUPPORT = ROOT / "tests" / "support"
# The slowest modules first (their time in CI), so that pytest-xdist's workers start on them and
# the short ones fill the end; `--no-loadscope-reorder` (pyproject.toml) keeps this order.
SLOWEST_FIRST = ("test_pipeline.py", "test_dvc_pipeline.py", "test_serve.py",
                 "test_kaggle_run.py", "test_ray.py", "test_bench.py", "test_predict.py",
                 "test_train.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest as found


@pytest.fixture
def digits():
    """Twenty random 'digits' with labels 0..9, twice each."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = np.tile(np.arange(10, dtype=np.uint8), 2)
    return images, labels


@pytest.fixture
def train_csv(tmp_path, digits) -> Path:
    return data.write_digits_csv(tmp_path / "train.csv", *digits)


@pytest.fixture
def test_csv(tmp_path, digits) -> Path:
    return data.write_digits_csv(tmp_path / "test.csv", digits[0][:7])


PROJECT_FILES = ("dvc.yaml", ".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore",
                 "run_all.sh", "requirements.txt", "pyproject.toml",
                 *sorted({path for stage in STAGES.values() for path in stage.references.values()}))


def write_idx(path: Path, array: np.ndarray) -> None:
    """An MNIST IDX file (gzipped, unsigned bytes) of `array`."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def make_project(dest: Path) -> Path:
    """A copy of the project (pipeline, notebooks, package sources) to run the pipeline in,
    so tests never touch the checkout's outputs/. The code that runs is the installed package."""
    for name in PROJECT_FILES:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def with_support(env: dict) -> dict:
    """`env` with tests/support first on PYTHONPATH (see SUPPORT)."""
    path = [str(SUPPORT), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "PYTHONPATH": os.pathsep.join(path)}


def run_pipeline(project: Path, *args: str, env: dict | None = None):
    """`./run_all.sh ARGS` in `project`, in this interpreter's environment (FAKE_KAGGLE_* in
    `env` set the Kaggle constants for a fake Kaggle server, see SUPPORT)."""
    return subprocess.run(
        [sys.executable, "-m", "digit_recognizer.pipeline.run", *args],
        capture_output=True, text=True, cwd=project,
        env=with_support({**os.environ, **(env or {})}),
    )


def stage_lines(stdout: str) -> dict[str, str]:
    """What the run said of each stage: running, unchanged, restored."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("--> ") and ": " in line:
            name, what = line[4:].split(": ", 1)
            found[name] = what.split(" ")[0].rstrip(",")
    return found


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run `digit-recognizer ARGS` in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "digit_recognizer.cli", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    """A saved split of 300 train / 100 validation / 200 test rows of the embedded sample."""
    from member_support import tiny_split as make

    return make(tmp_path_factory.mktemp("split") / "split.npz")


@pytest.fixture(scope="session")
def tiny_local_results(tiny_split):
    """The tiny members trained by the local executor, once for all tests."""
    from member_support import TINY_MEMBERS

    from digit_recognizer.learning import executors

    return executors.run_members(TINY_MEMBERS, tiny_split)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, worker_id):
    """A small CNN trained on the embedded sample's 8,000 training rows (about 30 s on 2 cores).

    Light augmentation (rotations, shifts, zoom) as any real model of handwriting has; the
    pipeline's own models are better, this one only has to be good enough to test with. Trained
    once per test run: pytest-xdist's workers share it (the first to need it trains it).
    """
    if worker_id == "master":  # no xdist: this run's own temporary folder
        return _train_small_cnn(tmp_path_factory.mktemp("model") / "small_cnn.keras")
    path = tmp_path_factory.getbasetemp().parent / "small_cnn.keras"  # this run's workers'
    with FileLock(f"{path}.lock"):
        return path if path.is_file() else _train_small_cnn(path)


def _train_small_cnn(path: Path) -> Path:
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    x, y = data.read_digits_csv(data.sample_dir() / "train.csv.gz", labelled=True)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.RandomRotation(0.03),
        layers.RandomTranslation(0.08, 0.08),
        layers.RandomZoom(0.08),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x[..., None].astype("float32") / 255, y, epochs=8, batch_size=128, verbose=0)
    print(f"trained the test model in {time.perf_counter() - start:.1f} s")
    model.save(path)
    return path
