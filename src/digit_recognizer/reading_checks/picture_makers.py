"""Make pictures of handwriting from MNIST digits: the shipped examples and test pictures.

Without real photos in the repository, 28x28 MNIST digits are rendered as photos of paper
(dark ink, uneven light, noise), chalk on a board, gray flatbed scans or a drawing app's
transparent canvas. Only the notebooks, the tests and `digit-recognizer predict
--make-examples` use this module: the code that reads pictures (`images`, `predict`, `demo`)
never imports it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digit_recognizer import fileio
from digit_recognizer.datasets import data, reference
from digit_recognizer.reading.images import EXAMPLES

STYLES = ("photo", "chalk", "scan")
HELD_OUT_STYLES = (*STYLES, "desk")  # 09's pictures of numbers: and phone photos of a sheet
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
    (light on a dark board, RGB), "scan" (gray, even light, little noise), "desk" (a phone
    photo of a sheet lying on a desk, `desk_photo`; `digit_px` is its own) or "drawing" (one
    digit in dark blue ink on a transparent canvas, RGBA)."""
    if style == "desk":
        return desk_photo(digits, rng)
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

    The digits are sample test rows from `data.unseen_sample_rows`, the first ones with each label,
    and the rendering is seeded.
    """
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    labels = data.read_answer_key(folder / "answer_key.csv.gz")
    numbers = [number for _, number in EXAMPLES]
    rng = np.random.default_rng(seed)
    written = []
    for (name, number), rows in zip(EXAMPLES, example_rows(numbers, labels,
                                                          reference.unseen_sample_rows()),
                                                          strict=True):
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


# --------------------------------------------------------------------------- photos of a sheet

# Desks a sheet of paper lies on (RGB 0..1): wood, gray laminate, a dark desk, a green mat.
DESKS = ((0.47, 0.31, 0.18), (0.36, 0.36, 0.38), (0.16, 0.15, 0.17), (0.22, 0.36, 0.25))
# Phone photos' sizes (width, height), portrait or landscape.
PHONE_SIZES = ((1200, 1600), (960, 1280), (1536, 2048), (1600, 1200))
NON_DIGITS = ("blank sheet", "desk", "letters")


def desk_photo(digits: Sequence[np.ndarray] | None, rng: np.random.Generator, *,
               letters: str = "", ruled: bool | None = None) -> Image.Image:
    """A phone photo of a sheet of paper lying on a desk, RGB, with the digits (28x28 MNIST,
    bright on black) written on it in dark ink, or `letters` in a font, or nothing.

    The sheet is tilted (up to 8 degrees), fills half to all of the frame (its edges may leave
    it), sometimes ruled; the desk is wood, laminate, dark or a mat, with a pen beside the
    sheet half of the time; the light is uneven with a soft shadow; the photo is a little
    blurred, saved as JPEG, and sized as phones take them.
    """
    side = int(rng.integers(60, 111))
    if digits is not None and len(digits):
        ink = _line_of([_glyph(d, side, 8.0, rng) for d in digits], side, rng)
    elif letters:
        ink = _letters(letters, side)
    else:
        ink = np.zeros((side, side * 3), np.float32)
    sheet = _sheet(ink, side, rng, ruled=bool(rng.random() < 0.4) if ruled is None else ruled)
    size = PHONE_SIZES[int(rng.integers(len(PHONE_SIZES)))]
    frame = on_desk(sheet, size, rng, tilt=float(rng.uniform(-8, 8)),
                    fill=float(rng.uniform(0.5, 1.05)), pen=bool(rng.random() < 0.5))
    width, height = size
    picture = np.asarray(frame, np.float32) / 255
    picture = picture * _light(height, width, rng)[:, :, None]
    picture += rng.normal(0, 0.015, picture.shape)
    photo = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8))
    photo = photo.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.6))))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=int(rng.integers(60, 92)))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def on_desk(sheet: Image.Image, size: tuple[int, int], rng: np.random.Generator, *,
            tilt: float, fill: float, pen: bool) -> Image.Image:
    """`sheet` (RGBA) lying on a desk, turned by `tilt` degrees, its longer side `fill` of the
    frame's (`size`: width, height), near the centre, with a pen beside it or not. RGB."""
    width, height = size
    frame = _desk(width, height, rng)
    scale = fill * max(width, height) / max(sheet.width, sheet.height)
    if sheet.width > sheet.height and width < height:  # keep the writing's size sensible
        scale = fill * width / sheet.width
    sheet = sheet.resize((max(1, round(sheet.width * scale)), max(1, round(sheet.height * scale))),
                         Image.Resampling.BICUBIC)
    sheet = sheet.rotate(tilt, Image.Resampling.BICUBIC, expand=True)
    x = int((width - sheet.width) / 2 + rng.uniform(-0.1, 0.1) * width)
    y = int((height - sheet.height) / 2 + rng.uniform(-0.1, 0.1) * height)
    if pen:
        _pen(frame, rng)
    frame.paste(sheet, (x, y), sheet)
    return frame


