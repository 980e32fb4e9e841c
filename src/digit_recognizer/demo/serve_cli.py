"""Command-line subcommand `serve`: the web demo (draw a digit in the browser, see the reading).

    digit-recognizer serve [--model PATH] [--host 127.0.0.1] [--port 7860]

Gradio and TensorFlow are imported only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_serve(args: argparse.Namespace) -> int:
    from digit_recognizer.datasets import reference
    from digit_recognizer.demo import page as demo
    from digit_recognizer.reading.calibration import Reference

    demo.serve(args.model, args.host, args.port,
               Reference(*reference.calibration_digits()))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the `serve` subcommand on the `digit-recognizer` parser."""
    p = sub.add_parser(
        "serve",
        help="web demo: draw a digit (or a number) in the browser and see the reading",
        description="Serve a page (Gradio) where you draw digits with the mouse or a finger, "
        "or upload a photo, and see what the model reads: the number, each digit's top-3 "
        "probabilities and the 28x28 inputs the model saw. The model loads once at start; "
        "the URL is printed. Ctrl-C stops it.",
    )
    p.add_argument("--model", type=Path, default=None,
                   help="a .keras model (default: outputs/models/best.keras, which "
                   "./run_all.sh writes)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this machine only; "
                   "0.0.0.0 to be reachable from other machines)")
    p.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    p.set_defaults(func=_cmd_serve)
