"""From uint8 digits to what the networks eat: 0..1 floats, 28x28x1, one-hot labels, a split."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from digit_recognizer.datasets import data
from digit_recognizer.errors import DigitRecognizerError


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in 0..1."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def one_hot(labels: np.ndarray, n_classes: int = data.N_CLASSES) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[labels]


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/validation split that keeps each digit's share in both parts."""
    if not 0 < val_fraction < 1:
        raise DigitRecognizerError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_val = int(round(len(members) * val_fraction))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """The row indices of `k` folds that each keep every digit's share (sorted within a fold):
    every row is in exactly one fold, and the folds' sizes differ by at most one per digit."""
    if not 2 <= k <= len(labels):
        raise DigitRecognizerError(f"folds must be between 2 and the {len(labels)} rows, got {k}")
    rng = np.random.default_rng(seed)
    folds: list[list[np.ndarray]] = [[] for _ in range(k)]
    start = 0  # each digit's larger parts go to the folds after the previous digit's
    for digit in np.unique(labels):
        parts = np.array_split(rng.permutation(np.flatnonzero(labels == digit)), k)
        for i, part in enumerate(parts):
            folds[(start + i) % k].append(part)
        start += len(np.flatnonzero(labels == digit)) % k
    return [np.sort(np.concatenate(f)) for f in folds]


@dataclass
class Split:
    """The arrays every training notebook uses; `answer_key` is None without one."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    answer_key: np.ndarray | None = None
    # What 01_load recorded of the data (source, description, row counts), so that the
    # notebooks reading only the split can say what it was made from; no file paths.
    source: dict = field(default_factory=dict)

    @property
    def val_labels(self) -> np.ndarray:
        return self.y_val.argmax(axis=1)

    @property
    def fingerprint(self) -> str:
        """Names the validation split, so results of different splits are never compared."""
        import hashlib

        digest = hashlib.sha256(np.ascontiguousarray(self.x_val).tobytes())
        digest.update(self.val_labels.astype(np.uint8).tobytes())
        return digest.hexdigest()[:16]


def pixels(x: np.ndarray) -> np.ndarray:
    """Network inputs (n, 28, 28, 1) scaled to 0..1 back as the original uint8 (n, 28, 28)."""
    return np.rint(x[..., 0] * 255).astype(np.uint8)


def save_split(path: str | os.PathLike, split: Split) -> Path:
    """Saved as the original 0..255 bytes (a quarter of the floats' size), restored exactly."""
    return data.save_dataset(
        path, train_images=pixels(split.x_train), train_labels=split.y_train.argmax(1),
        val_images=pixels(split.x_val), val_labels=split.val_labels,
        test_images=pixels(split.x_test), answer_key=split.answer_key,
        source=np.array([json.dumps(split.source, sort_keys=True)]) if split.source else None)


def load_split(path: str | os.PathLike) -> Split:
    arrays = data.load_arrays(path)
    return Split(normalise(arrays["train_images"]), one_hot(arrays["train_labels"]),
                 normalise(arrays["val_images"]), one_hot(arrays["val_labels"]),
                 normalise(arrays["test_images"]), arrays.get("answer_key"),
                 json.loads(str(arrays["source"][0])) if "source" in arrays else {})


def labelled(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Every labelled row of the split, training rows first, then validation rows."""
    return (np.concatenate([split.x_train, split.x_val]),
            np.concatenate([split.y_train, split.y_val]))


def fold_split(split: Split, k: int, fold: int, seed: int) -> Split:
    """The split of fold `fold` of `k` (`stratified_folds` over `labelled(split)`, seeded):
    it trains on the other folds' rows and validates on this fold's."""
    if not 0 <= fold < k:
        raise DigitRecognizerError(f"fold must be between 0 and {k - 1}, got {fold}")
    x, y = labelled(split)
    held = stratified_folds(y.argmax(axis=1), k, seed)[fold]
    kept = np.setdiff1d(np.arange(len(x)), held)
    return replace(split, x_train=x[kept], y_train=y[kept], x_val=x[held], y_val=y[held])
