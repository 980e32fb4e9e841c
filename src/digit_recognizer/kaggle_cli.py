"""Command-line subcommands for Kaggle: download, submit (filled in by the Kaggle issue)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the Kaggle subcommands on the `digit-recognizer` parser."""
