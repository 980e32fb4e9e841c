"""A naive way to turn a picture of one digit into a 28x28 input, to compare with `images.prepare`.

Grayscale, inverted when the background is light, the whole picture resized straight to 28x28
(Pillow's Lanczos filter, as `prepare` uses) and its contrast stretched to 0..255: no ink
threshold, no crop to the digit, no 20-pixel box, no centring by mass. Notebook 09 measures
what MNIST-style preparation gains over this; the reading commands never use it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from digit_recognizer.reading import images


def naive_input(picture: Image.Image | np.ndarray) -> np.ndarray:
    """One picture as a uint8 (28, 28) input, bright ink on black, prepared naively."""
    gray = images.to_gray(picture)
    if float(np.median(gray)) > 0.5:  # light paper: make the ink bright, as in MNIST
        gray = 1 - gray
    small = Image.fromarray(np.ascontiguousarray(gray, np.float32)).resize(
        (images.IMAGE_SIDE, images.IMAGE_SIDE), Image.Resampling.LANCZOS)
    small = np.asarray(small, np.float32)
    low, high = float(small.min()), float(small.max())
    stretched = (small - low) / (high - low) if high > low else np.zeros_like(small)
    return np.round(stretched * 255).astype(np.uint8)
