"""Kaggle competition access through the official `kaggle` client (download, submit, scores).

`import kaggle` authenticates on import and prints help text when there are no credentials,
so it is imported lazily and only after `has_credentials()` says yes.
"""

from __future__ import annotations

import os
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError


def config_dir() -> Path:
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")


def has_credentials() -> bool:
    """True when the kaggle client would find credentials (never reads the key itself)."""
    if os.environ.get("KAGGLE_API_TOKEN") or (
        os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")
    ):
        return True
    folder = config_dir()
    return (folder / "kaggle.json").is_file() or (folder / "access_token").is_file()


def download(raw_dir: str | os.PathLike, force: bool = False) -> Path:
    raise DigitRecognizerError(
        "--source kaggle: downloading from Kaggle is not available yet; run "
        "`kaggle competitions download -c digit-recognizer`, unzip into data/raw/ and use "
        "--source local"
    )
