"""The data layer: good files load, each kind of bad file gives one clear error."""

from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pytest

from digit_recognizer.datasets import data, preprocess
from digit_recognizer.errors import DigitRecognizerError

HEADER = ",".join(data.TRAIN_COLUMNS)
ROW = "3," + ",".join(["0"] * 783) + ",255"


def write(tmp_path, text: str, name: str = "train.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_round_trip_plain_gzip_and_zip(tmp_path, digits):
    images, labels = digits
    for name in ("train.csv", "train.csv.gz"):
        path = data.write_digits_csv(tmp_path / name, images, labels)
        loaded, loaded_labels = data.read_digits_csv(path, labelled=True)
        np.testing.assert_array_equal(loaded, images)
        np.testing.assert_array_equal(loaded_labels, labels)
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w") as archive:
        archive.write(tmp_path / "train.csv", "train.csv")
    loaded, _ = data.read_digits_csv(tmp_path / "train.csv.zip", labelled=True)
    np.testing.assert_array_equal(loaded, images)


def test_test_file_has_no_labels(test_csv, digits):
    images, labels = data.read_digits_csv(test_csv, labelled=False)
    assert labels is None
    np.testing.assert_array_equal(images, digits[0][:7])


def test_pixel_layout_is_row_major(tmp_path):
    # pixel31 is row 1, column 3 (Kaggle's description).
    values = ["0"] * 784
    values[31] = "200"
    path = write(tmp_path, HEADER + "\n5," + ",".join(values) + "\n")
    images, _ = data.read_digits_csv(path, labelled=True)
    assert images[0, 1, 3] == 200 and images.sum() == 200


def test_windows_line_endings_and_bom_load(tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + "\r\n" + ROW + "\r\n" + ROW + "\r\n")
    images, labels = data.read_digits_csv(path, labelled=True)
    assert images.shape == (2, 28, 28) and list(labels) == [3, 3]


def test_embedded_sample_is_real_mnist_in_kaggle_format():
    files = data.sample_files()
    images, labels = data.read_digits_csv(files.train, labelled=True)
    test, _ = data.read_digits_csv(files.test, labelled=False)
    key = data.read_answer_key(files.answer_key)
    assert images.shape == (8000, 28, 28) and test.shape == (2000, 28, 28)
    assert len(key) == 2000 and set(np.unique(labels)) == set(range(10))
    # Real digits: every class present in roughly MNIST's proportions, mostly empty pixels.
    assert np.bincount(labels).min() > 600
    assert 0.75 < np.mean(images == 0) < 0.85


BAD_TRAIN_FILES = {
    "empty file": ("", "file is empty"),
    "header only": (HEADER + "\n", "no data rows"),
    "wrong header": (HEADER.replace("pixel5,", "pixelfive,") + "\n" + ROW + "\n",
                     "header column 7 is 'pixelfive', expected 'pixel5'"),
    "783 pixel columns": (",".join(data.TRAIN_COLUMNS[:-1]) + "\n" + ROW.rsplit(",", 1)[0],
                          "header has 784 columns, expected 785"),
    "786 columns": (HEADER + ",extra\n" + ROW + ",1\n", "header has 786 columns"),
    "a row too long": (HEADER + "\n" + ROW + "\n" + ROW + ",7\n", "line 3"),
    "text in a pixel": (HEADER + "\n" + ROW + "\n" + ROW.replace(",0,", ",x,", 1) + "\n",
                        "line 3, column 'pixel0': 'x' is not an integer"),
    "negative pixel": (HEADER + "\n" + ROW.replace(",0,", ",-1,", 1) + "\n",
                       "line 2, column 'pixel0': -1 is outside 0..255"),
    "pixel above 255": (HEADER + "\n" + ROW[:-3] + "256\n",
                        "line 2, column 'pixel783': 256 is outside 0..255"),
    "float pixel": (HEADER + "\n" + ROW.replace(",0,", ",0.5,", 1) + "\n",
                    "column 'pixel0': '0.5' is not an integer"),
    "missing value": (HEADER + "\n" + ROW + "\n" + ROW.replace(",0,", ",,", 1) + "\n",
                      "line 3, column 'pixel0': missing value"),
    "label 10": (HEADER + "\n" + "10" + ROW[1:] + "\n", "line 2, column 'label': 10 is outside"),
    "duplicate header row": (HEADER + "\n" + ROW + "\n" + HEADER + "\n",
                             "line 3, column 'pixel0': 'pixel0' is not an integer"),
    "test file given as train": (",".join(data.PIXEL_COLUMNS) + "\n" + ROW[2:] + "\n",
                                 "looks like a test file"),
}


@pytest.mark.parametrize("case", BAD_TRAIN_FILES)
def test_bad_train_files_give_one_clear_error(tmp_path, case):
    text, expected = BAD_TRAIN_FILES[case]
    path = write(tmp_path, text)
    with pytest.raises(DigitRecognizerError) as error:
        data.read_digits_csv(path, labelled=True)
    message = str(error.value)
    assert str(path) in message
    assert expected in message


def test_missing_file_and_binary_garbage(tmp_path):
    with pytest.raises(DigitRecognizerError, match="file not found"):
        data.read_digits_csv(tmp_path / "nope.csv", labelled=True)
    garbage = tmp_path / "train.csv.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DigitRecognizerError, match="train.csv.gz"):
        data.read_digits_csv(garbage, labelled=True)


def test_train_file_given_as_test(train_csv):
    with pytest.raises(DigitRecognizerError, match="looks like a train file"):
        data.read_digits_csv(train_csv, labelled=False)


def test_mnist_source_errors(tmp_path):
    with pytest.raises(DigitRecognizerError, match="no such directory"):
        data.load_mnist(tmp_path / "missing")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"nonsense"))
    with pytest.raises(DigitRecognizerError, match="not an MNIST IDX file"):
        data.read_idx(tmp_path / "m" / "train-images-idx3-ubyte.gz")


