"""`outputs/leaderboard.csv`: the runs and the Kaggle submissions, compared across days.

The only module that writes it, with one row schema (COLUMNS) for both kinds of rows:

- a run's rows, one per candidate `model` of 08_submit: `./run_all.sh` appends them
  (`append_run`) after a `dvc repro` in which 08_submit ran, from its `summary.json`;
- a Kaggle submission's row (`SubmissionRecord`): `model` is the network submitted when the
  caller knows it, `kaggle_submission` Kaggle's submission id, `kaggle_status` pending,
  complete, error, unconfirmed or not submitted, and `note` the submission's description (plus
  Kaggle's error, if any). Only these rows have a `kaggle_status`; `fill_pending` fills them in
  from the submissions Kaggle lists.

`trained_on` says where the models were trained: `here` (this machine's `./run_all.sh`), or the
Kaggle notebook's version and machine for a run of `digit-recognizer kaggle-run`.

Every write replaces the file atomically. Older files (a `stage` column instead of `model`,
fewer columns) are read as if written with today's schema, and rewritten so on the next write.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError

COLUMNS = [
    "run_id", "time", "source", "profile", "seed", "model",
    "val_accuracy", "local_score", "train_seconds", "kaggle_score",
    "kaggle_submission", "kaggle_status", "note", "trained_on",
]
# A listed submission whose id is unknown matches a row with its description, dated no earlier
# than this before the row's time (Kaggle's clock and ours may differ).
CLOCK_SKEW_S = 600.0
_WAITING = ("pending", "unconfirmed")


def load(path: str | os.PathLike) -> pd.DataFrame:
    """Every row as text (empty cells ''), with all COLUMNS, old files included."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS, dtype=str)
    old = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "stage" in old.columns and "model" not in old.columns:  # the name before `model`
        old = old.rename(columns={"stage": "model"})
    return old.reindex(columns=[*COLUMNS, *[c for c in old.columns if c not in COLUMNS]],
                       fill_value="")


