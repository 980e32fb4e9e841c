"""A video file for Chromium's fake camera: a photo of a handwritten number, held still.

Chromium started with `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=
<file.y4m>` shows the file's frames as its camera, looping. The frame is the sample's first
test digits of each character (as tests/test_serve.py draws them) rendered as a photo of ink on
paper by `picture_makers.photo_like`, lying on a desk (`picture_makers.on_desk`). The
number reads differently when mirrored (2024 reads 7505 or so), so a test that reads it right
shows the page took the snapshot as the camera sees it.

Test helper only: the demo itself never needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from digit_recognizer.reading_checks import picture_makers

SIZE = (640, 480)  # width, height: a common webcam resolution (Y4M 4:2:0 needs even sides)


def frame(digits: list[np.ndarray], seed: int = 0) -> Image.Image:
    """The camera's picture, grayscale, at the camera's size: the digits written on a sheet of
    paper that lies on a desk, turned by 3 degrees, a pen beside it, the desk and the sheet's
    edges in view, as people hold a page to a camera."""
    rng = np.random.default_rng(seed)
    photo = Image.fromarray(picture_makers.photo_like(digits, rng, digit_px=(110, 120),
                                                      rotate=4, lighting=0.15))
    return picture_makers.on_desk(photo.convert("RGBA"), SIZE, rng, tilt=3.0, fill=0.85,
                                  pen=True).convert("L")


def write_y4m(picture: Image.Image, path: Path, frames: int = 2) -> Path:
    """`picture` (grayscale) as a YUV4MPEG2 file, 4:2:0, `frames` identical frames."""
    width, height = picture.size
    luma = np.asarray(picture.convert("L"), np.uint8).tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)  # no colour: U and V at 128
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma)
    return path
