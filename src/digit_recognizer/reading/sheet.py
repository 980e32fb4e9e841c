"""Find the sheet of paper in a photo and keep only what is written on it.

People photograph a page lying on a table: the frame shows the desk, the sheet's edges and
their shadow, a pen beside it. Read as they are, those become "ink" (the sheet's outline was
read as a 0). `find_sheet` looks for a light region that stands apart from a darker
surrounding, straightens it by the angle of its edges, and returns the picture with everything
outside the sheet painted as paper:

1. at 256 pixels, Otsu's threshold splits light from dark (or, if that finds no sheet, the
   lowest of three classes' thresholds: a shadow across the sheet); the largest light region,
   its holes filled (the writing), is the sheet candidate;
2. it is a sheet only if it covers between 5% and 97% of the frame, is mostly blank and
   nearly convex (not a bold stroke or a ring of ink), and there is a clear gap between its
   brightness and its surrounding's (a lighting gradient across paper has none);
3. the sheet's edges vote in a Hough transform (`skimage.transform.hough_line`) for its tilt;
4. the picture and the mask are turned upright; the mask is shrunk by a margin (the sheet's
   edges and their shadow go); outside it, each pixel takes the nearest inside pixel's value
   (the paper runs on, so no step is left to read as a stroke); the picture is cropped to it.

Pictures without such a sheet (a tight crop, a drawing, a scan, chalk on a board) come back
unchanged, as None. Needs no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import filters, measure, transform

SMALL_SIDE = 256  # the side the sheet is looked for at
MIN_AREA, MAX_AREA = 0.05, 0.97  # of the frame
MIN_GAP = 0.08  # between the sheet's paper's darker 5% and its surrounding's lighter 5%
MIN_BLANK = 0.85  # of the sheet is light (paper, not writing)
MIN_SOLIDITY = 0.9  # of its convex hull that the sheet fills
EDGE_MARGIN = 0.02  # of the sheet's shorter side, shaved off its outline
MAX_TILT = 30.0  # degrees; a steeper sheet is read as it lies


@dataclass
class Sheet:
    """The sheet found in a picture, straightened."""

    gray: np.ndarray  # float32 0..1, the sheet alone, upright, outside painted as paper
    preview: np.ndarray  # the same crop and rotation of the colour picture
    tilt: float  # degrees the sheet lay turned by (counter-clockwise positive)
    area: float  # share of the frame it covered


def find_sheet(gray: np.ndarray, preview: np.ndarray | None = None) -> Sheet | None:
    """The sheet of paper in `gray` (float 0..1), or None where no sheet stands out."""
    height, width = gray.shape
    factor = min(1.0, SMALL_SIDE / max(height, width))
    small = transform.resize(gray, (max(8, round(height * factor)), max(8, round(width * factor))),
                             anti_aliasing=True)
    small = filters.gaussian(small, sigma=1.0)
    # Otsu's split of light from dark; where a shadow darkens part of the sheet, the lower of
    # three classes' thresholds (desk | shaded paper | lit paper) keeps the sheet whole.
    for threshold in (filters.threshold_otsu(small), _lowest_of_three(small)):
        found = _sheet_mask(small, threshold)
        if found is not None:
            break
    else:
        return None
    mask, area = found
    turn = _turn(mask)
    upright = _rotate(gray, turn)
    # Beyond the frame is not sheet: the turned mask is 0 there.
    full = transform.resize(_rotate(mask.astype(np.float32), turn, fill=0.0), upright.shape,
                            order=1) > 0.5
    margin = max(1, round(EDGE_MARGIN * min(_extent(full))))
    # The frame's border counts as the sheet's edge too: what lies along it (the desk's last
    # pixels, a shadow) is shaved off with the rest of the outline.
    inside = ndimage.distance_transform_edt(np.pad(full, 1))[1:-1, 1:-1] > margin
    if not inside.any():
        return None
    # Outside the sheet, each pixel takes the value of the nearest pixel inside it: the paper
    # runs on with its own light and shade, and no step is left to be read as a stroke.
    _, (rows, cols) = ndimage.distance_transform_edt(~inside, return_indices=True)
    kept_rows, kept_cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    crop = (slice(kept_rows[0], kept_rows[-1] + 1), slice(kept_cols[0], kept_cols[-1] + 1))
    shown = _rotate(preview, turn) if preview is not None else upright
    return Sheet(upright[rows, cols][crop].astype(np.float32), shown[rows, cols][crop], -turn,
                 area)


def _lowest_of_three(small: np.ndarray) -> float | None:
    try:
        return float(filters.threshold_multiotsu(small, classes=3)[0])
    except ValueError:  # too few grey levels
        return None


def _sheet_mask(small: np.ndarray, threshold: float | None) -> tuple[np.ndarray, float] | None:
    """The light region above `threshold` that passes for a sheet, and its share of the
    frame; None if none does."""
    if threshold is None:
        return None
    light = small > threshold
    labels = measure.label(light, connectivity=1)
    if labels.max() == 0:
        return None
    largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    paper = labels == largest
    mask = ndimage.binary_fill_holes(paper)
    area = float(mask.mean())
    if not MIN_AREA <= area <= MAX_AREA:
        return None
    # A sheet is mostly blank paper, and nearly convex: not a bold stroke, nor a ring of ink.
    if light[mask].mean() < MIN_BLANK or \
            mask.sum() < MIN_SOLIDITY * measure.regionprops(mask.astype(np.uint8))[0].area_convex:
        return None
    # Away from the outline, where the blur mixes paper and desk.
    paper_core = ndimage.binary_erosion(paper, iterations=3)
    desk_core = ndimage.binary_erosion(~mask, iterations=3)
    if not paper_core.any() or not desk_core.any() or \
            np.percentile(small[paper_core], 5) - np.percentile(small[desk_core], 95) < MIN_GAP:
        return None
    return mask, area


def _turn(mask: np.ndarray) -> float:
    """The turn (degrees, counter-clockwise, within +-45) that sets the sheet's straight edges
    square with the frame."""
    edges = mask ^ ndimage.binary_erosion(mask)
    edges[[0, -1], :] = False  # where the sheet runs off the frame is not an edge of it
    edges[:, [0, -1]] = False
    if edges.sum() < 20:
        return 0.0
    angles = np.deg2rad(np.arange(-90, 90, 0.5))
    accumulator, thetas, _ = transform.hough_line(edges, theta=angles)
    best = np.unravel_index(np.argmax(accumulator), accumulator.shape)[1]
    turn = (np.rad2deg(thetas[best]) + 45) % 90 - 45
    return float(turn) if abs(turn) <= MAX_TILT else 0.0


def _extent(mask: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) if len(rows) else mask.shape


def _rotate(image: np.ndarray, turn: float, fill: float | None = None) -> np.ndarray:
    """`image` turned by `turn` degrees (counter-clockwise), grown to hold it all; the corners
    this adds take `fill`, or the nearest edge's values."""
    if abs(turn) < 0.25:
        return image
    as_float = image.astype(np.float32) / 255 if image.dtype == np.uint8 else image
    rotated = transform.rotate(as_float, turn, resize=True, order=1,
                               mode="edge" if fill is None else "constant", cval=fill or 0.0)
    return np.round(rotated * 255).astype(np.uint8) if image.dtype == np.uint8 else \
        rotated.astype(np.float32)