def test_stratified_split_keeps_shares_and_is_seeded():
    labels = np.repeat(np.arange(10), [100, 50, 80, 120, 90, 60, 70, 110, 100, 20])
    train, val = preprocess.stratified_split(labels, 0.1, seed=3)
    assert len(set(train) | set(val)) == len(labels) and not set(train) & set(val)
    np.testing.assert_array_equal(np.bincount(labels[val]),
                                  np.round(np.bincount(labels) * 0.1).astype(int))
    again = preprocess.stratified_split(labels, 0.1, seed=3)
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, preprocess.stratified_split(labels, 0.1, seed=4)[1])


def test_stratified_folds_cover_every_row_once_keep_shares_and_are_seeded():
    labels = np.repeat(np.arange(10), [100, 51, 80, 121, 90, 62, 70, 113, 100, 24])
    folds = preprocess.stratified_folds(labels, 5, seed=3)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(len(labels)))
    counts = np.array([np.bincount(labels[f], minlength=10) for f in folds])
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all()  # each digit's share kept
    assert max(map(len, folds)) - min(map(len, folds)) <= 1  # and the folds' sizes
    again = preprocess.stratified_folds(labels, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    assert not np.array_equal(folds[0], preprocess.stratified_folds(labels, 5, seed=4)[0])
    with pytest.raises(DigitRecognizerError, match="folds must be between 2"):
        preprocess.stratified_folds(labels, 1, seed=3)


def test_a_fold_split_trains_on_every_labelled_row_but_its_fold():
    rng = np.random.default_rng(0)
    x = preprocess.normalise(rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    y = preprocess.one_hot(np.arange(40) % 10)
    split = preprocess.Split(x[:30], y[:30], x[30:], y[30:], x[:3])
    held = [preprocess.fold_split(split, 4, i, seed=1) for i in range(4)]
    for fold in held:
        assert len(fold.x_train) + len(fold.x_val) == 40
        rows = {r.tobytes() for r in fold.x_val}
        assert not rows & {r.tobytes() for r in fold.x_train}
    assert {r.tobytes() for f in held for r in f.x_val} == {r.tobytes() for r in x}
    np.testing.assert_array_equal(held[0].x_test, split.x_test)
    with pytest.raises(DigitRecognizerError, match="fold must be between 0 and 3"):
        preprocess.fold_split(split, 4, 4, seed=1)


def test_split_keeps_the_source_facts_and_its_fingerprint(tmp_path):
    rng = np.random.default_rng(0)
    x = preprocess.normalise(rng.integers(0, 256, (12, 28, 28), dtype=np.uint8))
    y = preprocess.one_hot(np.arange(12) % 10)
    facts = {"source": "sample", "description": "the sample", "train_rows": 12}
    split = preprocess.Split(x[:8], y[:8], x[8:], y[8:], x[:3], None, facts)
    loaded = preprocess.load_split(preprocess.save_split(tmp_path / "split.npz", split))
    assert loaded.source == facts and loaded.fingerprint == split.fingerprint
    bare = preprocess.Split(x[:8], y[:8], x[8:], y[8:], x[:3])
    assert preprocess.load_split(preprocess.save_split(tmp_path / "bare.npz", bare)).source == {}
    assert bare.fingerprint == split.fingerprint
