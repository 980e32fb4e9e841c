"""Resolving a data source to concrete files, and the record that makes reruns data-aware."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_idx

from digit_recognizer.datasets import data
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.pipeline import sources


def test_sources(tmp_path, train_csv, test_csv, monkeypatch):
    with pytest.raises(DigitRecognizerError, match="unknown source 'web'"):
        sources.resolve("web", tmp_path)
    with pytest.raises(DigitRecognizerError, match="put train.csv and test.csv in"):
        sources.resolve("local", tmp_path / "empty")
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    assert sources.resolve("auto", tmp_path / "empty").source == "sample"
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    train_csv.rename(raw / "train.csv")
    test_csv.rename(raw / "test.csv")
    files = sources.resolve("auto", tmp_path / "data")
    assert files.source == "local" and files.answer_key is None


def test_local_competition_from_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    images = rng.integers(0, 256, (70, 28, 28))
    labels = np.arange(70) % 10
    write_idx(mnist / "train-images-idx3-ubyte.gz", images[:60])
    write_idx(mnist / "train-labels-idx1-ubyte.gz", labels[:60])
    write_idx(mnist / "t10k-images-idx3-ubyte.gz", images[60:])
    write_idx(mnist / "t10k-labels-idx1-ubyte.gz", labels[60:])
    files = sources.resolve("mnist", tmp_path / "data", mnist)
    train, train_labels = data.read_digits_csv(files.train, labelled=True)
    test, _ = data.read_digits_csv(files.test, labelled=False)
    key = data.read_answer_key(files.answer_key)
    assert len(train) == 42 and len(test) == 28 and len(key) == 28
    # Every MNIST image lands in exactly one file, with its own label.
    all_rows = {img.tobytes(): lab for img, lab in zip(images.astype(np.uint8), labels,
                                                       strict=True)}
    for img, lab in [*zip(train, train_labels, strict=True), *zip(test, key, strict=True)]:
        assert all_rows.pop(img.tobytes()) == lab
    assert not all_rows


def test_record_names_the_content_and_finds_the_files_again(tmp_path, train_csv, test_csv):
    files = data.SourceFiles("local", train_csv, test_csv, None, "mine")
    record_path = tmp_path / "outputs" / "resolved_source.json"
    record = sources.describe(files, record_path)
    assert record["train"] == "../train.csv" and record["answer_key"] is None
    assert record["train_sha256"] == sources.sha256(train_csv)
    assert sources.write_record(record_path, record)
    assert not sources.write_record(record_path, record)  # unchanged: not rewritten
    found = data.from_record(record_path)
    assert found.train.resolve() == train_csv.resolve() and found.source == "local"
    # Same size, other content: another record.
    text = train_csv.read_text()
    train_csv.write_text(text.replace(",0,", ",1,", 1))
    assert sources.describe(files, record_path) != record


def test_missing_record_is_a_clear_error(tmp_path):
    with pytest.raises(DigitRecognizerError, match="not found; ./run_all.sh writes it"):
        data.from_record(tmp_path / "resolved_source.json")


@pytest.mark.parametrize("layout", ["digit-recognizer", "competitions/digit-recognizer"])
def test_a_kaggle_notebook_reads_its_attached_competition_files(
        tmp_path, train_csv, test_csv, monkeypatch, layout):
    """In a Kaggle notebook `auto` (and `kaggle`) read /kaggle/input/..., never download."""
    attached = tmp_path / "kaggle" / "input" / layout
    attached.mkdir(parents=True)
    train_csv.rename(attached / "train.csv")
    test_csv.rename(attached / "test.csv")
    monkeypatch.setattr(sources, "KAGGLE_INPUT", tmp_path / "kaggle" / "input")
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    for source in ("auto", "kaggle"):
        files = sources.resolve(source, tmp_path / "data")
        assert files.source == "kaggle"
        assert (files.train, files.test) == (attached / "train.csv", attached / "test.csv")
        assert "attached to this notebook" in files.description
    assert not (tmp_path / "data").exists()  # nothing downloaded, nothing written


def test_other_kaggle_inputs_are_not_mistaken_for_the_competition(tmp_path, train_csv,
                                                                   test_csv, monkeypatch):
    other = tmp_path / "input" / "some-dataset"
    other.mkdir(parents=True)
    train_csv.rename(other / "train.csv")
    test_csv.rename(other / "test.csv")
    monkeypatch.setattr(sources, "KAGGLE_INPUT", tmp_path / "input")
    assert sources.kaggle_notebook_files() is None
    monkeypatch.setattr(sources, "KAGGLE_INPUT", tmp_path / "no-such-folder")
    assert sources.kaggle_notebook_files() is None
