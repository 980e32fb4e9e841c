"""Check the picture reader on pictures of held-out digits (notebook 09).

Pictures rendered (`picture_makers.render_numbers`) from labelled rows that no model of the run
trained on are read as `digit-recognizer predict` reads a photo; each reading is compared with
what was written, digit by digit, and every misreading is explained from what happened: the
picture split into the wrong number of digits, or the model preferred another digit (with the
rank and probability it gave the true one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from digit_recognizer.datasets import reference
from digit_recognizer.datasets.data import N_CLASSES
from digit_recognizer.datasets.preprocess import Split, pixels
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.presentation import report
from digit_recognizer.reading import images, predict
from digit_recognizer.reading.calibration import Calibration, Reference
from digit_recognizer.reading_checks import naive_prep
from digit_recognizer.reading_checks.picture_makers import Rendered

RIGHT, WRONG = "✓", "✗"


@dataclass
class HeldOut:
    """Labelled digits no model of the run trained on."""

    digits: np.ndarray  # uint8 (n, 28, 28)
    labels: np.ndarray  # int (n,)
    what: str  # which rows they are, for the text


def held_out(split: Split) -> HeldOut:
    """The hidden test rows when the run has their answer key, else the validation rows."""
    if split.answer_key is not None:
        return HeldOut(pixels(split.x_test), np.asarray(split.answer_key, int),
                       "the test rows, labelled by the answer key")
    return HeldOut(pixels(split.x_val), split.val_labels,
                   "the validation rows (no answer key for the test rows)")


@dataclass
class Checked:
    """One picture: what was written, what was read, and why it went wrong if it did."""

    rendered: Rendered
    reading: predict.Reading | None  # None when no digit was found
    read: str
    correct: int  # digits read right
    explanation: str = ""

    @property
    def expected(self) -> str:
        return self.rendered.number

    @property
    def right(self) -> bool:
        return self.read == self.expected


def correct_digits(expected: str, read: str) -> int:
    """Digits read right, position by position; none when the count of digits differs (the
    digits were split wrongly, so no position can be trusted)."""
    if len(read) != len(expected):
        return 0
    return sum(a == b for a, b in zip(expected, read, strict=True))


def explain(expected: str, reading: predict.Reading | None) -> str:
    """Why a reading differs from what was written, computed from the reading ('' if right)."""
    if reading is None:
        return "no digit found in the picture"
    read = reading.number
    if read == expected:
        return ""
    if len(read) != len(expected):
        how = "merged into fewer marks" if len(read) < len(expected) else \
            "broken into more marks"
        return (f"segmentation: {len(expected)} digits written, {len(read)} found (digits "
                f"{how}), so the digits cannot be matched")
    return "; ".join(explain_digit(int(e), d) for e, d in zip(expected, reading.digits,
                                                             strict=True) if int(e) != d.digit)


def explain_digit(true: int, digit: predict.DigitReading) -> str:
    """One misread digit: what the model chose, and where it ranked the true digit."""
    rank = int((digit.probabilities > digit.probabilities[true]).sum()) + 1
    p_true = float(digit.probabilities[true])
    said = f"{'an' if true == 8 else 'a'} {true} read as {digit.digit} " \
        f"(p={digit.probability:.2f})"
    if rank == 2:
        return f"{said}; the true digit was the model's second choice (p={p_true:.2f})"
    return f"{said}; the true digit ranked {rank} of 10 (p={p_true:.3f})"


def calibrated(model) -> Calibration:
    """The model's calibration on the embedded sample's digits (`datasets.reference`)."""
    return Calibration.fit(model, Reference(*reference.calibration_digits()))


def read_rendered(rendered: Sequence[Rendered], model) -> list[Checked]:
    """Read every picture as `digit-recognizer predict` does and compare with what was written."""
    prepared: list[images.Prepared | None] = []
    for item in rendered:
        try:
            prepared.append(images.prepare(item.picture, source=item.name))
        except DigitRecognizerError:
            prepared.append(None)
    readings = iter(predict.read_prepared([p for p in prepared if p is not None], model,
                                          calibrated(model)))
    checked = []
    for item, picture in zip(rendered, prepared, strict=True):
        reading = next(readings) if picture is not None else None
        read = reading.number if reading is not None else ""
        checked.append(Checked(item, reading, read, correct_digits(item.number, read),
                               explain(item.number, reading)))
    return checked


def digit_accuracy(checked: Sequence[Checked]) -> tuple[int, int]:
    """(digits read right, digits written) over all the pictures."""
    return sum(c.correct for c in checked), sum(len(c.expected) for c in checked)


def accuracy_text(correct: int, total: int, what: str) -> str:
    """'x of n digits (a%, 95% interval l–h) ...' for a set of digits."""
    low, high = report.wilson(correct, total)
    return (f"{correct} of {total} {what} read right: {100 * correct / total:.1f}% "
            f"(95% interval {100 * low:.1f}%–{100 * high:.1f}%)")


def table(checked: Sequence[Checked]) -> pd.DataFrame:
    """One row per picture: style, written, read, ✓/✗ and the explanation of a misreading."""
    return pd.DataFrame({
        "picture": [c.rendered.name for c in checked],
        "style": [c.rendered.style for c in checked],
        "written": [c.expected for c in checked],
        "read": [c.read for c in checked],
        "": [RIGHT if c.right else WRONG for c in checked],
        "why": [c.explanation for c in checked],
    })


def first_misread_digit(checked: Sequence[Checked]) -> tuple[Checked, int] | None:
    """The first picture with a digit misread among correctly split digits, and its position."""
    for c in checked:
        if c.reading is not None and len(c.read) == len(c.expected):
            for i, (e, d) in enumerate(zip(c.expected, c.read, strict=True)):
                if e != d:
                    return c, i
    return None


def least_confident(checked: Sequence[Checked]) -> tuple[Checked, int]:
    """The picture and position of the digit read with the lowest top probability."""
    return min(((c, i) for c in checked if c.reading is not None
                for i in range(len(c.reading.digits))),
               key=lambda pair: pair[0].reading.digits[pair[1]].probability)


def segmentation_failure(checked: Sequence[Checked]) -> Checked | None:
    """The first picture split into the wrong number of digits, if any."""
    return next((c for c in checked if len(c.read) != len(c.expected)), None)


def failure_story(checked: Sequence[Checked]) -> tuple[Checked, int | None, str]:
    """The failure to show: (picture, digit position or None, what happened, in words).

    A misread digit first, else a picture split wrongly (position None); when every picture
    was read right, the digit read with the least confidence, and that is what the text says.
    """
    misread = first_misread_digit(checked)
    if misread is not None:
        c, i = misread
        return c, i, f"**{c.expected}** was read as **{c.read}**: {c.explanation}."
    split = segmentation_failure(checked)
    if split is not None:
        return split, None, f"**{split.expected}** was read as **{split.read or '?'}**: " \
            f"{split.explanation}."
    c, i = least_confident(checked)
    digit = c.reading.digits[i]
    second, p_second = digit.top[1]
    return c, i, (f"Every picture was read right. The least confident reading is the "
                  f"{c.expected[i]} in **{c.expected}**, read with p={digit.probability:.2f}; "
                  f"the model's second choice there was {second} (p={p_second:.2f}).")


# --------------------------------------------------------------------------- figures


def plot_grid(checked: Sequence[Checked], columns: int = 5):
    """Every picture with 'written → read' and ✓/✗ above it (red when wrong), small enough
    that the notebook showing it stays well under a megabyte."""
    from matplotlib.figure import Figure

    rows = -(-len(checked) // columns)
    fig = Figure(figsize=(2.0 * columns, 1.3 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, c in zip(axes, checked, strict=False):
        picture = np.asarray(c.rendered.picture.convert("RGB"))
        ax.imshow(picture)
        mark = RIGHT if c.right else WRONG
        ax.set_title(f"{c.expected} → {c.read or '?'} {mark}", fontsize=9,
                     color="black" if c.right else "tab:red")
    return fig


def plot_digit(digit: predict.DigitReading, true: int):
    """A digit's 28x28 input beside the model's probabilities (read digit orange, true green)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 2.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2])
    left.imshow(digit.image, cmap="gray", vmin=0, vmax=255)
    left.set_title(f"input: written {true}, read {digit.digit}", fontsize=10)
    left.set_xticks([])
    left.set_yticks([])
    colors = ["tab:green" if k == true else "tab:orange" if k == digit.digit else "tab:blue"
              for k in range(10)]
    right.bar(range(10), digit.probabilities, color=colors)
    right.set_xticks(range(10))
    right.set_ylim(0, 1)
    right.set_ylabel("probability")
    return fig


