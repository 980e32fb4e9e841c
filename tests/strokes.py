"""Pen strokes traced from MNIST digits, for drawing them on the demo's canvas with the mouse.

A digit (28x28, bright ink on black) is scaled up, thresholded and skeletonised; the skeleton is
walked as a person draws: from a free end, straight on at crossings, then the branches left
over, each starting where it joins what is already drawn. The strokes are polylines in the
digit's 28x28 frame (x, y from 0 to 1), to be scaled to a box on the canvas.

Test helper only: the demo itself never needs it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from skimage import measure, morphology

UPSCALE = 4  # the skeleton of the 28x28 digit at 112x112 is smooth enough to follow
# A stroke keeps the skeleton pixels that Douglas-Peucker needs to stay within this many pixels
# (of 112) of it. Each point is a mouse move, a round trip to Chromium of up to half a second
# on 2 busy cores: for the ten example digits 140 moves, against 264 when every sixth pixel
# was kept, drawn about as closely (90% overlap with the whole skeleton's strokes, against 92%).
TOLERANCE = 1.5
MIN_STROKE = 4  # skeleton branches shorter than this (pixels at 112x112) are spurs: dropped

Point = tuple[int, int]


def _neighbours(point: Point, pixels: set[Point]) -> list[Point]:
    r, c = point
    found = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if (dr or dc) and (r + dr, c + dc) in pixels:
                found.append((r + dr, c + dc))
    return found


def _walk(start: Point, before: Point | None, pixels: set[Point], left: set[Point]) -> list[Point]:
    path = [before] if before else []
    current = start
    while True:
        path.append(current)
        left.discard(current)
        choices = [q for q in _neighbours(current, pixels) if q in left]
        if not choices:
            return path
        if len(path) >= 2:  # go on in the direction we came from; 4-neighbours first
            dr, dc = current[0] - path[-2][0], current[1] - path[-2][1]
            current = max(choices, key=lambda q: ((q[0] - current[0]) * dr
                                                  + (q[1] - current[1]) * dc,
                                                  -abs(q[0] - current[0]) - abs(q[1] - current[1])))
        else:
            current = min(choices, key=lambda q: abs(q[0] - current[0]) + abs(q[1] - current[1]))


def strokes(digit: np.ndarray) -> list[list[tuple[float, float]]]:
    """The pen strokes of a 28x28 uint8 digit: polylines of (x, y) in 0..1 of its frame."""
    side = digit.shape[0] * UPSCALE
    big = np.asarray(Image.fromarray(np.asarray(digit, np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC), np.float32) / 255
    skeleton = morphology.skeletonize(big > 0.4)
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    left = set(pixels)
    paths = []
    while left:
        # Start at a free end if there is one (fewest unvisited neighbours), else anywhere.
        start = min(left, key=lambda p: (sum(q in left for q in _neighbours(p, pixels)), p))
        drawn = [q for q in _neighbours(start, pixels) if q not in left]
        path = _walk(start, drawn[0] if drawn else None, pixels, left)
        if len(path) >= MIN_STROKE:
            paths.append(path)
    result = []
    for path in paths:
        kept = measure.approximate_polygon(np.array(path), TOLERANCE)
        result.append([((c + 0.5) / side, (r + 0.5) / side) for r, c in kept])
    return result


def place(paths: list[list[tuple[float, float]]], left: float, top: float,
          side: float) -> list[list[tuple[float, float]]]:
    """The strokes scaled to a square box (left, top, side) in page or canvas pixels."""
    return [[(left + x * side, top + y * side) for x, y in path] for path in paths]


def render(paths: list[list[tuple[float, float]]], size: tuple[int, int],
           width: int) -> Image.Image:
    """Strokes (in canvas pixels) drawn as the demo's canvas sends them: black, round-ended,
    on a transparent background (RGBA)."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    r = width / 2
    for path in paths:
        draw.line(path, fill=(0, 0, 0, 255), width=width, joint="curve")
        for x, y in (path[0], path[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 255))
    return image


def boxes(count: int, width: float, height: float) -> list[tuple[float, float, float]]:
    """Square boxes (left, top, side) for `count` digits written left to right, centred in a
    width x height area: each digit's 28x28 frame, frames overlapping by a quarter (MNIST
    digits fill the middle 20 pixels), as large as fits in 90% of the area."""
    pitch = 0.76  # of a frame's side, from one digit to the next
    side = min(0.8 * height, 0.9 * width / (1 + pitch * (count - 1)))
    left = (width - side * (1 + pitch * (count - 1))) / 2
    return [(left + i * pitch * side, (height - side) / 2, side) for i in range(count)]
