"""Read your own handwriting with a trained model: predictions, top-3 and a figure.

`read_pictures(paths, model)` prepares each picture the way MNIST was made (see `images`),
runs the model once on all the digits and their one-pixel shifts, and returns one `Reading`
per picture: the number read, each digit's probability, top-3 and confidence (the least
probability a shift gives the reading), whether it is unsure, and whether any digit was found
at all (`calibration` says what the model's confidences are worth). `plot_reading`
draws the picture, each 28x28 input the model saw, and the probability bars.

TensorFlow is imported only inside `load_model` (and the model's own methods).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import images

if TYPE_CHECKING:  # calibration reads with this module
    from digit_recognizer.reading.calibration import Calibration

DEFAULT_MODEL = Path("outputs/models/best.keras")
DEFAULT_FIGURE_DIR = Path("outputs/predictions")
TOP_K = 3
# Each digit is read as it is and shifted by one pixel each way: a reading that holds under
# such shifts is made for a reason, one that flips is not (`confidence`).
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
# Below its model's own level (`calibration`) a digit is marked unsure; this level serves
# readings without a calibration.
UNSURE = 0.9
# A picture none of whose marks is a typical digit read with this confidence says "no digit".
NOT_A_DIGIT = 0.2
NOT_FOUND = "the marks in the picture do not look like digits"
BATCH = 256


@dataclass
class DigitReading:
    """The model's reading of one digit."""

    digit: int
    probability: float  # of `digit`, averaged over the input and its shifts
    probabilities: np.ndarray  # (10,) float, softmax, averaged likewise
    image: np.ndarray  # uint8 (28, 28), the input the model saw
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the working picture
    confidence: float = 1.0  # the least probability of `digit` over the input and its shifts
    typical: bool = True  # near the digits the model trained on (`calibration`)
    unsure_below: float = UNSURE  # the model's own level (`calibration`)

    @property
    def unsure(self) -> bool:
        return self.confidence < self.unsure_below or not self.typical

    @property
    def top(self) -> list[tuple[int, float]]:
        """The TOP_K most likely digits with their probabilities, most likely first."""
        order = np.argsort(-self.probabilities, kind="stable")[:TOP_K]
        return [(int(d), float(self.probabilities[d])) for d in order]


@dataclass
class Reading:
    """Everything read from one picture."""

    source: str
    prepared: images.Prepared
    digits: list[DigitReading]
    figure: Path | None = None

    @property
    def number(self) -> str:
        """The digits left to right, as a string (keeps leading zeros: "0123")."""
        return "".join(str(d.digit) for d in self.digits)

    @property
    def found(self) -> bool:
        """Whether any mark reads as a digit at all: read with a confidence of NOT_A_DIGIT or
        more, and near the digits the model knows or read without doubt (it is then shown,
        marked unsure). A letter, a doodle or a shadow is none."""
        return any(d.confidence >= NOT_A_DIGIT and (d.typical or d.confidence >= d.unsure_below)
                   for d in self.digits)

    def to_dict(self) -> dict:
        return {
            "image": self.source,
            "number": self.number if self.found else "",
            "size": list(self.prepared.original_size),
            "inverted": self.prepared.inverted,
            "digit_found": self.found,
            "digits": [
                {
                    "digit": d.digit,
                    "probability": round(d.probability, 6),
                    "confidence": round(d.confidence, 6),
                    "typical": d.typical,
                    "unsure": d.unsure,
                    "top3": [{"digit": k, "probability": round(p, 6)} for k, p in d.top],
                    "box": list(d.box),
                }
                for d in self.digits
            ],
            "figure": str(self.figure) if self.figure else None,
        }


def load_model(path: str | os.PathLike | None = None):
    """Load a saved Keras model that takes (n, 28, 28, 1) pixels/255 and gives 10 probabilities."""
    path = Path(path) if path else DEFAULT_MODEL
    if not path.is_file():
        if path.name == DEFAULT_MODEL.name:
            raise DigitRecognizerError(
                f"no trained model at {path}: run ./run_all.sh first (its 08_submit notebook "
                "saves the best model there), or pass --model PATH to a .keras file"
            )
        raise DigitRecognizerError(f"{path}: model file not found")
    if path.suffix not in (".keras", ".h5"):
        raise DigitRecognizerError(f"{path}: not a Keras model file (expected .keras)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    import keras

    _quiet_retracing()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for broken files
        raise DigitRecognizerError(f"{path}: cannot load the model: {exc}") from None
    try:
        inputs, outputs = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):
        inputs = outputs = ()
    if inputs[1:] not in ((28, 28, 1), (28, 28)) or outputs[-1:] != (10,):
        raise DigitRecognizerError(
            f"{path}: expected a model from (n, 28, 28, 1) images to 10 classes, got "
            f"{inputs} -> {outputs}"
        )
    return model


