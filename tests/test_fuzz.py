"""Property-based fuzzing: the CSV loader and the submission validator either succeed or raise
the project's own error, never anything else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digit_recognizer.datasets import data, submit
from digit_recognizer.errors import DigitRecognizerError

HEADER = ",".join(data.TRAIN_COLUMNS)
CELLS = st.one_of(
    st.integers(-300, 300).map(str), st.sampled_from(["", " ", "x", "1.5", "nan", "1e3", '"7"',
                                                      "label", "\ufeff", "\r"]),
    st.text(max_size=4),
)


def row(cells: list[str], width: int) -> str:
    return ",".join((cells * (width // max(len(cells), 1) + 1))[:width])


csv_texts = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.builds(
        lambda rows, width, header: "\n".join([header, *(row(r, width) for r in rows)]),
        st.lists(st.lists(CELLS, min_size=1, max_size=6), max_size=4),
        st.sampled_from([783, 784, 785, 786]),
        st.sampled_from([HEADER, HEADER[6:], HEADER + ",x", "a,b"]),
    ),
)

submission_texts = st.one_of(
    st.text(max_size=100),
    st.builds(
        lambda rows, header: "\n".join([header, *(",".join(r) for r in rows)]),
        st.lists(st.lists(CELLS, min_size=0, max_size=3), max_size=6),
        st.sampled_from(["ImageId,Label", "ImageId", "Label,ImageId", "ImageId,Label,x"]),
    ),
)


def _write(text: str, name: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=csv_texts, labelled=st.booleans())
def test_csv_loader_succeeds_or_raises_its_own_error(text, labelled):
    path = _write(text, "train.csv")
    try:
        images, labels = data.read_digits_csv(path, labelled=labelled)
    except DigitRecognizerError as exc:
        assert str(path) in str(exc)
    else:
        assert images.shape[1:] == (28, 28) and images.dtype.name == "uint8"
        assert labels is None or (labels.max() <= 9 and len(labels) == len(images))


@settings(max_examples=150, deadline=None)
@given(text=submission_texts, n_test=st.integers(1, 6))
def test_submission_validator_succeeds_or_raises_its_own_error(text, n_test):
    path = _write(text, "submission.csv")
    try:
        frame = submit.validate_submission(path, n_test)
    except DigitRecognizerError as exc:
        assert str(path) in str(exc)
    else:
        assert list(frame["ImageId"]) == list(range(1, n_test + 1))
        assert frame["Label"].between(0, 9).all()
