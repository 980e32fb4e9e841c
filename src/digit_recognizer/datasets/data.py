"""Kaggle's Digit Recognizer CSVs: load and validate them; build the sample and a local competition.

Images are returned as uint8 arrays of shape (n, 28, 28) and labels as uint8 arrays of shape (n,).
Every problem with a file is raised as one DigitRecognizerError naming the file, line and column.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10
PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]
TRAIN_COLUMNS = ["label", *PIXEL_COLUMNS]
COMPETITION = "digit-recognizer"
# Kaggle's split of the 70,000 MNIST images: 42,000 labelled rows (60%) and 28,000 test rows.
COMPETITION_TRAIN_SHARE = 0.6
COMPETITION_SEED = 2012
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


# --------------------------------------------------------------------------- CSV loading


def _line(row: int) -> int:
    """File line of a data row (the header is line 1)."""
    return row + 2


def _check_header(path: Path, columns: list[str], expected: list[str]) -> None:
    if columns == expected:
        return
    kind = "train" if expected[0] == "label" else "test"
    if kind == "train" and columns[:1] == ["pixel0"]:
        raise DigitRecognizerError(
            f"{path}: has no 'label' column; this looks like a test file, not a train file"
        )
    if kind == "test" and columns[:1] == ["label"]:
        raise DigitRecognizerError(
            f"{path}: starts with a 'label' column; this looks like a train file, not a test file"
        )
    if len(columns) != len(expected):
        raise DigitRecognizerError(
            f"{path}: header has {len(columns)} columns, expected {len(expected)} "
            f"({expected[0]}, ..., {expected[-1]})"
        )
    position = next(i for i, (a, b) in enumerate(zip(columns, expected, strict=True)) if a != b)
    raise DigitRecognizerError(
        f"{path}: header column {position + 1} is {columns[position]!r}, "
        f"expected {expected[position]!r}"
    )


def _first_bad_cell(path: Path, frame: pd.DataFrame, low: int, high: int, what: str) -> None:
    """Raise for the first cell that is missing, not an integer, or outside low..high."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "iu":
            continue
        missing = values.isna()
        if missing.any():
            row = int(np.argmax(missing.to_numpy()))
            raise DigitRecognizerError(
                f"{path}, line {_line(row)}, column {column!r}: missing value"
            )
        as_number = pd.to_numeric(values, errors="coerce")
        not_integer = as_number.isna() | (as_number != np.floor(as_number))
        if values.dtype.kind == "f" or not_integer.any():
            row = int(np.argmax(not_integer.to_numpy())) if not_integer.any() else 0
            raise DigitRecognizerError(
                f"{path}, line {_line(row)}, column {column!r}: '{values.iloc[row]}' is not "
                f"an integer {what}"
            )
    array = frame.to_numpy()
    bad = (array < low) | (array > high)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DigitRecognizerError(
            f"{path}, line {_line(row)}, column {frame.columns[col]!r}: {array[row, col]} is "
            f"outside {low}..{high}"
        )