def _letters(text: str, side: int) -> np.ndarray:
    """Letters in a plain font, about as tall as a digit written at `side`, as float ink."""
    font = ImageFont.load_default(size=int(side * 0.8))
    left, top, right, bottom = font.getbbox(text, stroke_width=max(1, side // 25))
    canvas = Image.new("L", (right + side // 2, bottom + side // 2), 0)
    ImageDraw.Draw(canvas).text((side // 4 - left, side // 4 - top), text, fill=255, font=font,
                                stroke_width=max(1, side // 25), stroke_fill=255)
    return np.asarray(canvas, np.float32) / 255


def _sheet(ink: np.ndarray, side: int, rng: np.random.Generator, ruled: bool) -> Image.Image:
    """The writing on a sheet of paper (A4's 1:1.41, portrait or landscape), RGBA."""
    portrait = rng.random() < 0.5
    width = max(ink.shape[1] + 2 * side, int(ink.shape[0] * 3))
    height = int(width * (1.41 if portrait else 1 / 1.41))
    height = max(height, ink.shape[0] + 2 * side)
    top = int(rng.uniform(0.15, 0.7) * (height - ink.shape[0]))
    left = int(rng.uniform(0.2, 0.8) * (width - ink.shape[1]))
    writing = np.zeros((height, width), np.float32)
    writing[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    paper = np.full((height, width, 3), rng.uniform(0.86, 0.97), np.float32)
    paper *= np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 0.99)], np.float32)
    if ruled:  # light blue lines, a digit and a half apart, the writing sitting on one
        spacing = int(side * rng.uniform(1.2, 1.6))
        for row in range((top + ink.shape[0]) % spacing, height, spacing):
            paper[row:row + max(1, side // 40)] *= np.array([0.78, 0.85, 1.0], np.float32)
    color = np.array([0.1, 0.1, 0.2], np.float32) * rng.uniform(0.3, 1.2)
    darkness = rng.uniform(0.8, 0.95) * writing[:, :, None]
    paper = paper * (1 - darkness) + color * darkness
    rgba = np.dstack([np.round(paper * 255), np.full((height, width), 255)]).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def _desk(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A desk's surface: one of DESKS, with wood grain or a mottled texture."""
    base = np.array(DESKS[int(rng.integers(len(DESKS)))], np.float32) * rng.uniform(0.85, 1.15)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    grain = 0.06 * np.sin(2 * np.pi * (rng.uniform(8, 30) * rows + 0.5 * np.sin(
        2 * np.pi * rng.uniform(1, 3) * cols)))
    texture = 1 + grain + rng.normal(0, 0.02, (height, width)).astype(np.float32)
    surface = np.clip(base[None, None, :] * texture[:, :, None], 0, 1)
    return Image.fromarray(np.round(surface * 255).astype(np.uint8))


def _pen(frame: Image.Image, rng: np.random.Generator) -> None:
    """A dark pen lying on the desk near the frame's left or right edge."""
    width, height = frame.size
    length, thick = int(height * rng.uniform(0.3, 0.5)), int(width * rng.uniform(0.02, 0.035))
    pen = Image.new("RGBA", (thick, length), (0, 0, 0, 0))
    ImageDraw.Draw(pen).rounded_rectangle((0, 0, thick - 1, length - 1), radius=thick // 2,
                                          fill=(25, 25, 60, 255))
    pen = pen.rotate(float(rng.uniform(-25, 25)), Image.Resampling.BICUBIC, expand=True)
    x = int(rng.uniform(0.01, 0.06) * width) if rng.random() < 0.5 else \
        int(width - pen.width - rng.uniform(0.01, 0.06) * width)
    frame.paste(pen, (x, int(rng.uniform(0.1, 0.5) * height)), pen)


def _light(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Uneven light (a gradient) times a soft shadow (a phone or a hand), 0..1."""
    rows, cols = np.indices((height, width), dtype=np.float32)
    rows /= height
    cols /= width
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (cols - 0.5) + np.sin(angle) * (rows - 0.5) + 0.5
    light = 1 - rng.uniform(0.1, 0.3) * ramp
    cy, cx, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.2, 0.4)
    shadow = np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * radius ** 2))
    return (light * (1 - rng.uniform(0.1, 0.3) * shadow)).astype(np.float32)


def render_desk_photos(digits: np.ndarray, labels: np.ndarray, count: int, seed: int,
                       lengths: tuple[int, int] = (3, 5)) -> list[Rendered]:
    """`count` desk photos of numbers (`desk_photo`): `render_numbers` in the "desk" style."""
    return render_numbers(digits, labels, count, seed, lengths, styles=("desk",))


def render_non_digits(count: int, seed: int) -> list[Rendered]:
    """`count` desk photos with no digit on them: a blank sheet, the desk alone, letters."""
    rng = np.random.default_rng(seed)
    rendered = []
    for i in range(count):
        kind = NON_DIGITS[i % len(NON_DIGITS)]
        if kind == "desk":
            width, height = PHONE_SIZES[int(rng.integers(len(PHONE_SIZES)))]
            frame = _desk(width, height, rng)
            if rng.random() < 0.7:
                _pen(frame, rng)
            picture = frame
        else:
            word = "".join(rng.choice(list("ACEFHKLMNPRTWXYaehknrtwxy"), int(rng.integers(1, 4))))
            picture = desk_photo(None, rng, letters=word if kind == "letters" else "")
        rendered.append(Rendered(picture, "", kind.replace(" ", "_"), ()))
    return rendered
