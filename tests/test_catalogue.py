"""The catalogue of bad input, as a user meets it on the command line: each case gives one
readable line that names what is wrong and where, a non-zero exit, and no traceback."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from PIL import Image

from digit_recognizer.datasets import data

HEADER = ",".join(data.TRAIN_COLUMNS)
ROW = "3," + ",".join(["0"] * 783) + ",255"
TEST_HEADER = ",".join(data.PIXEL_COLUMNS)
TEST_ROW = ",".join(["0"] * 784)


def csv(text: str):
    return lambda folder: _write(folder / "train.csv", text.encode())


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _blank_page(folder: Path) -> Path:
    path = folder / "blank.png"
    Image.new("RGB", (300, 200), "white").save(path)
    return path


# name: (make the file, command before the file, text the message must contain)
CASES = {
    "empty CSV": (csv(""), ["validate", "train"], "file is empty"),
    "header only": (csv(HEADER + "\n"), ["validate", "train"], "no data rows"),
    "wrong header": (csv(HEADER.replace("label", "digit") + "\n" + ROW + "\n"),
                     ["validate", "train"], "header column 1 is 'digit', expected 'label'"),
    "783 pixel columns": (csv(HEADER.rsplit(",", 1)[0] + "\n" + ROW.rsplit(",", 1)[0] + "\n"),
                          ["validate", "train"], "header has 784 columns, expected 785"),
    "786 columns": (csv(HEADER + ",pixel784\n" + ROW + ",0\n"), ["validate", "train"],
                    "header has 786 columns, expected 785"),
    "text in a pixel": (csv(HEADER + "\n" + ROW.replace(",0,", ",dark,", 1) + "\n"),
                        ["validate", "train"], "line 2, column 'pixel0': 'dark' is not"),
    "negative pixel": (csv(HEADER + "\n" + ROW.replace(",0,", ",-5,", 1) + "\n"),
                       ["validate", "train"], "-5 is outside 0..255"),
    "pixel over 255": (csv(HEADER + "\n" + ROW[:-3] + "300\n"), ["validate", "train"],
                       "line 2, column 'pixel783': 300 is outside 0..255"),
    "float pixel": (csv(HEADER + "\n" + ROW.replace(",0,", ",12.5,", 1) + "\n"),
                    ["validate", "train"], "'12.5' is not an integer"),
    "missing value": (csv(HEADER + "\n" + ROW.replace(",0,", ",,", 1) + "\n"),
                      ["validate", "train"], "missing value"),
    "label 10": (csv(HEADER + "\n1" + ROW + "\n"), ["validate", "train"],
                 "column 'label': 13 is outside 0..9"),
    "duplicate header row": (csv(HEADER + "\n" + HEADER + "\n" + ROW + "\n"),
                             ["validate", "train"], "line 2, column 'pixel0': 'pixel0' is not"),
    "train file as test": (csv(HEADER + "\n" + ROW + "\n"), ["validate", "test"],
                           "looks like a train file"),
    "test file as train": (csv(TEST_HEADER + "\n" + TEST_ROW + "\n"), ["validate", "train"],
                           "looks like a test file"),
    "broken gzip": (lambda f: _write(f / "train.csv.gz", b"\x1f\x8b\x08garbage"),
                    ["validate", "train"], "train.csv.gz"),
    "missing file": (lambda f: f / "nope.csv", ["validate", "train"], "file not found"),
    "submission missing a column": (lambda f: _write(f / "s.csv", b"ImageId\n1\n2\n"),
                                    ["validate", "submission", "--rows", "2"],
                                    "expected 'ImageId,Label'"),
    "submission with wrong ids": (lambda f: _write(f / "s.csv", b"ImageId,Label\n1,3\n5,4\n"),
                                  ["validate", "submission", "--rows", "2"],
                                  "line 3, column 'ImageId': 5, expected 2"),
    "submission with wrong row count": (
        lambda f: _write(f / "s.csv", b"ImageId,Label\n1,3\n"),
        ["validate", "submission", "--rows", "28000"], "has 1 rows, expected 28000"),
    "submission label out of range": (
        lambda f: _write(f / "s.csv", b"ImageId,Label\n1,3\n2,11\n"),
        ["validate", "submission", "--rows", "2"], "'11' is not an integer 0..9"),
    "not an image": (lambda f: _write(f / "digit.png", b"hello, I am text"), ["predict"],
                     "digit.png"),
    "truncated image": (lambda f: _write(f / "digit.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
                        ["predict"], "digit.jpg"),
    "blank page": (_blank_page, ["predict"], "blank.png"),
    "MNIST dir without IDX files": (lambda f: f, ["data", "--source", "mnist", "--mnist-dir"],
                                    "file not found"),
    "corrupt IDX file": (
        lambda f: _write(f / "train-images-idx3-ubyte.gz", gzip.compress(b"not idx")).parent,
        ["data", "--source", "mnist", "--mnist-dir"], "not an MNIST IDX file"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_clear_line(tmp_path, case):
    make, command, expected = CASES[case]
    target = make(tmp_path)
    result = run_cli(*command, str(target), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert target.name in lines[0] or "--mnist-dir" in command


BAD_PARAMETERS = {
    "unknown source": (["--source", "web"], "invalid choice: 'web'"),
    "unknown profile": (["--profile", "huge"], "invalid choice: 'huge'"),
    "negative seed": (["--seed", "-1"], "--seed must be a non-negative integer"),
    "seed not a number": (["--seed", "abc"], "invalid int value: 'abc'"),
    "missing --mnist-dir": (["--source", "mnist"], "--source mnist needs --mnist-dir"),
    "--mnist-dir that does not exist": (["--mnist-dir", "/no/such"], "no such directory"),
}


@pytest.mark.parametrize("case", BAD_PARAMETERS)
def test_bad_run_all_parameters(case):
    args, expected = BAD_PARAMETERS[case]
    result = subprocess.run([sys.executable, "-m", "digit_recognizer.pipeline.run", *args],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_the_catalogue_is_long_enough():
    assert len(CASES) + len(BAD_PARAMETERS) >= 25