def _no_retracing_warning(record: logging.LogRecord) -> bool:
    return "triggered tf.function retracing" not in record.getMessage()


def _quiet_retracing() -> None:
    """Readings come in batches of every size (the digits of a picture and their shifts, the
    calibration's features), and each new size traces the model's predict function again:
    TensorFlow warns about that on stderr, into an executed notebook. The same filter as
    `learning.models` puts on it for the notebooks that train (a part that `reading` may not
    import)."""
    logger = logging.getLogger("tensorflow")
    if _no_retracing_warning not in logger.filters:
        logger.addFilter(_no_retracing_warning)


def model_input(model, inputs: np.ndarray) -> np.ndarray:
    """uint8 MNIST-style images (n, 28, 28) as the model takes them: pixels/255, a channel."""
    x = np.asarray(inputs, dtype=np.float32)[..., None] / 255.0
    return x[..., 0] if tuple(model.input_shape[1:]) == (28, 28) else x


def probabilities(model, inputs: np.ndarray) -> np.ndarray:
    """Class probabilities (n, 10) for uint8 MNIST-style images (n, 28, 28)."""
    x = model_input(model, inputs)
    if len(x) <= BATCH:  # one batch: predict_on_batch skips predict's set-up (~50 ms)
        probs = np.asarray(model.predict_on_batch(x), dtype=np.float64)
    else:
        probs = np.asarray(model.predict(x, batch_size=BATCH, verbose=0), dtype=np.float64)
    if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1, atol=1e-3):  # logits
        probs = np.exp(probs - probs.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
    return probs


def shifted(inputs: np.ndarray) -> np.ndarray:
    """(n, 28, 28) images -> (n, len(SHIFTS), 28, 28): each as it is and moved by SHIFTS."""
    out = np.zeros((len(inputs), len(SHIFTS), *inputs.shape[1:]), inputs.dtype)
    for i, (down, right) in enumerate(SHIFTS):
        rows = slice(max(down, 0), inputs.shape[1] + min(down, 0))
        cols = slice(max(right, 0), inputs.shape[2] + min(right, 0))
        source = (slice(None), slice(max(-down, 0), inputs.shape[1] - max(down, 0)),
                  slice(max(-right, 0), inputs.shape[2] - max(right, 0)))
        out[:, i, rows, cols] = inputs[source]
    return out


def confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From (n, len(SHIFTS), 10) probabilities: the reading (the average's most likely digit),
    the average, and the confidence (the least probability any shift gives that digit)."""
    mean = probs.mean(axis=1)
    best = mean.argmax(axis=1)
    return best, mean, probs[np.arange(len(probs)), :, best].min(axis=1)


def read_digits(model, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One model call on uint8 digits (n, 28, 28) and their shifts: `confidence`'s reading,
    average and confidence."""
    probs = probabilities(model, shifted(inputs).reshape(-1, *inputs.shape[1:]))
    return confidence(probs.reshape(len(inputs), len(SHIFTS), -1))


def read_prepared(prepared: Sequence[images.Prepared], model,
                  calibrated: Calibration | None = None) -> list[Reading]:
    """Run the model once on the digits of all the prepared pictures and their shifts; with
    the model's `calibrated` measures (`Calibration.fit`), else uncalibrated (UNSURE)."""
    if not prepared:
        return []
    inputs = np.concatenate([p.inputs for p in prepared])
    best, mean, sure = read_digits(model, inputs)
    typical = np.ones(len(inputs), bool) if calibrated is None else \
        calibrated.typical(model_input(model, inputs))
    unsure = UNSURE if calibrated is None else calibrated.unsure
    readings, start = [], 0
    for picture in prepared:
        digits = []
        for k, digit in enumerate(picture.digits, start=start):
            digits.append(DigitReading(int(best[k]), float(mean[k, best[k]]), mean[k],
                                       digit.image, digit.box, float(sure[k]),
                                       bool(typical[k]), unsure))
        start += len(picture.digits)
        readings.append(Reading(picture.source, picture, digits))
    return readings


def read_pictures(
    pictures: Sequence[str | os.PathLike | np.ndarray], model,
    calibrated: Calibration | None = None,
) -> list[Reading]:
    """Prepare every picture first (so a bad file fails fast), then read them all."""
    return read_prepared([images.prepare(p) for p in pictures], model, calibrated)


# --------------------------------------------------------------------------- output


def describe(reading: Reading) -> str:
    """The human-readable report of one reading."""
    if not reading.found:
        return f"{reading.source}: no digit found ({NOT_FOUND})"
    lines = [f"{reading.source}: {reading.number}"]
    for i, digit in enumerate(reading.digits, start=1):
        top = ", ".join(f"{d} {p:.1%}" for d, p in digit.top)
        unsure = f"  (unsure: confidence {digit.confidence:.0%})" if digit.unsure else ""
        lines.append(f"  digit {i}: {digit.digit} ({digit.probability:.1%})  top-3: {top}{unsure}")
    if reading.figure:
        lines.append(f"  figure: {reading.figure}")
    return "\n".join(lines)


def plot_reading(reading: Reading):
    """A matplotlib Figure: the picture with the digits boxed, each 28x28 input, probabilities.

    Built without pyplot, so it works headless; in a notebook, display the Figure object or
    the PNG that `save_figure` writes.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = len(reading.digits)
    if n == 1:  # one row: picture, input, probabilities
        fig = Figure(figsize=(10.0, 3.4), layout="constrained")
        grid = fig.add_gridspec(1, 3, width_ratios=[1.6, 1, 1.4])
        cells = [(grid[0, 0], grid[0, 1], grid[0, 2])]
    else:  # the picture on top, a column per digit below
        fig = Figure(figsize=(min(max(6.0, 1.7 * n), 28.0), 7.0), layout="constrained")
        grid = fig.add_gridspec(3, n, height_ratios=[2.4, 1.2, 1.2])
        cells = [(grid[0, :], grid[1, i], grid[2, i]) for i in range(n)]
    ax = fig.add_subplot(cells[0][0])
    preview = reading.prepared.preview
    ax.imshow(preview, cmap="gray" if preview.ndim == 2 else None, vmin=0, vmax=255)
    for digit in reading.digits:
        left, top, right, bottom = digit.box
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                               edgecolor="tab:orange", linewidth=1.5))
        ax.text(left, top - 2, str(digit.digit), color="tab:orange", fontsize=12,
                fontweight="bold", va="bottom")
    ax.set_title(f"{Path(reading.source).name}: read {reading.number}")
    ax.set_axis_off()
    for i, (digit, (_, image_cell, bars_cell)) in enumerate(zip(reading.digits, cells,
                                                                 strict=True)):
        ax = fig.add_subplot(image_cell)
        ax.imshow(digit.image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"input {i + 1}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax = fig.add_subplot(bars_cell)
        colors = ["tab:orange" if k == digit.digit else "tab:blue" for k in range(10)]
        ax.bar(range(10), digit.probabilities, color=colors)
        ax.set_xticks(range(10))
        ax.tick_params(labelsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(f"{digit.digit}: {digit.probability:.0%}", fontsize=9)
        if i:
            ax.set_yticklabels([])
    return fig


def plot_inputs(prepared: Sequence[images.Prepared], reference: np.ndarray | None = None):
    """Every 28x28 input cut from the pictures, one row per picture, and optionally a row of
    `reference` digits (MNIST training images) to compare the size, thickness and centring."""
    from matplotlib.figure import Figure

    rows = [(Path(p.source).name, p.inputs) for p in prepared]
    if reference is not None:
        rows.append(("MNIST (training)", np.asarray(reference)))
    columns = max(len(inputs) for _, inputs in rows)
    fig = Figure(figsize=(max(4.0, 1.1 * columns), 1.25 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for (name, inputs), line in zip(rows, axes, strict=True):
        for ax, image in zip(line, list(inputs) + [None] * columns, strict=False):
            ax.set_xticks([])
            ax.set_yticks([])
            if image is None:
                ax.set_axis_off()
            else:
                ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        line[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    return fig


def save_png(fig, path: str | os.PathLike) -> Path:
    """Write a Figure as a PNG of 256 colours at most, atomically.

    The grain of a photographed picture makes a full-colour PNG of it several times larger
    (and a notebook that shows a few of them megabytes); a palette of the figure's own colours,
    without dithering, keeps the figure as it looks.
    """
    import io

    from PIL import Image

    path = Path(path)
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=100)
    rendered.seek(0)
    with Image.open(rendered) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                                 dither=Image.Dither.NONE)
    with fileio.atomic_path(path) as tmp:
        palette.save(tmp, format="PNG", optimize=True)
    return path


def save_figure(reading: Reading, path: str | os.PathLike) -> Path:
    """Draw the reading's figure and write it as PNG, atomically; sets `reading.figure`."""
    reading.figure = save_png(plot_reading(reading), path)
    return reading.figure


def figure_paths(sources: Sequence[str], figure_dir: str | os.PathLike) -> list[Path]:
    """`<figure_dir>/<stem>.png` for each picture; repeated stems get -2, -3..."""
    seen: dict[str, int] = {}
    paths = []
    for source in sources:
        stem = Path(source).stem or "image"
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
        paths.append(Path(figure_dir) / f"{name}.png")
    return paths
