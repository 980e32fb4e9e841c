"""Training batches for the JAX and PyTorch backends: NumPy in memory, shuffled each epoch.

(TensorFlow's own backend gets a tf.data pipeline instead: `train.dataset`.)
"""

from __future__ import annotations

import math

import keras
import numpy as np


class ShuffledBatches(keras.utils.PyDataset):
    """Batches of (x, y) in a new order each epoch, drawn from `seed`; augmented if asked."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
                 augmenter=None):
        super().__init__()
        self.x, self.y, self.batch_size, self.augmenter = x, y, batch_size, augmenter
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images, labels = self.x[rows], self.y[rows]
        if self.augmenter is not None:
            images = keras.ops.convert_to_numpy(self.augmenter(images, training=True))
        return images, labels

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))
