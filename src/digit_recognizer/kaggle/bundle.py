"""The files `kaggle-run` uploads: the project as a code dataset, and the Kaggle notebook that
installs it and runs the chain on Kaggle's GPU.

Nothing here talks to Kaggle (that is `kernels`): these are plain files in plain folders.

    code dataset   digit-recognizer-project.tar.gz (`git archive` of the current commit: what
                   runs on Kaggle is exactly what a clone would get)
    kernel         kernel-metadata.json + run.ipynb (finds the archive under /kaggle/input,
                   runs ./run_all.sh ARGS in /kaggle/temp, copies the results to
                   /kaggle/working, which Kaggle keeps as the run's output)
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError

ARCHIVE = "digit-recognizer-project.tar.gz"
PREFIX = "digit-recognizer"  # the archive's top folder
# Kaggle derives a new notebook's slug from its title, and wants dataset titles of 6 to 50
# characters: both are titled with their slug.
CODE_DATASET_SLUG = "digit-recognizer-code"
KERNEL_SLUG = "digit-recognizer-run"
NOTEBOOK = "run.ipynb"
# Kaggle's P100 fails on the current image's PyTorch builds (kaggle-cli issues #1151, #1198).
DEFAULT_ACCELERATOR = "NvidiaTeslaT4"
# The machine shapes that the kaggle client's documentation names (docs/kernels.md, "as of
# Feb 2026"; kagglesdk's ApiSaveKernelRequest names the first three). Some are open only to a
# competition's participants or to Kaggle's staff: Kaggle then refuses the push.
ACCELERATORS = ("NvidiaTeslaT4", "NvidiaTeslaP100", "Tpu1VmV38", "NvidiaTeslaT4Highmem",
                "NvidiaTeslaA100", "NvidiaL4", "NvidiaL4X1", "NvidiaH100", "NvidiaRtxPro6000",
                "TpuV38", "TpuV5E8", "TpuV6E8")
CPU = "none"  # no machine shape: Kaggle's CPU
LISTED = 5  # file names named in a message before "and N more"
# What the kernel copies from the project's outputs/ to /kaggle/working (Kaggle keeps at most
# a few hundred output files: the figures stay inside the executed notebooks and HTML pages).
RESULTS = ("submission.csv", "summary.json", "leaderboard.csv", "metrics", "notebooks",
           "html", "logs", "models/best.keras")
RUN_RECORD = "run.json"  # what the kernel ran: commit, arguments, device, seconds
RUN_LOG = "run.log"  # everything ./run_all.sh printed


def accelerator(name: str) -> str | None:
    """`--accelerator`'s value as Kaggle spells it (any case), or None for Kaggle's CPU."""
    if name.strip().lower() in (CPU, "cpu"):
        return None
    for shape in ACCELERATORS:
        if shape.lower() == name.strip().lower():
            return shape
    raise ValueError(f"{name!r} is not a machine shape Kaggle documents: choose one of "
                     f"{', '.join(ACCELERATORS)}, or {CPU} for Kaggle's CPU")


@dataclass(frozen=True)
class Commit:
    sha: str
    uncommitted: tuple[str, ...]  # tracked files that differ from the commit
    untracked: tuple[str, ...] = ()  # new files git does not ignore, never committed

    def left_out(self) -> str:
        """What the archive leaves out, as a sentence ('' when nothing)."""
        parts = [f"{what} ({len(names)}): {named(names)}" for what, names in
                 (("uncommitted changes", self.uncommitted),
                  ("untracked files", self.untracked)) if names]
        return ("not part of it: " + "; ".join(parts) + " (commit them to include them)"
                if parts else "")


def named(names, limit: int = LISTED) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def project_archive(root: Path, folder: Path) -> Commit:
    """`git archive` of the checkout at `root`'s current commit into `folder`/ARCHIVE."""
    sha = _git(root, "rev-parse", "HEAD").strip()
    status = _git(root, "status", "--porcelain", "-z", "--untracked-files=all")
    changed, untracked = [], []
    entries = iter(status.split("\0"))
    for entry in entries:
        if not entry.strip():
            continue
        code, name = entry[:2], entry[3:]
        (untracked if code == "??" else changed).append(name)
        if code[0] in "RC":  # a rename or copy: its source path follows
            next(entries, None)
    folder.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(folder / ARCHIVE) as tmp:
        _git(root, "archive", "--format=tar.gz", f"--prefix={PREFIX}/", "-o", str(tmp), sha)
    return Commit(sha, tuple(changed), tuple(untracked))


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                text=True)
    except FileNotFoundError:
        raise DigitRecognizerError("kaggle-run packages the project with git, which is not "
                                   "installed") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
        raise DigitRecognizerError(
            f"kaggle-run uploads the project at its current commit, and git could not read "
            f"it in {root} ({detail}): run it in a git clone of the project with at least "
            "one commit")
    return result.stdout