def read_digits_csv(
    path: str | os.PathLike, labelled: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read and validate a Kaggle `train.csv` (labelled) or `test.csv` (plain, .gz or .zip)."""
    path = Path(path)
    if not path.is_file():
        raise DigitRecognizerError(f"{path}: file not found")
    expected = TRAIN_COLUMNS if labelled else PIXEL_COLUMNS
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
    except pd.errors.EmptyDataError:
        raise DigitRecognizerError(f"{path}: file is empty (expected a CSV header)") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DigitRecognizerError(f"{path}: malformed CSV: {detail}") from None
    except (UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise DigitRecognizerError(f"{path}: cannot be read as CSV text: {exc}") from None
    _check_header(path, [str(c).strip() for c in frame.columns], expected)
    if frame.empty:
        raise DigitRecognizerError(f"{path}: has a header but no data rows")
    pixels = frame[PIXEL_COLUMNS]
    _first_bad_cell(path, pixels, 0, 255, "pixel value")
    images = pixels.to_numpy(dtype=np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if not labelled:
        return images, None
    labels = frame[["label"]]
    _first_bad_cell(path, labels, 0, N_CLASSES - 1, "label")
    return images, labels["label"].to_numpy(dtype=np.uint8)


def read_answer_key(path: str | os.PathLike) -> np.ndarray:
    """Labels of the test rows, from a CSV in submission format (`ImageId,Label`)."""
    from digit_recognizer.datasets.submit import read_submission

    return read_submission(path)["Label"].to_numpy(dtype=np.uint8)


def write_digits_csv(
    path: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None = None
) -> Path:
    """Write images (and labels) in Kaggle's CSV format, atomically; `.gz` is compressed."""
    frame = pd.DataFrame(images.reshape(len(images), N_PIXELS), columns=PIXEL_COLUMNS)
    if labels is not None:
        frame.insert(0, "label", labels)
    compression = {"method": "gzip", "mtime": 0} if str(path).endswith(".gz") else None
    with fileio.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, compression=compression)
    return Path(path)


def write_answer_key(path: str | os.PathLike, labels: np.ndarray) -> Path:
    from digit_recognizer.datasets.submit import write_submission

    return write_submission(path, labels)


# --------------------------------------------------------------------------- full MNIST


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one of MNIST's IDX files (gzip-compressed or not)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise DigitRecognizerError(f"{path}: file not found") from None
    except (OSError, EOFError) as exc:
        raise DigitRecognizerError(f"{path}: cannot be read: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DigitRecognizerError(f"{path}: not an MNIST IDX file of unsigned bytes")
    n_dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims)
    if data.size != int(np.prod(shape)):
        raise DigitRecognizerError(f"{path}: truncated: expected {shape}, found {data.size} bytes")
    return data.reshape(shape)


def load_mnist(mnist_dir: str | os.PathLike | None) -> dict[str, np.ndarray]:
    """The official MNIST split (60k train, 10k test) from IDX files, or from Keras' download."""
    if mnist_dir is None:
        try:
            from keras.datasets import mnist

            (x_train, y_train), (x_test, y_test) = mnist.load_data()
        except Exception as exc:  # no internet, most likely
            raise DigitRecognizerError(
                "full MNIST not available: pass --mnist-dir DIR with the four "
                f"*-ubyte.gz files (keras download failed: {exc})"
            ) from None
        return dict(train_images=x_train, train_labels=y_train, test_images=x_test,
                    test_labels=y_test)
    mnist_dir = Path(mnist_dir)
    if not mnist_dir.is_dir():
        raise DigitRecognizerError(
            f"--mnist-dir {mnist_dir}: no such directory (it should hold "
            + ", ".join(MNIST_FILES.values()) + ")"
        )
    return {key: read_idx(mnist_dir / name) for key, name in MNIST_FILES.items()}


MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000


