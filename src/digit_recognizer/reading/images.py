"""Read digits from photos and scans: loading, MNIST-style preprocessing, splitting numbers.

MNIST was made by taking each scanned digit, scaling its bounding box so that the longer side
is 20 pixels (keeping the aspect ratio, anti-aliased), and placing it in a 28x28 frame so that
its centre of mass falls on the frame's centre, white ink on black. `prepare` does the same to a
photo of your own handwriting:

1. load with Pillow (any size, mode or format it reads), downscaled first, to grayscale;
2. smooth the sensor noise, find the background (the median of the picture) and invert when
   it is light, so that ink is bright; subtract the lighting (a morphological opening);
3. separate ink from paper with Otsu's threshold and split the ink into connected components,
   merging the pieces of one digit (they overlap or touch) and dropping specks and dashes;
4. for each digit, left to right: crop to its ink, thicken thin pen strokes to MNIST's stroke
   width, scale the longer side to 20 px, and centre it by its centre of mass in 28x28.

Before step 2, a photo of a sheet of paper lying on a desk is cut to the sheet and
straightened (`sheet.find_sheet`), and its ruled lines are taken out; dark marks on a
background darker than paper (a pen on a desk) are no writing at all.

Limits: one line of digits; digits that touch are read as one.

The result is uint8 like the training CSVs (0 = background, 255 = ink); the models take /255.
This module needs no TensorFlow.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage import filters, measure, morphology

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import sheet

IMAGE_SIDE = 28
BOX_SIDE = 20
# Longest side a picture is downscaled to before anything else: plenty for a line of digits.
WORK_SIDE = 1024
# Pictures with more pixels are refused (decompression bombs, or simply too big to decode):
# Pillow's own limit, one limit for every format, stated in the page and the README.
DEFAULT_MAX_PIXELS = 89_478_485
# Median stroke width of MNIST digits, in pixels of the 20-pixel box (measured on the sample).
MNIST_STROKE = 2.9
# A resolution of 4x the 20-pixel box is where strokes are measured and thickened.
DETAIL = 4
MAX_DIGITS = 40
# A ruled line runs straight across at least this share of the sheet's width.
RULE_LENGTH = 0.3
# Dark marks on a background darker than this are not writing on paper: a pen on a desk.
LIGHT_SURFACE = 0.45
FORMATS = "PNG, JPEG, BMP or TIFF"


@dataclass
class Digit:
    """One digit found in a picture, ready for the model."""

    image: np.ndarray  # uint8 (28, 28), MNIST-style: bright ink on black
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the working picture


@dataclass
class Prepared:
    """A picture and the digits read from it, left to right."""

    source: str
    gray: np.ndarray  # float32 (h, w) in 0..1, the downscaled grayscale picture as it looks
    preview: np.ndarray  # uint8 (h, w[, 3 or 4]), the same picture in colour, for figures
    original_size: tuple[int, int]  # (width, height) of the file
    inverted: bool  # True when the background was light (dark ink on paper)
    digits: list[Digit] = field(default_factory=list)

    @property
    def inputs(self) -> np.ndarray:
        """The digits as one uint8 array (n, 28, 28)."""
        return np.stack([d.image for d in self.digits])


# --------------------------------------------------------------------------- loading


def _pixel_limit() -> int:
    return Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS


def size_limit_text() -> str:
    """The limit as the page, the errors and the README state it."""
    return f"pictures of up to {_pixel_limit() / 1e6:.0f} megapixels are read"


def _too_big(name: str, size: str) -> DigitRecognizerError:
    return DigitRecognizerError(f"{name}: image is too large to decode safely: {size}; "
                                f"{size_limit_text()}: downscale it first")


def open_image(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Read a picture file as float32 grayscale in 0..1, downscaled to at most WORK_SIDE.

    Returns (gray, preview, (width, height)): the picture, the same in colour (uint8) for
    figures, and the file's original size. Every problem (missing, not an image, truncated,
    too big) is a DigitRecognizerError naming the file.
    """
    path = Path(path)
    if path.is_dir():
        raise DigitRecognizerError(f"{path}: is a directory, not an image")
    if not path.exists():
        raise DigitRecognizerError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DigitRecognizerError(f"{path}: the file is empty (0 bytes): send the picture "
                                   "again")
    try:
        with warnings.catch_warnings():
            # Over Pillow's limit it warns; we check the size ourselves just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:  # Pillow's hard limit, twice its MAX_IMAGE_PIXELS
        raise _too_big(str(path), f"over {2 * _pixel_limit() / 1e6:.0f} megapixels") from None
    except UnidentifiedImageError:
        raise DigitRecognizerError(
            f"{path}: not an image (expected a {FORMATS} file)"
        ) from None
    except OSError as exc:
        raise DigitRecognizerError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    with image:
        width, height = image.size
        size = f"{width}x{height} pixels ({width * height / 1e6:.0f} megapixels)"
        if width * height > _pixel_limit():
            raise _too_big(str(path), size)
        try:
            work = _work_image(image)
            gray = _gray(work)
            preview = _preview(work, gray)
        except DigitRecognizerError as exc:
            raise DigitRecognizerError(f"{path}: {exc}") from None
        except MemoryError:
            raise _too_big(str(path), size) from None
        except Exception as exc:  # Pillow raises many types for corrupt files
            detail = str(exc) or type(exc).__name__
            raise DigitRecognizerError(
                f"{path}: cannot decode the image (damaged or truncated file?): {detail}"
            ) from None
    return gray, preview, (width, height)


