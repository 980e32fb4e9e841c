"""Command-line subcommand `predict`: read digits from photos or scans of your handwriting.

    digit-recognizer predict photo.jpg [more.png ...] [--model PATH] [--json]
    digit-recognizer predict --examples             # the example pictures shipped with the package
    digit-recognizer predict --make-examples DIR    # (re)make those example pictures

Every picture is loaded and preprocessed before TensorFlow is imported, so a bad file fails in
a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError


def _cmd_predict(args: argparse.Namespace) -> int:
    from digit_recognizer.reading import images

    if args.make_examples:
        from digit_recognizer.reading_checks import picture_makers

        for path in picture_makers.make_examples(args.make_examples):
            print(f"wrote {path}")
        return 0
    pictures = list(args.images)
    if args.examples:
        pictures += [_shorter(path) for path in images.example_images()]
    if not pictures:
        raise DigitRecognizerError(
            "give one or more pictures to read (PNG, JPEG, BMP or TIFF), or --examples"
        )
    prepared = [images.prepare(path) for path in pictures]  # fails fast, before TensorFlow

    from digit_recognizer.datasets import reference
    from digit_recognizer.reading import predict
    from digit_recognizer.reading.calibration import Calibration, Reference

    model = predict.load_model(args.model)
    calibrated = Calibration.fit(model, Reference(*reference.calibration_digits()))
    readings = predict.read_prepared(prepared, model, calibrated)
    if not args.no_figure:
        paths = predict.figure_paths([r.source for r in readings], args.figure_dir)
        for reading, path in zip(readings, paths, strict=True):
            predict.save_figure(reading, path)
    if args.json:
        document = {"model": str(args.model or predict.DEFAULT_MODEL),
                    "images": [r.to_dict() for r in readings]}
        print(json.dumps(document, indent=2))
    else:
        print("\n".join(predict.describe(r) for r in readings))
    return 0


def _shorter(path: Path) -> Path:
    """The path relative to the current folder when it is inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the `predict` subcommand on the `digit-recognizer` parser."""
    p = sub.add_parser(
        "predict",
        help="read digits (or a number) from photos or scans of handwriting",
        description="Read each picture's digits, left to right, with a trained model: the "
        "picture is turned into MNIST-style 28x28 inputs (grayscale, inverted if the paper is "
        "light, thresholded, cropped, scaled to 20 px, centred by mass). Prints the number, "
        "each digit's top-3 and a figure path.",
    )
    p.add_argument("images", nargs="*", type=Path, metavar="IMAGE",
                   help="PNG, JPEG, BMP or TIFF pictures, any size; dark on light or light "
                   "on dark")
    p.add_argument("--model", type=Path, default=None,
                   help="a .keras model (default: outputs/models/best.keras, which "
                   "./run_all.sh writes)")
    p.add_argument("--figure-dir", type=Path, default=Path("outputs/predictions"),
                   help="where <image-stem>.png figures go (default: %(default)s)")
    p.add_argument("--no-figure", action="store_true", help="do not save figures")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--examples", action="store_true",
                   help="also read the example pictures shipped with the package")
    p.add_argument("--make-examples", type=Path, metavar="DIR",
                   help="write the example pictures (sample test digits that are also hidden test "
                   "rows of the local full-MNIST competition, rendered as photos) to DIR and exit")
    p.set_defaults(func=_cmd_predict)
