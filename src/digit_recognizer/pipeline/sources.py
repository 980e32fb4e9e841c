"""Which data a run reads: `auto` resolved to concrete files before any notebook runs.

This module sits above the file formats (`data`) and the Kaggle client (`kaggle`): it finds
your own files, downloads the competition, builds the local competition from full MNIST or
points at the embedded sample, and describes the result by the *content* of the files, so the
pipeline reruns exactly when the data changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError

if TYPE_CHECKING:
    from digit_recognizer.datasets.data import SourceFiles

# The file formats (and pandas) are imported where files are read, so that `./run_all.sh` and
# `digit-recognizer` parse their options without them.
SOURCES = ("auto", "local", "kaggle", "sample", "mnist")
CSV_SUFFIXES = ("", ".gz", ".zip")
# Inside a Kaggle notebook the competition's files are attached, read-only, below this folder
# (as input/digit-recognizer/ or input/competitions/digit-recognizer/), and the notebook's
# output is what is left in the working folder.
KAGGLE_INPUT = Path("/kaggle/input")
KAGGLE_WORKING = Path("/kaggle/working")


def _find_csv(folder: Path, stem: str) -> Path | None:
    for suffix in CSV_SUFFIXES:
        candidate = folder / f"{stem}.csv{suffix}"
        if candidate.is_file():
            return candidate
    return None


def local_files(raw_dir: Path) -> SourceFiles | None:
    from digit_recognizer.datasets.data import SourceFiles

    train, test = _find_csv(raw_dir, "train"), _find_csv(raw_dir, "test")
    if train is None or test is None:
        return None
    return SourceFiles("local", train, test, _find_csv(raw_dir, "answer_key"),
                       f"your files in {raw_dir}")


def kaggle_notebook_files(input_dir: Path | None = None) -> SourceFiles | None:
    """The competition files attached to the Kaggle notebook this runs in, if any."""
    from digit_recognizer.datasets import data

    input_dir = KAGGLE_INPUT if input_dir is None else input_dir
    for folder in (input_dir / data.COMPETITION, input_dir / "competitions" / data.COMPETITION):
        files = local_files(folder)
        if files is not None:
            return data.SourceFiles("kaggle", files.train, files.test, None,
                                    f"the competition files attached to this notebook ({folder})")
    return None


def resolve(
    source: str = "auto",
    data_dir: str | os.PathLike = "data",
    mnist_dir: str | os.PathLike | None = None,
) -> SourceFiles:
    """Find (and if needed fetch or build) the train/test files of a data source."""
    if source not in SOURCES:
        raise DigitRecognizerError(
            f"unknown source {source!r}: choose one of {', '.join(SOURCES)}"
        )
    from digit_recognizer.datasets import data
    from digit_recognizer.kaggle import credentials, download

    data_dir = Path(data_dir)
    raw_dir = data_dir / "raw"
    attached = kaggle_notebook_files() if source in ("auto", "kaggle") else None
    if source == "auto":
        if local_files(raw_dir):
            source = "local"
        elif attached or credentials.has_credentials():
            source = "kaggle"
        else:
            source = "sample"
    if source == "local":
        files = local_files(raw_dir)
        if files is None:
            raise DigitRecognizerError(
                f"--source local: put train.csv and test.csv in {raw_dir}/ "
                f"(kaggle competitions download -c {data.COMPETITION}), or use --source sample"
            )
        return files
    if source == "kaggle":
        if attached is not None:
            return attached
        download.download(raw_dir)
        files = local_files(raw_dir)
        assert files is not None  # download() verified them
        return data.SourceFiles("kaggle", files.train, files.test, None,
                                f"the Kaggle competition files in {raw_dir}")
    if source == "sample":
        return data.sample_files()
    folder = data.build_competition(mnist_dir, data_dir / "mnist-competition")
    return data.SourceFiles("mnist", folder / "train.csv", folder / "test.csv",
                            folder / "answer_key.csv",
                            "the local competition built from full MNIST (42,000 / 28,000 rows)")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _relative(path: Path, folder: Path) -> str:
    """`path` relative to `folder` when both are in one project, so no machine's layout leaks."""
    path, folder = path.resolve(), folder.resolve()
    if path.is_relative_to(folder.parent):
        return os.path.relpath(path, folder)
    return str(path)


def describe(files: SourceFiles, record_path: Path) -> dict:
    """The resolved source as the runner records it: names, paths (relative to the record's
    folder) and content hashes, so a stage that reads it reruns when the data changes."""
    record = {"source": files.source, "description": files.description}
    for role in ("train", "test", "answer_key"):
        path = getattr(files, role)
        record[role] = None if path is None else _relative(path, record_path.parent)
        record[f"{role}_sha256"] = None if path is None else sha256(path)
    return record


def write_record(path: Path, record: dict) -> bool:
    """Write the record unless the same one is there; True when it changed."""
    if path.is_file() and json.loads(path.read_text()) == record:
        return False
    fileio.write_json(path, record)
    return True
