"""The options of a run on Kaggle's machine (`./run_all.sh --on-kaggle`, `digit-recognizer
kaggle-run`): added to the run's own parser, so that both commands parse them alike."""

from __future__ import annotations

import argparse

from digit_recognizer.kaggle import bundle


def add_to(parser: argparse.ArgumentParser, switch: bool) -> None:
    """The options, with `switch` also --on-kaggle (./run_all.sh's, not kaggle-run's)."""
    group = parser.add_argument_group(
        "on Kaggle's GPU (--on-kaggle, or digit-recognizer kaggle-run)")
    if switch:
        group.add_argument("--on-kaggle", action="store_true",
                           help="run on Kaggle's GPU instead of here, download the results "
                                "(options: digit-recognizer kaggle-run --help)")
    group.add_argument("--accelerator", default=bundle.DEFAULT_ACCELERATOR, type=_accelerator,
                       metavar="SHAPE",
                       help="Kaggle's machine shape (default %(default)s; P100 fails on the "
                            "current image's PyTorch builds), or none for Kaggle's CPU; one of: "
                            + ", ".join(bundle.ACCELERATORS))
    group.add_argument("--dataset", default="", metavar="OWNER/SLUG",
                       help=f"the code dataset (default YOURNAME/{bundle.CODE_DATASET_SLUG})")
    group.add_argument("--kernel", default="", metavar="OWNER/SLUG",
                       help=f"the notebook (default YOURNAME/{bundle.KERNEL_SLUG})")
    group.add_argument("--follow", default="", metavar="OWNER/SLUG",
                       help="push nothing: follow the notebook's latest run, then download as "
                            "usual")
    group.add_argument("--wait-minutes", type=float, default=720.0, metavar="M",
                       help="stop following after M minutes (default 720, Kaggle's 12-hour "
                            "session limit); the run goes on")


# The options above, which the run on Kaggle's machine does not take.
NAMES = ("on_kaggle", "accelerator", "dataset", "kernel", "follow", "wait_minutes")


def _accelerator(name: str) -> str | None:
    try:
        return bundle.accelerator(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
