"""Data augmentation: the variations of handwriting a network should shrug off."""

from __future__ import annotations

import keras
from keras import layers


def augmenter(rotation_degrees: float = 10, zoom: float = 0.1, shift: float = 0.1):
    """Small rotations, zooms and shifts; never flips (a flipped 2 is not a digit)."""
    return keras.Sequential(
        [
            layers.RandomRotation(rotation_degrees / 360, fill_mode="constant"),
            layers.RandomZoom(zoom, fill_mode="constant"),
            layers.RandomTranslation(shift, shift, fill_mode="constant"),
        ],
        name="augmenter",
    )