def to_gray(image: Image.Image | np.ndarray) -> np.ndarray:
    """Any Pillow image or array (gray, RGB, RGBA, 16-bit...) as float32 gray in 0..1.

    The picture is downscaled to at most WORK_SIDE on its longer side first (JPEGs are decoded
    at reduced size), so memory stays small whatever the input. Transparent areas take the
    paper's colour: the opposite of the ink for a drawing on a transparent canvas, the median
    colour of the picture otherwise.
    """
    return _gray(_work_image(image))


def _work_image(image: Image.Image | np.ndarray) -> Image.Image:
    """The picture upright, in mode L, RGB, RGBA, I or F, at most WORK_SIDE on its longer side."""
    if isinstance(image, np.ndarray):
        image = _from_array(image)
    if min(image.size) == 0:
        raise DigitRecognizerError("image is empty (0 pixels)")
    if image.mode in ("L", "RGB"):  # JPEG: decode at 1/2, 1/4 or 1/8 scale when that suffices
        image.draft(image.mode, (WORK_SIDE, WORK_SIDE))
    image = ImageOps.exif_transpose(image)
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if transparent:
        image = image.convert("RGBA")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode not in ("L", "RGB", "I", "F"):
        image = image.convert("RGB")
    factor = max(image.size) // WORK_SIDE
    if factor >= 2:  # a cheap integer box reduction before the exact resize
        image = image.reduce(factor)
    if max(image.size) > WORK_SIDE:
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    image.load()
    return image