def plot_preparations(rendered: Sequence[Rendered], count: int = 8):
    """A column per picture: the picture, its naive 28x28 input, its MNIST-style input."""
    from matplotlib.figure import Figure

    shown = list(rendered[:count])
    fig = Figure(figsize=(1.6 * len(shown), 5.0), layout="constrained")
    axes = fig.subplots(3, len(shown), squeeze=False)
    for column, item in zip(axes.T, shown, strict=True):
        prepared = images.prepare(item.picture).inputs
        column[0].imshow(np.asarray(item.picture.convert("RGB")))
        column[1].imshow(naive_prep.naive_input(item.picture), cmap="gray", vmin=0, vmax=255)
        column[2].imshow(np.hstack(list(prepared)), cmap="gray", vmin=0, vmax=255)
        for ax in column:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, name in zip(axes[:, 0], ("picture", "naive", "MNIST-style"), strict=True):
        ax.set_ylabel(name)
    return fig


# --------------------------------------------------------------------------- preparations


class Preparations(dict):
    """Digits read right by preparation (name: count), and what the model read each naive
    input as (`naive_read`, against the digits written, `labels`)."""

    def __init__(self, correct: dict[str, int], naive_read: np.ndarray, labels: np.ndarray):
        super().__init__(correct)
        self.naive_read, self.labels = naive_read, labels


