"""Kaggle credentials: whether the kaggle client would find some, and how to give it some.

The project never reads, prints, logs or stores the API key: the kaggle client finds it
(`~/.kaggle/kaggle.json`, `KAGGLE_CONFIG_DIR`, `KAGGLE_USERNAME`/`KAGGLE_KEY`,
`KAGGLE_API_TOKEN`, `~/.kaggle/access_token`, `kaggle auth login`); these functions only look
at which of those exist.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

TOKEN_URL = "https://www.kaggle.com/settings/api"

Log = Callable[[str], None]


def config_dir() -> Path:
    """Where the kaggle client looks for kaggle.json (and where users should put it)."""
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")


def _client_config_file() -> Path:
    """The kaggle.json the client actually reads (it falls back to XDG when ~/.kaggle is absent)."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"]) / "kaggle.json"
    home = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        xdg = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
        return Path(xdg) / "kaggle" / "kaggle.json"
    return home / "kaggle.json"


def has_credentials() -> bool:
    """True when the kaggle client would find credentials (never reads the key itself)."""
    if os.environ.get("KAGGLE_API_TOKEN") or (
        os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")
    ):
        return True
    home = Path.home() / ".kaggle"
    candidates = [_client_config_file(), home / "access_token", home / "access_token.txt",
                  home / "credentials.json"]
    return any(path.is_file() for path in candidates)


def credentials_help() -> str:
    """How to give the kaggle client credentials (one line)."""
    path = config_dir() / "kaggle.json"
    return (
        f"get an API key at {TOKEN_URL}, save it as {path} "
        '({"username": "...", "key": "..."}) and run '
        f"`chmod 600 {path}`; or set KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN) in "
        "the environment"
    )


def warn_permissions(log: Log) -> None:
    path = _client_config_file()
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log(f"warning: {path} is readable by other users; run `chmod 600 {path}`")