def competition_rows(n_images: int = MNIST_TRAIN_SIZE + MNIST_TEST_SIZE
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Which MNIST images (indices into its train images, then its test images) become the
    local competition's train.csv rows and its hidden test.csv rows, in their order."""
    order = np.random.default_rng(COMPETITION_SEED).permutation(n_images)
    n_train = round(n_images * COMPETITION_TRAIN_SHARE)
    return order[:n_train], order[n_train:]


def build_competition(mnist_dir: str | os.PathLike | None, out_dir: str | os.PathLike) -> Path:
    """A local Digit Recognizer: the 70,000 MNIST images split 42,000/28,000 like Kaggle's.

    Writes train.csv, test.csv and the hidden answer_key.csv to `out_dir` (skipped if present).
    """
    out_dir = Path(out_dir)
    names = ("train.csv", "test.csv", "answer_key.csv")
    if all((out_dir / n).is_file() for n in names):
        return out_dir
    mnist = load_mnist(mnist_dir)
    images = np.concatenate([mnist["train_images"], mnist["test_images"]])
    labels = np.concatenate([mnist["train_labels"], mnist["test_labels"]])
    train, test = competition_rows(len(images))
    write_digits_csv(out_dir / "train.csv", images[train], labels[train])
    write_digits_csv(out_dir / "test.csv", images[test])
    write_answer_key(out_dir / "answer_key.csv", labels[test])
    return out_dir


SAMPLE_TRAIN_ROWS = 8_000
SAMPLE_TEST_ROWS = 2_000
SAMPLE_SEED = 7


def sample_rows(n_train: int = MNIST_TRAIN_SIZE, n_test: int = MNIST_TEST_SIZE
                ) -> tuple[np.ndarray, np.ndarray]:
    """Which of MNIST's train and test images are the embedded sample's train and test rows."""
    rng = np.random.default_rng(SAMPLE_SEED)
    train = np.sort(rng.choice(n_train, SAMPLE_TRAIN_ROWS, replace=False))
    return train, np.sort(rng.choice(n_test, SAMPLE_TEST_ROWS, replace=False))


def build_sample(mnist_dir: str | os.PathLike | None, out_dir: str | os.PathLike) -> Path:
    """The embedded sample: 8,000 rows of MNIST's train split and 2,000 of its test split."""
    mnist = load_mnist(mnist_dir)
    train, test = sample_rows(len(mnist["train_images"]), len(mnist["test_images"]))
    out_dir = Path(out_dir)
    write_digits_csv(out_dir / "train.csv.gz", mnist["train_images"][train],
                     mnist["train_labels"][train])
    write_digits_csv(out_dir / "test.csv.gz", mnist["test_images"][test])
    with fileio.atomic_path(out_dir / "answer_key.csv.gz") as tmp:
        pd.DataFrame({"ImageId": np.arange(1, len(test) + 1),
                      "Label": mnist["test_labels"][test]}).to_csv(
            tmp, index=False, compression={"method": "gzip", "mtime": 0})
    return out_dir




def sample_dir() -> Path:
    return Path(str(resources.files("digit_recognizer") / "sample_data"))


# --------------------------------------------------------------------------- data sources


@dataclass
class SourceFiles:
    """Where one data source's files are; `answer_key` is None when the test labels are hidden."""

    source: str
    train: Path
    test: Path
    answer_key: Path | None
    description: str


def sample_files() -> SourceFiles:
    folder = sample_dir()
    return SourceFiles("sample", folder / "train.csv.gz", folder / "test.csv.gz",
                       folder / "answer_key.csv.gz",
                       "the embedded real-MNIST sample (8,000 train / 2,000 test rows)")


def from_record(path: str | os.PathLike) -> SourceFiles:
    """The files a record of the runner names (`sources.describe`), relative to the record."""
    path = Path(path)
    if not path.is_file():
        raise DigitRecognizerError(f"{path}: not found; ./run_all.sh writes it")
    record = json.loads(path.read_text())

    def located(role: str) -> Path | None:
        return None if record[role] is None else Path(os.path.normpath(path.parent / record[role]))

    return SourceFiles(record["source"], located("train"), located("test"),
                       located("answer_key"), record["description"])


# --------------------------------------------------------------------------- hand-off files


def save_dataset(path: str | os.PathLike, **arrays: np.ndarray | None) -> Path:
    """Save arrays for the next notebook (None values are left out), atomically.

    The archive is byte-for-byte the same for the same arrays (no timestamps), so a stage that
    reruns without changing its results does not make the stages after it rerun.
    """
    import io
    import zipfile

    present = {k: v for k, v in arrays.items() if v is not None}
    with fileio.atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for key, array in present.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                          allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{key}.npy", (1980, 1, 1, 0, 0, 0)),
                                 buffer.getvalue())
    return Path(path)


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DigitRecognizerError(
            f"{path}: not found; run the earlier notebooks first (./run_all.sh does)"
        )
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}
