"""Make pictures of handwriting from MNIST digits: the shipped examples and test pictures.

Without real photos in the repository, 28x28 MNIST digits are rendered as photos of paper
(dark ink, uneven light, noise), chalk on a board, gray flatbed scans or a drawing app's
transparent canvas. Only the notebooks, the tests and `digit-recognizer predict
--make-examples` use this module: the code that reads pictures (`images`, `predict`, `demo`)
never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digit_recognizer import fileio
from digit_recognizer.datasets import data
from digit_recognizer.reading.images import EXAMPLES

STYLES = ("photo", "chalk", "scan")
# How each shipped example (images.EXAMPLES) is drawn.
EXAMPLE_STYLES = {"seven.jpg": "photo", "three.png": "drawing", "four_chalk.jpg": "chalk",
                  "year_1969.jpg": "photo", "phone_5550123.png": "scan"}
EXAMPLES_SEED = 8


def photo_like(
    digits: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    dark_background: bool = False,
    digit_px: tuple[int, int] = (130, 230),
    rotate: float = 10.0,
    noise: float = 0.04,
    lighting: float = 0.35,
) -> np.ndarray:
    """Render 28x28 MNIST digits (bright on black) as a photo of handwriting, RGB uint8.

    Each digit is scaled up (smoothly) to `digit_px` pixels, rotated by up to `rotate`
    degrees, and written left to right with small irregular gaps, placed off centre on paper
    lit unevenly (a gradient and a vignette, up to `lighting`), with sensor noise, dark ink on
    light paper (or chalk on a dark board with `dark_background`).
    """
    side = int(rng.integers(digit_px[0], digit_px[1] + 1))
    glyphs = [_glyph(digit, side, rotate, rng) for digit in digits]
    ink = _line_of(glyphs, side, rng)
    rows, cols = np.indices(ink.shape, dtype=np.float32)
    rows /= ink.shape[0]
    cols /= ink.shape[1]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (cols - 0.5) + np.sin(angle) * (rows - 0.5)) + 0.5
    vignette = (rows - rng.uniform(0.3, 0.7)) ** 2 + (cols - rng.uniform(0.3, 0.7)) ** 2
    paper = rng.uniform(0.82, 0.95) * (1 - lighting * rng.uniform(0.5, 1) * ramp
                                       - 0.3 * lighting * vignette)
    darkness = rng.uniform(0.75, 0.9)
    picture = paper * (1 - darkness * ink)
    picture += rng.normal(0, noise, picture.shape)
    if dark_background:
        picture = 1 - picture
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.97)], np.float32)
    rgb = np.clip(picture[:, :, None] * tint, 0, 1)
    return np.round(rgb * 255).astype(np.uint8)


def _glyph(digit: np.ndarray, side: int, rotate: float, rng: np.random.Generator) -> np.ndarray:
    """One digit scaled up to `side` pixels and rotated, as float ink in 0..1."""
    glyph = Image.fromarray(np.asarray(digit, np.uint8)).resize((side, side),
                                                                Image.Resampling.BICUBIC)
    glyph = glyph.rotate(float(rng.uniform(-rotate, rotate)), Image.Resampling.BICUBIC,
                         expand=True, fillcolor=0)
    return np.asarray(glyph, np.float32) / 255


def _line_of(glyphs: list[np.ndarray], side: int, rng: np.random.Generator) -> np.ndarray:
    """The glyphs written left to right on a margin of paper, as float ink in 0..1.

    Digits never touch: the next one starts a small gap after the previous one's ink.
    """
    height = max(g.shape[0] for g in glyphs)
    steps = []
    for glyph, following in zip(glyphs, glyphs[1:], strict=False):
        cols = np.flatnonzero(glyph.max(axis=0) > 0.05)
        next_cols = np.flatnonzero(following.max(axis=0) > 0.05)
        gap = int(side * rng.uniform(0.06, 0.25))
        steps.append(int(cols[-1]) + 1 + gap - int(next_cols[0]))
    starts = np.concatenate([[0], np.cumsum(steps)]).astype(int)
    starts -= starts.min()
    width = max(int(x) + g.shape[1] for x, g in zip(starts, glyphs, strict=True))
    jitter = [int(rng.integers(0, height - g.shape[0] + side // 12 + 1)) for g in glyphs]
    pad = [int(side * rng.uniform(0.05, 0.9)) for _ in range(4)]  # top, bottom, left, right
    ink = np.zeros((height + side // 12 + pad[0] + pad[1], width + pad[2] + pad[3]), np.float32)
    for glyph, dy, start in zip(glyphs, jitter, starts, strict=True):
        y, x = pad[0] + dy, pad[2] + int(start)
        region = ink[y:y + glyph.shape[0], x:x + glyph.shape[1]]
        np.maximum(region, glyph, out=region)
    return ink


def render(digits: Sequence[np.ndarray], style: str, rng: np.random.Generator,
           digit_px: tuple[int, int]) -> Image.Image:
    """Digits written in one of the styles: "photo" (dark ink on uneven paper, RGB), "chalk"
    (light on a dark board, RGB), "scan" (gray, even light, little noise) or "drawing" (one
    digit in dark blue ink on a transparent canvas, RGBA)."""
    if style == "drawing":
        alpha = Image.fromarray(np.asarray(digits[0], np.uint8)).resize(
            (digit_px[1], digit_px[1]), Image.Resampling.BICUBIC)
        picture = Image.new("RGBA", alpha.size, (20, 40, 120, 0))
        picture.putalpha(alpha)
        return picture
    if style == "scan":
        rgb = photo_like(digits, rng, digit_px=digit_px, noise=0.015, lighting=0.1)
        return Image.fromarray(rgb).convert("L")
    if style not in ("photo", "chalk"):
        raise ValueError(f"unknown style {style!r}")
    return Image.fromarray(photo_like(digits, rng, dark_background=style == "chalk",
                                      digit_px=digit_px))


# --------------------------------------------------------------------------- shipped examples


def unseen_sample_rows() -> np.ndarray:
    """The embedded sample's test rows (0-based) that no model of this project trains on.

    They are MNIST test images (`data.sample_rows`), so not among the sample's training rows,
    and their MNIST images fall among the hidden test rows of the local competition built from
    all of MNIST (`data.competition_rows`: MNIST's test images follow its 60,000 train images),
    so not among that competition's training rows either.
    """
    _, sample_test = data.sample_rows()
    _, competition_test = data.competition_rows()
    return np.flatnonzero(np.isin(data.MNIST_TRAIN_SIZE + sample_test, competition_test))


def example_rows(numbers: Sequence[str], labels: np.ndarray,
                 allowed: np.ndarray) -> list[list[int]]:
    """Rows for the digits of each number: for each digit, the next unused allowed row with
    that label (in row order), so that no row is written twice."""
    used: dict[int, int] = {}
    rows = []
    for number in numbers:
        picked = []
        for char in number:
            candidates = allowed[labels[allowed] == int(char)]
            picked.append(int(candidates[used.get(int(char), 0)]))
            used[int(char)] = used.get(int(char), 0) + 1
        rows.append(picked)
    return rows


def make_examples(out_dir: str | os.PathLike, seed: int = EXAMPLES_SEED) -> list[Path]:
    """Write the shipped example pictures (`images.EXAMPLES`), deterministically.

    The digits are sample test rows from `unseen_sample_rows`, the first ones with each label,
    and the rendering is seeded.
    """
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    labels = data.read_answer_key(folder / "answer_key.csv.gz")
    numbers = [number for _, number in EXAMPLES]
    rng = np.random.default_rng(seed)
    written = []
    for (name, number), rows in zip(EXAMPLES, example_rows(numbers, labels,
                                                          unseen_sample_rows()), strict=True):
        size = (60, 80) if len(number) > 1 else (120, 160)
        picture = render(list(test[rows]), EXAMPLE_STYLES[name], rng, size)
        written.append(_save(picture, Path(out_dir) / name))
    return written


def _save(picture: Image.Image, path: Path) -> Path:
    with fileio.atomic_path(path) as tmp:
        if path.suffix == ".jpg":
            picture.save(tmp, format="JPEG", quality=85)
        else:
            picture.save(tmp, format="PNG", optimize=True)
    return path


# --------------------------------------------------------------------------- test pictures


@dataclass
class Rendered:
    """A picture of a number written with labelled digits."""

    picture: Image.Image
    number: str  # what is written, left to right
    style: str
    rows: tuple[int, ...]  # the rows of the digits it was written with

    @property
    def name(self) -> str:
        return f"{self.style}_{self.number}"


def render_numbers(digits: np.ndarray, labels: np.ndarray, count: int, seed: int,
                   lengths: tuple[int, int] = (1, 5),
                   styles: Sequence[str] = STYLES) -> list[Rendered]:
    """`count` pictures of numbers of `lengths[0]`..`lengths[1]` digits, each written with rows
    of `digits` (uint8, n x 28 x 28) drawn without replacement, styles in turn, seeded."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(lengths[0], lengths[1] + 1, count)
    if sizes.sum() > len(digits):
        raise ValueError(f"{sizes.sum()} digits wanted, only {len(digits)} rows given")
    order = rng.permutation(len(digits))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    rendered = []
    for i, size in enumerate(sizes):
        rows = tuple(int(r) for r in order[starts[i]:starts[i] + size])
        style = styles[i % len(styles)]
        picture = render(list(digits[list(rows)]), style, rng,
                         (60, 110) if size > 1 else (110, 200))
        rendered.append(Rendered(picture, "".join(str(labels[r]) for r in rows), style, rows))
    return rendered