def _gray(image: Image.Image) -> np.ndarray:
    if image.mode == "RGBA":
        luminance = np.asarray(image.convert("RGB").convert("L"), dtype=np.float32) / 255
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255
        return _fill_transparent(luminance, alpha)
    if image.mode in ("L", "RGB"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255
    array = np.asarray(image, dtype=np.float32)
    if image.mode == "I":  # 16-bit (or 32-bit integer) scans
        top = 65535.0 if array.max() > 255 else 255.0
    else:  # "F": floating point, 0..1 or 0..255
        top = 1.0 if array.max() <= 1 else 255.0
    return np.clip(np.nan_to_num(array) / top, 0, 1)


def _preview(image: Image.Image, gray: np.ndarray) -> np.ndarray:
    """The picture as it looks (uint8 RGB, RGBA or gray), for figures."""
    if image.mode in ("L", "RGB", "RGBA"):
        return np.asarray(image)
    return np.round(gray * 255).astype(np.uint8)


def _from_array(array: np.ndarray) -> Image.Image:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise DigitRecognizerError(
            f"an image array must be (h, w), (h, w, 3) or (h, w, 4), not {array.shape}"
        )
    if array.dtype.kind == "f":
        scale = 255.0 if np.nanmax(array) <= 1 else 1.0
        array = np.clip(np.nan_to_num(array) * scale, 0, 255).round().astype(np.uint8)
    elif array.dtype == np.uint16 and array.ndim == 2:
        return Image.fromarray(array)  # 16-bit grayscale
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def _fill_transparent(luminance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    if alpha.min() >= 1.0:
        return luminance
    opaque = alpha > 0.5
    if not opaque.any():
        raise DigitRecognizerError("image is fully transparent: no ink found")
    if opaque.mean() < 0.5:  # a drawing on a transparent canvas: alpha is the ink
        paper = 1.0 if np.average(luminance, weights=alpha) < 0.5 else 0.0
    else:  # a picture with transparent margins: fill them like its paper
        paper = float(np.median(luminance[opaque]))
    return (alpha * luminance + (1 - alpha) * paper).astype(np.float32)


# --------------------------------------------------------------------------- preprocessing


def _resize(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of a float image (Pillow's Lanczos filter), clipped to 0..1."""
    height, width = max(1, shape[0]), max(1, shape[1])
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32))
    resized = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def ink_image(gray: np.ndarray, ruled: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """Ink intensity (0..1, bright ink on black) and ink mask of a grayscale picture.

    With `ruled` (an upright sheet of paper), the ruled lines are taken out first: marks
    that run straight across a good part of the sheet (`RULE_LENGTH`), which no digit does.

    Returns (ink, mask, inverted). Noise is smoothed with a small Gaussian first. The
    background is the picture's median: light when it is nearer the brightest than the darkest
    point (dark ink on paper), and then the picture is inverted. Uneven lighting is removed by
    subtracting a morphological opening (computed at low resolution with a disk wider than any
    stroke, it keeps only the lighting), and Otsu's threshold on the result separates ink from
    background.
    """
    side = max(gray.shape)
    smooth = filters.gaussian(gray.astype(np.float32), sigma=float(np.clip(side / 500, 0.5, 2.0)))
    median = float(np.median(smooth))
    inverted = bool(float(smooth.max()) - median < median - float(smooth.min()))
    bright = 1 - smooth if inverted else smooth
    # Lighting: the opening of a 64-pixel copy with a disk a fifth of its shorter side.
    factor = min(1.0, 64 / side)
    small = _resize(bright, (round(bright.shape[0] * factor), round(bright.shape[1] * factor)))
    radius = max(2, round(min(small.shape) / 5))
    disk = morphology.disk(radius, decomposition="sequence")
    background = morphology.opening(np.pad(small, radius, mode="reflect"), disk)
    background = background[radius:-radius, radius:-radius]
    background = filters.gaussian(background, sigma=radius / 2)
    background = np.asarray(Image.fromarray(background.astype(np.float32)).resize(
        (bright.shape[1], bright.shape[0]), Image.Resampling.BILINEAR))
    flat = np.clip(bright - background, 0, None).astype(np.float32)
    if ruled:
        length = max(15, round(RULE_LENGTH * flat.shape[1]))
        rules = ndimage.maximum_filter1d(ndimage.minimum_filter1d(flat, length, axis=1),
                                         length, axis=1)
        flat = np.clip(flat - rules, 0, None)
    if float(np.percentile(flat, 99.99)) - float(np.median(flat)) < 0.08:  # no contrast
        return np.zeros_like(flat), np.zeros(flat.shape, bool), inverted
    threshold = filters.threshold_otsu(flat)
    mask = flat > threshold
    # Ink: the median stroke pixel and above is full ink (255 in MNIST); the soft edges of the
    # strokes, down to half the threshold, fade to 0 as MNIST's anti-aliased edges do.
    top = float(np.median(flat[mask]))
    floor = 0.5 * threshold
    ink = np.clip((flat - floor) / max(top - floor, 1e-3), 0, 1)
    # Blank paper with noise splits into "ink" and "paper" too: demand a clear separation.
    spread = float(flat[~mask].std()) if (~mask).any() else 0.0
    if float(flat[mask].mean()) - float(flat[~mask].mean()) < 5 * spread:
        return np.zeros_like(flat), np.zeros(flat.shape, bool), inverted
    return ink.astype(np.float32), mask, inverted


def find_digits(
    mask: np.ndarray, margin: int = 2
) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Split an ink mask into digits, left to right: [(digit mask, (left, top, right, bottom))].

    Each digit's box and mask extend `margin` pixels beyond its ink.

    Connected components (8-neighbourhood) that overlap horizontally by at least half the
    narrower one's width are pieces of one digit (the bar of a 5, a broken stroke). Specks
    (under 1% of the largest component) are dropped, and so are marks much shorter than the
    tallest digit (a dash in a phone number, a dot) unless they touch a digit beside them.
    """
    labels = measure.label(mask, connectivity=2)
    regions = measure.regionprops(labels)
    if not regions:
        return []
    largest = max(r.area for r in regions)
    regions = [r for r in regions if r.area >= max(0.01 * largest, 4)]
    groups: list[dict] = []
    for region in sorted(regions, key=lambda r: r.bbox[1]):
        top, left, bottom, right = region.bbox
        for group in groups:
            overlap = min(right, group["right"]) - max(left, group["left"])
            narrower = min(right - left, group["right"] - group["left"])
            if overlap >= 0.5 * narrower:
                group["labels"].append(region.label)
                group["left"], group["right"] = min(left, group["left"]), max(right, group["right"])
                group["top"], group["bottom"] = min(top, group["top"]), max(bottom, group["bottom"])
                break
        else:
            groups.append(dict(labels=[region.label], left=left, right=right, top=top,
                               bottom=bottom))
    tallest = max(g["bottom"] - g["top"] for g in groups)
    if tallest < 6:
        return []
    digits = [g for g in groups if g["bottom"] - g["top"] >= 0.4 * tallest]
    for mark in (g for g in groups if g["bottom"] - g["top"] < 0.4 * tallest):
        # A short mark touching a digit (a 5's bar written apart) belongs to it; others go.
        def gap(group: dict, mark: dict = mark) -> float:
            across = max(mark["left"], group["left"]) - min(mark["right"], group["right"])
            down = max(mark["top"], group["top"]) - min(mark["bottom"], group["bottom"])
            return max(across, 0) + max(down - 0.15 * tallest, 0)

        owner = min(digits, key=gap)
        if gap(owner) <= 0.1 * tallest:
            owner["labels"] += mark["labels"]
            for side, pick in (("left", min), ("top", min), ("right", max), ("bottom", max)):
                owner[side] = pick(owner[side], mark[side])
    found = []
    height, width = mask.shape
    for group in sorted(digits, key=lambda g: (g["left"] + g["right"]) / 2):
        # A margin around the digit keeps the soft edges of its strokes.
        box = (max(0, group["left"] - margin), max(0, group["top"] - margin),
               min(width, group["right"] + margin), min(height, group["bottom"] + margin))
        crop = np.isin(labels[box[1]:box[3], box[0]:box[2]], group["labels"])
        if margin:
            crop = morphology.dilation(crop, morphology.disk(margin))
        found.append((crop, box))
    return found


def _stroke_width(mask: np.ndarray) -> float:
    skeleton = morphology.skeletonize(mask)
    return float(mask.sum()) / max(int(skeleton.sum()), 1)


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """One digit's ink (float 0..1, cropped to it) as a 28x28 uint8 MNIST image.

    The longer side becomes 20 pixels (aspect ratio kept, anti-aliased), strokes thinner than
    MNIST's are thickened, and the digit is placed so that its centre of mass is at (14, 14),
    where MNIST's is.
    """
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    if len(rows) == 0:
        return np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.uint8)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = ink.shape
    scale = DETAIL * BOX_SIDE / max(height, width)
    detail = _resize(ink, (round(height * scale), round(width * scale)))
    strokes = detail > 0.5
    if strokes.any():
        width_now = _stroke_width(strokes)
        target = MNIST_STROKE * DETAIL
        if width_now < 0.6 * target:
            radius = max(1, round((0.85 * target - width_now) / 2))
            detail = morphology.dilation(np.pad(detail, radius), morphology.disk(radius))
    h, w = detail.shape
    scale = BOX_SIDE / max(h, w)
    box = _resize(detail, (max(1, round(h * scale)), max(1, round(w * scale))))
    if box.max() > 0:
        box = box / box.max()
    total = box.sum()
    rows, cols = np.indices(box.shape)
    com_row = (rows * box).sum() / total if total else box.shape[0] / 2
    com_col = (cols * box).sum() / total if total else box.shape[1] / 2
    top = int(np.clip(round(IMAGE_SIDE / 2 - com_row), 0, IMAGE_SIDE - box.shape[0]))
    left = int(np.clip(round(IMAGE_SIDE / 2 - com_col), 0, IMAGE_SIDE - box.shape[1]))
    frame = np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float32)
    frame[top:top + box.shape[0], left:left + box.shape[1]] = box
    return np.round(frame * 255).astype(np.uint8)


def prepare(
    image: str | os.PathLike | Image.Image | np.ndarray, source: str | None = None,
    find_sheet: bool = True,
) -> Prepared:
    """Read the digits in a picture (a file path, a Pillow image or an array), left to right.

    With `find_sheet`, a photo of a sheet of paper lying on a desk is first cut to the sheet
    and straightened (`sheet.find_sheet`); other pictures are read whole.
    Raises DigitRecognizerError when the file cannot be read or no ink is found.
    """
    if isinstance(image, (str, os.PathLike)):
        source = source or str(image)
        gray, preview, size = open_image(image)
    else:
        source = source or "image"
        try:
            work = _work_image(image)
            size = image.size if isinstance(image, Image.Image) else \
                (np.shape(image)[1], np.shape(image)[0])
            gray = _gray(work)
            preview = _preview(work, gray)
        except DigitRecognizerError as exc:
            raise DigitRecognizerError(f"{source}: {exc}") from None
    paper = sheet.find_sheet(gray, preview) if find_sheet else None
    if paper is not None:
        gray, preview = paper.gray, paper.preview
    ink, mask, inverted = ink_image(gray, ruled=paper is not None)
    if inverted and float(np.median(gray)) < LIGHT_SURFACE:
        raise DigitRecognizerError(
            f"{source}: no digit found: no sheet of paper or other light surface in the "
            "picture (write in dark ink on light paper, and fill most of the frame with it)"
        )
    found = find_digits(mask)
    if not found:
        where = "on the sheet of paper" if paper is not None else "in the picture"
        raise DigitRecognizerError(
            f"{source}: no digit found: nothing is written {where} (write the digits darker, "
            "or fill more of the frame with them)"
        )
    if len(found) > MAX_DIGITS:
        raise DigitRecognizerError(
            f"{source}: found {len(found)} separate marks, more than {MAX_DIGITS} digits; crop "
            "the picture to one line of digits"
        )
    digits = []
    for digit_mask, box in found:
        crop = ink[box[1]:box[3], box[0]:box[2]] * digit_mask
        digits.append(Digit(mnist_style(crop), tuple(int(v) for v in box)))
    return Prepared(source, gray, preview, tuple(size), inverted, digits)


# --------------------------------------------------------------------------- shipped examples

# (file name, number written in it). The pictures are made by `picture_makers.make_examples`
# (`digit-recognizer predict --make-examples DIR`), which this module never imports.
EXAMPLES = (
    ("seven.jpg", "7"),
    ("three.png", "3"),
    ("four_chalk.jpg", "4"),
    ("year_1969.jpg", "1969"),
    ("phone_5550123.png", "5550123"),
)


def example_dir() -> Path:
    """The folder of example pictures shipped with the package."""
    from importlib import resources

    return Path(str(resources.files("digit_recognizer") / "example_images"))


def example_images() -> list[Path]:
    return [example_dir() / name for name, _ in EXAMPLES]


def example_numbers() -> dict[str, str]:
    """The number written in each example picture, by file name."""
    return dict(EXAMPLES)