def compare_preparations(rendered: Sequence[Rendered], model) -> Preparations:
    """Digits of single-digit pictures read right after MNIST-style and after naive preparation
    (the same pictures, the same model); a picture `prepare` splits wrongly counts as wrong."""
    labels = np.array([int(r.number) for r in rendered])
    naive = np.stack([naive_prep.naive_input(r.picture) for r in rendered])
    naive_read = predict.probabilities(model, naive).argmax(axis=1)
    prepared = read_rendered(rendered, model)
    return Preparations({"MNIST-style (images.prepare)": sum(c.correct for c in prepared),
                         "naive resize to 28x28": int((naive_read == labels).sum())},
                        naive_read, labels)


def preparation_table(correct: dict[str, int], n: int) -> pd.DataFrame:
    """Accuracy and 95% interval of each preparation."""
    rows = []
    for name, right in correct.items():
        low, high = report.wilson(right, n)
        rows.append({"preparation": name, "right": f"{right} / {n}",
                     "accuracy": f"{100 * right / n:.1f}%",
                     "95% interval": f"{100 * low:.1f}%–{100 * high:.1f}%"})
    return pd.DataFrame(rows)


def preparation_text(correct: dict[str, int], n: int) -> str:
    """One sentence comparing the first preparation with the second, noise included."""
    (name_a, a), (name_b, b) = list(correct.items())[:2]
    text = report.difference_text(f"MNIST-style preparation ({100 * a / n:.1f}%)", a / n,
                                  f"the naive resize ({100 * b / n:.1f}%)", b / n, n,
                                  rows="held-out picture")
    if isinstance(correct, Preparations):
        text += ". " + naive_reading_text(correct.naive_read, correct.labels)
    return text


def naive_reading_text(read: np.ndarray, labels: np.ndarray) -> str:
    """What the model makes of the naive inputs: the digit it reads most of them as, against
    how often that digit was written, and the share read right against guessing."""
    counts = np.bincount(read, minlength=N_CLASSES)
    digit = int(counts.argmax())
    share, written = counts[digit] / len(read), float(np.mean(labels == digit))
    right, guess = float(np.mean(read == labels)), 1 / len(counts)
    text = (f"The model reads {counts[digit]} of the {len(read)} naive inputs ({share:.0%}) "
            f"as {digit}, a digit written on {written:.0%} of them")
    if share > 2 * max(written, guess):
        text += ": it favours one digit, whatever was written"
    if abs(right - guess) < abs(right - 1):  # the notebook ends the last sentence
        text += f". So {right:.1%} read right is nearer guessing ({guess:.0%}) than reading"
    return text
