"""Atomic writes: a crash or Ctrl-C never leaves a half-written artifact behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError

# Marks the temporary files of atomic writes; a run killed outright (SIGKILL) can leave one
# behind under its hidden name, and the next pipeline run removes it.
PARTIAL = ".partial-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds.

    `suffix` is for writers that insist on an extension (Keras wants `.keras`, Matplotlib `.png`).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{PARTIAL}", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise DigitRecognizerError(f"cannot write to {path.parent}: {exc.strerror}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, data) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def copy(source: str | os.PathLike, destination: str | os.PathLike) -> Path:
    """Copy a file so that `destination` is either the old file or the complete new one."""
    import shutil

    destination = Path(destination)
    with atomic_path(destination, suffix=destination.suffix or ".tmp") as tmp:
        shutil.copyfile(source, tmp)
    return destination


def unwind_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so the atomic writes under way discard their temp files."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def remove_partial_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the leftovers of interrupted atomic writes below `folder`."""
    leftovers = [p for p in Path(folder).rglob(f".*{PARTIAL}*") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
