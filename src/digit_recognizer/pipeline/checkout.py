"""The git checkout a run happens in: DVC's git mode, and the branch and index put back as
they were found however the run ends.

In a git checkout each run is a DVC experiment (`dvc exp run`), so `dvc exp show` lists the
runs with their parameters and metrics. `dvc exp run` detaches HEAD while it runs and stages
dvc.lock and params.yaml; it puts both back only when it ends normally, not when it is
stopped (Ctrl-C, SIGTERM) or a stage fails. `left_as_found` puts them back whatever happened.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from digit_recognizer import fileio

# What `dvc exp run` keeps of a run under way; left behind by a run that was stopped.
EXPERIMENT_UNDER_WAY = "refs/exps/exec"


def git_checkout(root: Path) -> bool:
    """Whether `root` is a git work tree with a commit: where DVC can record experiments."""
    return (root / ".git").exists() and _git(root, "rev-parse", "--verify", "-q", "HEAD")[0]


def use_git(root: Path, enabled: bool) -> None:
    """DVC's git mode for this checkout only (`.dvc/config.local`): experiments in a git
    checkout, plain `dvc repro` in a copy without git (a Kaggle dataset, a test's folder)."""
    path = root / ".dvc" / "config.local"
    text = f"[core]\n    no_scm = {str(not enabled).lower()}\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        fileio.write_text(path, text)


@dataclass(frozen=True)
class Found:
    branch: str  # HEAD's symbolic ref (refs/heads/...), "" when it was detached
    commit: str
    index: str  # the tree the index held, "" when it could not be written (a merge under way)


@contextlib.contextmanager
def left_as_found(root: Path):
    """Within: a run that may detach HEAD and stage files. After, however it ended: the branch
    checked out again (if HEAD still is the commit it was), the index as it was, and the
    stopped experiment's leftovers removed. The work tree is not touched."""
    found = Found(_out(root, "symbolic-ref", "-q", "HEAD"), _out(root, "rev-parse", "HEAD"),
                  _out(root, "write-tree"))
    try:
        yield found
    finally:
        _put_back(root, found)


def _put_back(root: Path, found: Found) -> None:
    if found.branch and _out(root, "symbolic-ref", "-q", "HEAD") != found.branch and \
            _out(root, "rev-parse", "HEAD") == found.commit:
        _git(root, "symbolic-ref", "HEAD", found.branch)
    if found.index and _out(root, "write-tree") != found.index:
        _git(root, "read-tree", found.index)
    for ref in _out(root, "for-each-ref", "--format=%(refname)", EXPERIMENT_UNDER_WAY).split():
        _git(root, "update-ref", "-d", ref)


def _git(root: Path, *args: str) -> tuple[bool, str]:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return result.returncode == 0, result.stdout.strip()


def _out(root: Path, *args: str) -> str:
    ok, out = _git(root, *args)
    return out if ok else ""
