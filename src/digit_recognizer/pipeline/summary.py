"""What a finished run leaves besides the stages' outputs: its rows in the leaderboard, the
closing table of where the time went and what it gives, and, in a Kaggle notebook, the
submission where the competition's "Submit" button takes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.pipeline import sources


def record_run(outputs: Outputs, run_id: str) -> None:
    """Append this run's rows to the leaderboard, if 08_submit ran in this run: its summary.json
    then carries this run's id (a skipped or restored 08_submit left an older one)."""
    from digit_recognizer import leaderboard

    if not outputs.summary.is_file():
        return
    summary = json.loads(outputs.summary.read_text())
    if summary.get("run_id") != run_id or "rows" not in summary:
        return
    try:
        leaderboard.append_run(outputs.leaderboard, summary, trained_on="here")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DigitRecognizerError(
            f"cannot record the run in {outputs.leaderboard}: {reason}") from None


def copy_to_kaggle_working(outputs: Outputs) -> None:
    """In a Kaggle notebook, also leave submission.csv in the working folder: the notebook's
    output that the competition's "Submit" button takes."""
    working = sources.KAGGLE_WORKING
    if not (working.is_dir() and outputs.submission.is_file()):
        return
    target = working / "submission.csv"
    if target.resolve() != outputs.submission.resolve():
        fileio.copy(outputs.submission, target)
        print(f"Kaggle notebook:    copied to {target}")


def _timings(outputs: Outputs) -> list[dict]:
    if not outputs.timings.is_file():
        return []
    return [json.loads(line) for line in outputs.timings.read_text().splitlines() if line]


def _submission_is_current(root: Path) -> bool:
    """Whether 08_submit is up to date with the current code, data and parameters."""
    result = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", "08_submit"],
                            cwd=root, capture_output=True, text=True)
    return result.returncode == 0 and json.loads(result.stdout or "{}") == {}


def print_summary(root: Path, outputs: Outputs, targets: list[str]) -> None:
    ran = _timings(outputs)
    if ran:
        print("\nstage                  wall s  kernel s  imports s  work s")
        for t in ran:
            split = "".join(f"  {t[k]:>{w}}" if k in t else "  " + " " * w for k, w in (
                ("kernel_start_seconds", 8), ("imports_seconds", 9), ("work_seconds", 6)))
            print(f"{t['stage']:<22} {t['wall_seconds']:>6}{split}")
        print(f"{'total':<22} {sum(t['wall_seconds'] for t in ran):>6.1f}")
    print(f"\nexecuted notebooks: {outputs.notebooks.relative_to(root)}")
    print(f"HTML export:        {(outputs.root / 'html').relative_to(root)}")
    if not outputs.summary.is_file():
        return
    if targets and "08_submit" not in targets and not _submission_is_current(root):
        print(f"submission:         {outputs.submission.relative_to(root)} is from other "
              "parameters, code or data (08_submit was not part of this run)")
        return
    summary = json.loads(outputs.summary.read_text())
    print(f"submission:         {summary['submission']} (model {summary['model']}, "
          f"validation accuracy {summary['val_accuracy']:.4f})")
    if summary.get("local_score") is not None:
        print(f"local score:        {summary['local_score']:.5f} (against the answer key)")
    else:
        print("local score:        none (no answer key for this source)")