def kernel_folder(folder: Path, *, kernel: str, dataset: str, accelerator: str | None,
                  run_args: list[str], commit: str, run_name: str) -> Path:
    """kernel-metadata.json and the notebook that runs `./run_all.sh RUN_ARGS` on Kaggle
    (`accelerator`: one of ACCELERATORS, or None for Kaggle's CPU)."""
    folder.mkdir(parents=True, exist_ok=True)
    tpu = bool(accelerator) and accelerator.startswith("Tpu")
    shape = {"machine_shape": accelerator} if accelerator else {}
    fileio.write_json(folder / "kernel-metadata.json", {
        "id": kernel,
        "title": kernel.split("/")[1],
        "code_file": NOTEBOOK,
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": bool(accelerator) and not tpu,
        "enable_tpu": tpu,
        "enable_internet": True,  # pip installs the project's dependencies
        "dataset_sources": [dataset],
        "competition_sources": ["digit-recognizer"],
        "kernel_sources": [],
        **shape,
    })
    fileio.write_json(folder / NOTEBOOK, kernel_notebook(run_args, commit, run_name))
    return folder


def kernel_notebook(run_args: list[str], commit: str, run_name: str) -> dict:
    """The notebook Kaggle runs (nbformat 4, written without nbformat to stay light)."""
    command = " ".join(["./run_all.sh", *map(_quoted, run_args)])
    cells = [
        ("about", "markdown", f"# digit-recognizer run {run_name}\n\n"
                     f"Pushed by `digit-recognizer kaggle-run` from commit `{commit[:12]}`. "
                     f"It installs the project from the attached code dataset, runs\n\n"
                     f"    {command}\n\n"
                     "on this machine's accelerator, and copies the results to "
                     "`/kaggle/working`, which Kaggle keeps as this run's output."),
        ("setup", "code", _KERNEL_SETUP.format(archive=ARCHIVE, prefix=PREFIX, results=RESULTS,
                                      record=RUN_RECORD, log=RUN_LOG, args=run_args,
                                      commit=commit, run=run_name)),
        ("run", "code", _KERNEL_RUN),
    ]
    return {
        "cells": [{"id": ident, "cell_type": kind, "metadata": {}, "source": text,
                   **({"execution_count": None, "outputs": []} if kind == "code" else {})}
                  for ident, kind, text in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def _quoted(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


_KERNEL_SETUP = '''\
import json, os, shutil, subprocess, tarfile, time
from pathlib import Path

KAGGLE = Path("/kaggle")
RUN_ARGS = {args!r}
RESULTS = {results!r}
RECORD = {{"run": {run!r}, "commit": {commit!r}, "args": RUN_ARGS}}
LOG, RECORD_FILE = {log!r}, {record!r}

# The code dataset is attached as input/<slug>/ or input/datasets/<owner>/<slug>/; Kaggle may
# have unpacked the archive.
archives = sorted(KAGGLE.glob("input/**/{archive}"))
unpacked = sorted(KAGGLE.glob("input/**/{prefix}/run_all.sh"))
project = KAGGLE / "temp" / "{prefix}"
shutil.rmtree(project, ignore_errors=True)
if archives:
    with tarfile.open(archives[0]) as archive:
        safe = {{"filter": "data"}} if hasattr(tarfile, "data_filter") else {{}}  # Python >= 3.11.4
        archive.extractall(project.parent, **safe)
elif unpacked:
    shutil.copytree(unpacked[0].parent, project)
else:
    raise SystemExit("the code dataset is not attached: no {archive} under /kaggle/input")
print("project:", project, "from", (archives or unpacked)[0])'''

_KERNEL_RUN = """\
working = KAGGLE / "working"
started = time.monotonic()
with open(working / LOG, "w") as log:
    run = subprocess.Popen(["bash", "run_all.sh", *RUN_ARGS], cwd=project, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})  # live progress
    for line in run.stdout:
        print(line, end="", flush=True)
        log.write(line)
    status = run.wait()
outputs = project / "outputs"
for name in RESULTS:
    source, target = outputs / name, working / name
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                     capture_output=True, text=True) if shutil.which("nvidia-smi") else None
RECORD.update(exit_status=status, seconds=round(time.monotonic() - started, 1),
              device=gpu.stdout.strip() if gpu and gpu.returncode == 0 else "cpu")
(working / RECORD_FILE).write_text(json.dumps(RECORD, indent=2))
if status != 0:
    raise SystemExit(f"./run_all.sh failed with exit status {status}: see {LOG}")"""
