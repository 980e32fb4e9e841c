"""Command-line subcommand `predict` (filled in by the handwriting issue)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the `predict` subcommand on the `digit-recognizer` parser."""
