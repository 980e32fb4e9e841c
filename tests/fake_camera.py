"""A video file for Chromium's fake camera: a photo of a handwritten number, held still.

Chromium started with `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=
<file.y4m>` shows the file's frames as its camera, looping. The frame is the sample's first
test digits of each character (as tests/test_serve.py draws them) rendered as a photo of ink on
paper by `picture_makers.photo_like`, centred on a sheet of paper of the camera's size. The
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
    """The camera's picture: the digits written on paper, grayscale, at the camera's size
    (the photo centred, its paper's edges carried on to the frame's borders)."""
    rng = np.random.default_rng(seed)
    photo = Image.fromarray(picture_makers.photo_like(digits, rng, digit_px=(110, 120),
                                                      rotate=4)).convert("L")
    photo.thumbnail((SIZE[0] - 40, SIZE[1] - 40))
    rows, cols = SIZE[1] - photo.height, SIZE[0] - photo.width
    return Image.fromarray(np.pad(np.asarray(photo), ((rows // 2, rows - rows // 2),
                                                      (cols // 2, cols - cols // 2)),
                                  mode="edge"))


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