def save(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """Write `frame` atomically (the old file stays whole if anything fails)."""
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def append(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Append rows (missing columns left empty), rewriting the file atomically."""
    new = pd.DataFrame([{name: _text(row.get(name)) for name in COLUMNS} for row in rows],
                       columns=COLUMNS, dtype=str)
    old = load(path)
    if len(old):
        new = pd.concat([old, new], ignore_index=True).fillna("")
    return save(path, new)


def _text(value) -> str:
    """A cell as text: '' for None/NaN, '7' for 7 (never '7.0')."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


# --------------------------------------------------------------------------- a run's rows


def run_rows(table: pd.DataFrame) -> list[dict]:
    """The candidates of 08_submit's comparison `table` as the run's rows (JSON-ready: what
    the notebook leaves in summary.json for `append_run`)."""
    return [{"model": row["model"], "val_accuracy": round(float(row["val_accuracy"]), 5),
             "local_score": _number(row["local_score"], 5),
             "train_seconds": _number(row["train_seconds"])}
            for _, row in table.iterrows()]


def _number(value, digits: int | None = None) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


def append_run(path: str | os.PathLike, summary: dict, trained_on: str = "here") -> Path:
    """Append a run's rows from 08_submit's `summary` (its run id, source, profile, seed and
    `rows`), timed now; `trained_on` says where (`here`, or the Kaggle notebook's version)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    run = {"run_id": summary.get("run_id") or "interactive", "time": now,
           "source": summary.get("source"), "profile": summary.get("profile"),
           "seed": summary.get("seed"), "trained_on": trained_on}
    return append(path, [{**run, **row} for row in summary["rows"]])


# --------------------------------------------------------------------------- Kaggle's rows
#
# A submission is a dict as the Kaggle code lists one: id, submitted_at (UTC), status,
# public_score, description, file_name, error.


class SubmissionRecord:
    """A submission's row in the leaderboard at `path`: appended as soon as Kaggle may have the
    submission (`sent`), filled in when the wait for its score is over (`finished`).

    It was sent: a row that cannot be written leaves `error` (a warning to show), never an
    exception. `recorded` says whether the row is there.
    """

    def __init__(self, path: str | os.PathLike, run_id: str | None = None, model: str = "",
                 trained_on: str = ""):
        self.path = Path(path)
        self.run_id = run_id or ""
        self.model = model
        self.trained_on = trained_on
        self.recorded = False
        self.error = ""
        self._awaiting_score = False

    def sent(self, submission: dict) -> None:
        try:
            append(self.path, [{
                "run_id": self.run_id,
                "time": _iso(submission["submitted_at"]),
                "model": self.model,
                "trained_on": self.trained_on,
                "kaggle_score": submission["public_score"],
                "kaggle_submission": submission["id"] or "",
                "kaggle_status": submission["status"],
                "note": _note(submission["description"], submission["error"]),
            }])
        except (DigitRecognizerError, OSError, ValueError) as exc:
            self.error = self._why_not_written(exc)
        else:
            self.recorded = True
            self._awaiting_score = submission["status"] == "pending" and \
                submission["id"] is not None

    def finished(self, submission: dict) -> None:
        """Fill in the row from the submission's final state, if it was waiting for a score."""
        if not (self.recorded and self._awaiting_score) or submission["status"] == "pending":
            return
        try:
            fill_pending(self.path, [submission])
        except (DigitRecognizerError, OSError, ValueError) as exc:
            self.error = self._why_not_written(exc)

    def _why_not_written(self, exc: Exception) -> str:
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        else:
            text = str(exc).strip()
            reason = text.splitlines()[0][:300] if text else ""
        return f"{self.path}: {reason}"


def fill_pending(path: str | os.PathLike, listed: list[dict], everything: bool = False) -> int:
    """Fill in the pending and unconfirmed Kaggle rows from `listed` submissions.

    A row is matched by submission id, or, when it has none, by description and time among
    the submissions no other row holds (a retry of an earlier identical submission is not
    that submission). An
    unconfirmed row that matches nothing becomes 'not submitted' when the list reaches back
    past the row's time (or is `everything` Kaggle has). Returns the number of rows changed;
    the file is rewritten atomically, and only if something changed.
    """
    path = Path(path)
    if not path.is_file():
        return 0
    board = load(path)
    changed = 0
    held = set(board["kaggle_submission"]) - {""}
    for index, row in board.iterrows():
        if row["kaggle_status"] not in _WAITING:
            continue
        match = _match_row(row, [sub for sub in listed if row["kaggle_submission"] or
                                 str(sub["id"]) not in held])
        if match is None:
            if row["kaggle_status"] == "unconfirmed" and \
                    (everything or _covers(listed, _parse_iso(row["time"]))):
                board.loc[index, "kaggle_status"] = "not submitted"
                changed += 1
            continue
        held.add(str(match["id"]))
        status = match["status"]
        update = {"kaggle_submission": str(match["id"] or row["kaggle_submission"]),
                  "kaggle_status": status}
        if status == "complete":
            update["kaggle_score"] = "" if match["public_score"] in (None, "") else \
                str(match["public_score"])
        if status == "error":
            update["note"] = _note(match["description"] or row["note"], match["error"])
        if any(board.loc[index, key] != value for key, value in update.items()):
            for key, value in update.items():
                board.loc[index, key] = value
            changed += 1
    if changed:
        save(path, board)
    return changed


def _match_row(row, listed: list[dict]) -> dict | None:
    if row["kaggle_submission"]:
        return next((sub for sub in listed if str(sub["id"]) == row["kaggle_submission"]), None)
    since = _parse_iso(row["time"])
    if since is None:
        return None
    for sub in listed:
        date = _as_utc(sub["submitted_at"])
        if (sub["description"] or "") == row["note"] and date is not None and \
                date >= since - timedelta(seconds=CLOCK_SKEW_S):
            return sub
    return None


def _covers(listed: list[dict], since: datetime | None) -> bool:
    """Does the (newest-first) list reach back before `since`?"""
    dates = [_as_utc(sub["submitted_at"]) for sub in listed if sub["submitted_at"]]
    return since is not None and bool(dates) and \
        min(dates) < since - timedelta(seconds=CLOCK_SKEW_S)


def _as_utc(moment: datetime | None) -> datetime | None:
    """Kaggle's dates are naive UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _note(description: str, error: str) -> str:
    return f"{description}; Kaggle could not score it: {error}" if error else description
