"""Submissions: written atomically, validated strictly, scored against an answer key."""

from __future__ import annotations

import numpy as np
import pytest

from digit_recognizer import fileio
from digit_recognizer.datasets import submit
from digit_recognizer.errors import DigitRecognizerError


def test_write_validate_and_score(tmp_path):
    path = submit.write_submission(tmp_path / "s.csv", np.array([3, 7, 8, 0]))
    assert path.read_text().splitlines() == ["ImageId,Label", "1,3", "2,7", "3,8", "4,0"]
    frame = submit.validate_submission(path, 4)
    assert list(frame["Label"]) == [3, 7, 8, 0]
    key = submit.write_submission(tmp_path / "key.csv", np.array([3, 7, 1, 0]))
    assert submit.score(path, key) == pytest.approx(0.75)


BAD_SUBMISSIONS = {
    "missing column": ("ImageId\n1\n2\n", "header is 'ImageId', expected 'ImageId,Label'"),
    "wrong header": ("Id,Label\n1,3\n2,4\n", "expected 'ImageId,Label'"),
    "wrong ids": ("ImageId,Label\n1,3\n3,4\n", "line 3, column 'ImageId': 3, expected 2"),
    "zero-based ids": ("ImageId,Label\n0,3\n1,4\n", "line 2, column 'ImageId'"),
    "too few rows": ("ImageId,Label\n1,3\n", "has 1 rows, expected 2"),
    "too many rows": ("ImageId,Label\n1,3\n2,4\n3,5\n", "has 3 rows, expected 2"),
    "label out of range": ("ImageId,Label\n1,3\n2,10\n", "line 3, column 'Label': '10' is not"),
    "label not a number": ("ImageId,Label\n1,3\n2,seven\n", "'seven' is not an integer 0..9"),
    "empty label": ("ImageId,Label\n1,3\n2,\n", "line 3, column 'Label'"),
    "empty file": ("", "file is empty"),
}


@pytest.mark.parametrize("case", BAD_SUBMISSIONS)
def test_bad_submissions_are_refused(tmp_path, case):
    text, expected = BAD_SUBMISSIONS[case]
    path = tmp_path / "submission.csv"
    path.write_text(text)
    with pytest.raises(DigitRecognizerError) as error:
        submit.validate_submission(path, 2)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_invalid_labels_never_replace_a_good_submission(tmp_path):
    path = submit.write_submission(tmp_path / "s.csv", np.array([1, 2]))
    with pytest.raises(DigitRecognizerError, match="0..9"):
        submit.write_submission(path, np.array([1, 12]))
    assert path.read_text() == "ImageId,Label\n1,1\n2,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def test_atomic_write_leaves_nothing_on_a_crash(tmp_path):
    target = tmp_path / "out.txt"
    fileio.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("half writ")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
