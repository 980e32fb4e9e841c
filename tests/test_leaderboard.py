"""outputs/leaderboard.csv: one schema for a run's rows and Kaggle's rows, one writer.

A run's rows come from 08_submit's summary.json, appended by the runner when 08_submit ran in
that run; a submission's row is appended once Kaggle may have it and filled in later.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd

from digit_recognizer import fileio, leaderboard
from digit_recognizer.layout import Outputs


def summary(run_id: str = "20240501-120000") -> dict:
    table = pd.DataFrame([
        {"model": "dense", "val_accuracy": 0.9712345, "local_score": float("nan"),
         "train_seconds": 12.3},
        {"model": "ensemble", "val_accuracy": 0.98, "local_score": 0.979999,
         "train_seconds": None},
    ])
    return {"run_id": run_id, "model": "ensemble", "source": "sample", "profile": "quick",
            "seed": 42, "rows": json.loads(json.dumps(leaderboard.run_rows(table)))}


def test_a_runs_rows_come_from_its_summary(tmp_path):
    path = tmp_path / "leaderboard.csv"
    leaderboard.append_run(path, summary())
    board = leaderboard.load(path)
    assert list(board.columns) == leaderboard.COLUMNS
    assert board["model"].tolist() == ["dense", "ensemble"]
    assert board["run_id"].eq("20240501-120000").all() and board["source"].eq("sample").all()
    assert board["profile"].eq("quick").all() and board["seed"].eq("42").all()
    assert board["val_accuracy"].tolist() == ["0.97123", "0.98"]
    assert board["local_score"].tolist() == ["", "0.98"]
    assert board["train_seconds"].tolist() == ["12.3", ""]
    assert board["kaggle_status"].eq("").all()


def test_the_runner_records_a_run_only_when_08_submit_ran_in_it(tmp_path):
    from digit_recognizer.pipeline import summary as run_summary

    outputs = Outputs(tmp_path / "outputs")
    run_summary.record_run(outputs, "now")  # no summary.json: nothing to record
    assert not outputs.leaderboard.exists()
    fileio.write_json(outputs.summary, summary("earlier"))  # skipped or restored 08_submit
    run_summary.record_run(outputs, "now")
    assert not outputs.leaderboard.exists()
    fileio.write_json(outputs.summary, summary("now"))
    run_summary.record_run(outputs, "now")
    assert leaderboard.load(outputs.leaderboard)["run_id"].tolist() == ["now", "now"]


def test_a_submission_is_recorded_at_once_then_filled_in(tmp_path):
    path = tmp_path / "leaderboard.csv"
    leaderboard.append_run(path, summary())
    record = leaderboard.SubmissionRecord(path, run_id="r1", model="ensemble")
    sent = {"id": 1001, "submitted_at": datetime(2024, 5, 1, 16, 30, 15, tzinfo=timezone.utc),
            "status": "pending", "public_score": None, "description": "cnn",
            "file_name": "submission.csv", "error": ""}
    record.sent(sent)
    assert record.recorded and record.error == ""
    row = leaderboard.load(path).iloc[-1]
    assert row[["run_id", "time", "model", "kaggle_submission", "kaggle_status", "note"]] \
        .tolist() == ["r1", "2024-05-01T16:30:15Z", "ensemble", "1001", "pending", "cnn"]
    record.finished({**sent, "status": "complete", "public_score": 0.98765})
    board = leaderboard.load(path)
    assert len(board) == 3 and board.iloc[-1]["kaggle_score"] == "0.98765"
    assert board.iloc[-1]["kaggle_status"] == "complete"


def test_a_leaderboard_that_cannot_be_written_is_a_warning(tmp_path):
    (tmp_path / "lb.csv").mkdir()
    record = leaderboard.SubmissionRecord(tmp_path / "lb.csv")
    record.sent({"id": 7, "submitted_at": None, "status": "pending", "public_score": None,
                 "description": "x", "file_name": "s.csv", "error": ""})
    assert not record.recorded and record.error == f"{tmp_path / 'lb.csv'}: Is a directory"


def test_fill_pending_matches_by_id_or_by_description_and_time(tmp_path):
    path = tmp_path / "leaderboard.csv"
    # A leaderboard written before the kaggle_* columns existed (and `model` was `stage`),
    # then Kaggle rows.
    path.write_text("run_id,time,stage,kaggle_score,note\nr0,2024-01-01T00:00:00Z,dense,,\n")
    leaderboard.append(path, [
        {"time": "2024-05-01T10:00:00Z", "kaggle_submission": 7,
         "kaggle_status": "pending", "note": "by id"},
        {"time": "2024-05-01T11:00:00Z", "kaggle_status": "unconfirmed",
         "note": "by description"},
        {"time": "2024-05-01T12:00:00Z", "kaggle_status": "unconfirmed",
         "note": "never created"},
    ])

    def sub(ref, description, status="complete", score="0.5", when=(11, 0, 30)):
        # kagglesdk's dates are naive UTC
        return {"id": ref, "submitted_at": datetime(2024, 5, 1, *when), "status": status,
                "public_score": score, "description": description, "error": ""}

    listed = [sub(9, "by description", "pending", ""), sub(7, "by id")]
    assert leaderboard.fill_pending(path, listed) == 3
    board = leaderboard.load(path)
    assert list(board.columns) == leaderboard.COLUMNS  # rewritten with today's schema
    assert board.loc[0, ["run_id", "model", "kaggle_status"]].tolist() == ["r0", "dense", ""]
    assert board.loc[1, ["kaggle_status", "kaggle_score"]].tolist() == ["complete", "0.5"]
    assert board.loc[2, ["kaggle_status", "kaggle_submission"]].tolist() == ["pending", "9"]
    # The list reaches back past 12:00 (minus the clock skew) without it: never created.
    assert board.loc[3, "kaggle_status"] == "not submitted"
    assert leaderboard.fill_pending(path, listed) == 0

    leaderboard.append(path, [{"time": "2024-05-01T13:00:00Z",
                               "kaggle_status": "unconfirmed", "note": "again"}])
    recent = [sub(4, "other", when=(12, 55))]  # does not reach back far enough to tell
    assert leaderboard.fill_pending(path, recent) == 0
    assert leaderboard.load(path).loc[4, "kaggle_status"] == "unconfirmed"
    assert leaderboard.fill_pending(path, recent, everything=True) == 1
    assert leaderboard.load(path).loc[4, "kaggle_status"] == "not submitted"


def test_an_unconfirmed_retry_is_not_matched_to_the_earlier_identical_submission(tmp_path):
    path = tmp_path / "leaderboard.csv"
    leaderboard.append(path, [
        {"time": "2024-05-01T11:00:00Z", "kaggle_submission": 9, "kaggle_status": "complete",
         "kaggle_score": "0.5", "note": "same"},
        {"time": "2024-05-01T11:05:00Z", "kaggle_status": "unconfirmed", "note": "same"},
    ])
    first = {"id": 9, "submitted_at": datetime(2024, 5, 1, 11, 0, 30), "status": "complete",
             "public_score": "0.5", "description": "same", "error": ""}
    assert leaderboard.fill_pending(path, [first]) == 0
    assert leaderboard.load(path).loc[1, "kaggle_status"] == "unconfirmed"
    retry = {**first, "id": 10, "submitted_at": datetime(2024, 5, 1, 11, 5, 10)}
    assert leaderboard.fill_pending(path, [retry, first]) == 1
    assert leaderboard.load(path).loc[1, ["kaggle_submission", "kaggle_status"]].tolist() == \
        ["10", "complete"]
