"""Submissions end to end: the real kaggle client against the fake Kaggle API (fake_kaggle.py).

A submission ends in one of three outcomes, each with its own exit status: refused before
sending (2, nothing submitted, no leaderboard row), sent and scored (0), sent but score not yet
known (3, a pending row that `digit-recognizer submissions` fills in later); and 4 when Kaggle
could not score it. The fake records every request, so "sent exactly once" is checked on its side.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import requests
from fake_kaggle import DAILY_LIMIT_MESSAGE, DROP, HANG
from kaggle_fixtures import (  # noqa: F401 - cli_fixture, fake_fixture: fixtures `cli`, `fake`
    N_TEST,
    SECRET_FORMS,
    cli_fixture,
    fake_fixture,
    files_containing,
    write_submission,
)

from digit_recognizer import leaderboard
from digit_recognizer.kaggle import submissions, transport

ATTEMPTS = transport.ATTEMPTS
BOARD = "outputs/leaderboard.csv"


def kaggle_rows(cli, name=BOARD) -> pd.DataFrame:
    board = leaderboard.load(cli.work / name)
    return board[board["kaggle_status"] != ""].reset_index(drop=True)


def only_row(cli, name=BOARD) -> dict:
    rows = kaggle_rows(cli, name)
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def utc_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- sent, scored: 0


def test_scored_submission_exits_0_with_a_complete_row(cli, fake, tmp_path):
    path = write_submission(tmp_path / "submission.csv")
    proc = cli("submit", path, "-m", "cnn run 7", "--run-id", "run-7")
    assert proc.returncode == submissions.EXIT_SCORED == 0, proc.stderr
    assert proc.stderr == ""
    assert "as submission 1001 at " in proc.stdout and "public score 0.98765" in proc.stdout
    rpcs = fake.rpcs()
    # Listed before creating it (what exists already), then polled until scored.
    assert rpcs[:4] == ["StartSubmissionUpload", "PUT /upload/blob-1", "ListSubmissions",
                        "CreateSubmission"]
    assert set(rpcs[4:]) == {"ListSubmissions"} and len(rpcs) >= 6
    assert fake.uploads["blob-1"] == path.read_bytes()
    create = next(r for r in fake.requests if r.rpc == "CreateSubmission").json()
    assert create == {"competitionName": "digit-recognizer", "blobFileTokens": "blob-1",
                      "submissionDescription": "cnn run 7"}
    row = only_row(cli)  # the default leaderboard
    assert row["run_id"] == "run-7" and row["kaggle_submission"] == "1001"
    assert row["kaggle_status"] == "complete" and float(row["kaggle_score"]) == 0.98765
    assert row["note"] == "cnn run 7"
    assert row["time"] == fake.submissions[0]["date"][:19] + "Z"  # Kaggle's time of it

    proc = cli("submissions")
    assert proc.returncode == 0, proc.stderr
    assert "1001" in proc.stdout and "0.98765" in proc.stdout and "cnn run 7" in proc.stdout
    assert "filled in" not in proc.stdout  # nothing was pending


def test_a_transient_upload_failure_is_retried_and_sent_once(cli, fake, tmp_path):
    fake.fail = {"PUT": [500]}
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "--leaderboard", "lb.csv")
    assert proc.returncode == 0, proc.stderr
    assert fake.rpcs().count("PUT /upload/blob-1") == 2
    assert fake.rpcs().count("CreateSubmission") == 1 and len(fake.submissions) == 1
    assert only_row(cli, "lb.csv")["kaggle_status"] == "complete"


def test_a_leaderboard_that_cannot_be_written_never_hides_the_outcome(cli, fake, tmp_path):
    (cli.work / "lb.csv").mkdir()  # not a file: the row cannot be written
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "--leaderboard", "lb.csv")
    assert proc.returncode == 0, proc.stderr
    assert "public score 0.98765" in proc.stdout
    assert "\nwarning: not recorded in the leaderboard: lb.csv: Is a directory" in proc.stdout
    assert "\nrecorded in" not in proc.stdout and len(fake.submissions) == 1


# --------------------------------------------------------------------------- refused: 2


REFUSALS = {
    # case: (fake settings, what stderr says, the requests the fake saw)
    "invalid file": ({}, "header", []),
    "no credentials": ({}, "no Kaggle credentials found", []),
    "rules not accepted": ({"rules_accepted": False}, transport.RULES_URL,
                           ["StartSubmissionUpload"]),
    "upload fails": ({"fail": {"PUT": [500] * 10}}, "could not upload the file: Kaggle "
                     "answered HTTP 500", ["StartSubmissionUpload"] + ["PUT /upload/blob-1"] *
                     ATTEMPTS),
    "kaggle down": ({"fail": {"StartSubmissionUpload": [503] * 10}}, "could not start the "
                    "upload: Kaggle answered HTTP 503 (server error) 4 times in a row",
                    ["StartSubmissionUpload"] * ATTEMPTS),
    "daily limit": ({"daily_limit": DAILY_LIMIT_MESSAGE}, "daily submission limit",
                    ["StartSubmissionUpload", "PUT /upload/blob-1", "ListSubmissions",
                     "CreateSubmission"]),
    # Without the list before creating, a failed try could not be told from an earlier one.
    "listing before creating fails": (
        {"fail": {"ListSubmissions": [503] * 10}}, "could not list your submissions before "
        "creating one: Kaggle answered HTTP 503 (server error) 4 times in a row",
        ["StartSubmissionUpload", "PUT /upload/blob-1"] + ["ListSubmissions"] * ATTEMPTS),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_before_sending_exits_2_and_records_nothing(cli, fake, tmp_path, case):
    settings, says, seen = REFUSALS[case]
    for name, value in settings.items():
        setattr(fake, name, value)
    path = write_submission(tmp_path / "s.csv")
    if case == "invalid file":
        path.write_text(path.read_text().replace("ImageId", "Id"))
    env = cli.without_credentials() if case == "no credentials" else {}
    proc = cli("submit", path, "-m", "try", **env)
    assert proc.returncode == submissions.EXIT_REFUSED == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()  # one readable line, no traceback
    assert line.startswith("error: nothing was submitted: ") and says in line
    assert fake.rpcs() == seen
    assert fake.submissions == []
    assert not (cli.work / "outputs").exists()  # no leaderboard row: nothing was sent


def test_daily_limit_says_when_it_resets_and_sends_nothing_more(cli, fake, tmp_path):
    fake.daily_limit = DAILY_LIMIT_MESSAGE  # "... tomorrow UTC (7.5 hours from now)."
    before = datetime.now(timezone.utc).replace(microsecond=0)
    proc = cli("submit", write_submission(tmp_path / "s.csv"))
    after = datetime.now(timezone.utc)
    assert proc.returncode == 2
    assert "Kaggle's daily submission limit for 'digit-recognizer' is reached" in proc.stderr
    assert "Your team has used its daily Submission allowance (5) today" in proc.stderr
    reset = utc_time(re.search(r"resets at (\S+ \S+) UTC", proc.stderr).group(1))
    assert before + timedelta(hours=7.5) <= reset <= after + timedelta(hours=7.5)
    assert fake.rpcs().count("CreateSubmission") == 1  # a 400 like this is never retried


def test_daily_limit_reset_time_from_kaggle_messages():
    now = datetime(2024, 5, 1, 16, 30, 15, tzinfo=timezone.utc)
    assert transport.daily_limit_reset(DAILY_LIMIT_MESSAGE, now) == \
        datetime(2024, 5, 2, 0, 0, 15, tzinfo=timezone.utc)
    assert transport.daily_limit_reset("try again in 45 minutes from now", now) == \
        datetime(2024, 5, 1, 17, 15, 15, tzinfo=timezone.utc)
    assert transport.daily_limit_reset("please try again tomorrow UTC.", now) == \
        datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert transport.daily_limit_reset("daily limit reached", now) is None


@pytest.mark.parametrize("status", [400, 403, 429])
def test_the_daily_limit_is_never_retried_whatever_its_status(status):
    response = requests.Response()
    response.status_code = status
    limit = requests.HTTPError(DAILY_LIMIT_MESSAGE, response=response)
    assert not transport.is_transient(limit)
    assert isinstance(transport.failure("create the submission", limit),
                      transport.DailyLimitReached)
    if status == 429:  # an ordinary 429 is retried
        assert transport.is_transient(requests.HTTPError("Too many requests", response=response))


def test_dry_run_exits_0_and_sends_nothing(cli, fake, tmp_path):
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "-m", "try", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would submit" in proc.stdout and f"{N_TEST} rows" in proc.stdout
    assert "not sent: --dry-run" in proc.stdout
    assert fake.requests == [] and not (cli.work / "outputs").exists()


# --------------------------------------------------------------------------- sent, not scored: 3


def test_429_on_listing_after_create_is_sent_score_not_yet_known(cli, fake, tmp_path):
    fake.fail = {"ListSubmissions": [None] + [429] * ATTEMPTS}  # the list before creating: OK
    fake.polls_until_scored = 0  # scored by the time anyone can list it
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "-m", "cnn run 8")
    assert proc.returncode == submissions.EXIT_PENDING == 3, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "The file WAS submitted (do not submit it again)" in out
    assert "as submission 1001 at " in out and "with description 'cnn run 8'" in out
    assert utc_time(re.search(r" at (\S+ \S+) UTC", out).group(1)) <= datetime.now(timezone.utc)
    assert "HTTP 429" in out and "Run `digit-recognizer submissions` later" in out
    assert fake.rpcs().count("CreateSubmission") == 1 and len(fake.submissions) == 1
    row = only_row(cli)
    assert row["kaggle_status"] == "pending" and row["kaggle_submission"] == "1001"
    assert row["kaggle_score"] == "" and row["note"] == "cnn run 8"

    proc = cli("submissions")  # later: Kaggle answers again
    assert proc.returncode == 0, proc.stderr
    assert f"filled in 1 pending row(s) in {BOARD}" in proc.stdout
    row = only_row(cli)
    assert row["kaggle_status"] == "complete" and float(row["kaggle_score"]) == 0.98765
    assert "filled in" not in cli("submissions").stdout  # nothing left to fill


def test_no_score_within_the_timeout_is_sent_score_not_yet_known(cli, fake, tmp_path):
    fake.polls_until_scored = None  # Kaggle never finishes scoring
    path = write_submission(tmp_path / "submission.csv")
    proc = cli("submit", path, "--timeout", "0.3", "--leaderboard", "lb.csv", timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert "Kaggle had not scored it after 0.3 s" in proc.stdout
    assert 2 <= fake.rpcs().count("ListSubmissions") < 100
    row = only_row(cli, "lb.csv")
    assert row["kaggle_status"] == "pending" and row["kaggle_score"] == ""


def test_no_wait_is_sent_score_not_yet_known(cli, fake, tmp_path):
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "--no-wait")
    assert proc.returncode == 3, proc.stderr
    assert "not waiting for it (--no-wait)" in proc.stdout
    rpcs = fake.rpcs()
    assert "ListSubmissions" not in rpcs[rpcs.index("CreateSubmission"):]  # no poll
    assert only_row(cli)["kaggle_status"] == "pending"


# --------------------------------------------------------------------------- never twice


@pytest.mark.parametrize("failure", [500, 502, DROP, HANG])
def test_create_failing_after_kaggle_created_it_is_not_sent_twice(cli, fake, tmp_path, failure):
    fake.fail_after = {"CreateSubmission": [failure]}  # created, then the answer is lost
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "-m", "once",
               DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "as submission 1001 at " in proc.stdout and "public score 0.98765" in proc.stdout
    assert len(fake.submissions) == 1
    rpcs = fake.rpcs()
    assert rpcs.count("CreateSubmission") == 1  # found in the list: never retried
    assert rpcs[rpcs.index("CreateSubmission") + 1] == "ListSubmissions"
    row = only_row(cli)
    assert row["kaggle_submission"] == "1001" and row["kaggle_status"] == "complete"


def test_create_failing_before_it_reached_kaggle_is_retried_after_checking(cli, fake,
                                                                           tmp_path):
    fake.fail = {"CreateSubmission": [500, DROP]}  # not created
    proc = cli("submit", write_submission(tmp_path / "s.csv"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(fake.submissions) == 1
    rpcs = fake.rpcs()
    start = rpcs.index("CreateSubmission")
    assert rpcs[start:start + 5] == ["CreateSubmission", "ListSubmissions"] * 2 + \
        ["CreateSubmission"]


def test_create_failing_every_time_reports_nothing_submitted(cli, fake, tmp_path):
    fake.fail = {"CreateSubmission": [503] * 10}
    proc = cli("submit", write_submission(tmp_path / "s.csv"))
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: nothing was submitted (Kaggle's list of your submissions "
                           "does not show it): could not create the submission: Kaggle "
                           "answered HTTP 503 (server error) 4 times in a row")
    assert fake.rpcs().count("CreateSubmission") == ATTEMPTS and fake.submissions == []
    assert not (cli.work / "outputs").exists()


@pytest.mark.parametrize("created", [True, False])
def test_create_that_cannot_be_checked_is_unconfirmed_until_submissions_tells(cli, fake,
                                                                              tmp_path, created):
    # CreateSubmission fails (after or before creating it), and the list cannot be read.
    script = {"CreateSubmission": [500]}
    fake.fail_after, fake.fail = (script, {}) if created else ({}, script)
    fake.fail["ListSubmissions"] = [None] + [429] * ATTEMPTS  # listed before creating it
    fake.polls_until_scored = 0
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "-m", "maybe")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "MAY HAVE BEEN SUBMITTED" in proc.stdout and "Do not submit it again" in proc.stdout
    assert "creating it failed (HTTP 500)" in proc.stdout
    assert fake.rpcs().count("CreateSubmission") == 1  # never retried blindly
    row = only_row(cli)
    assert row["kaggle_status"] == "unconfirmed" and row["kaggle_submission"] == ""

    proc = cli("submissions")
    assert proc.returncode == 0, proc.stderr
    row = only_row(cli)
    if created:
        assert row["kaggle_status"] == "complete" and row["kaggle_submission"] == "1001"
        assert float(row["kaggle_score"]) == 0.98765
    else:
        assert row["kaggle_status"] == "not submitted" and row["kaggle_submission"] == ""
    assert len(fake.submissions) == int(created)


# A user's retry: the same file with the same description, minutes after a first submission.
# Only a submission that was not listed before creating it can be the new one.


def submit_first(cli, path, message) -> None:
    """The earlier submission: 1001, scored."""
    proc = cli("submit", path, "-m", message)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "as submission 1001 at " in proc.stdout
    assert only_row(cli)["kaggle_status"] == "complete"


@pytest.mark.parametrize("failure", [HANG, DROP])
def test_a_resubmission_kaggle_never_created_is_not_taken_for_the_earlier_one(cli, fake,
                                                                              tmp_path, failure):
    path = write_submission(tmp_path / "s.csv")
    submit_first(cli, path, "same message")
    fake.fail = {"CreateSubmission": [failure] * 10}  # never reaches Kaggle: nothing created
    proc = cli("submit", path, "-m", "same message", DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert proc.returncode == submissions.EXIT_REFUSED == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""  # no "submitted ... as submission 1001 ... public score"
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: nothing was submitted (Kaggle's list of your submissions "
                           "does not show it): could not create the submission: ")
    assert "submission 1001" not in line
    assert len(fake.submissions) == 1
    rpcs = fake.rpcs()
    assert rpcs.count("CreateSubmission") == 1 + ATTEMPTS  # checked after each failed try
    rows = kaggle_rows(cli)  # only the first submission's row, as it was
    assert rows[["kaggle_submission", "kaggle_status"]].values.tolist() == \
        [["1001", "complete"]]


def test_a_resubmission_whose_create_hung_is_retried_and_sent_once(cli, fake, tmp_path):
    path = write_submission(tmp_path / "s.csv")
    submit_first(cli, path, "same message")
    fake.fail = {"CreateSubmission": [HANG]}  # not created; the next try is
    proc = cli("submit", path, "-m", "same message", DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "as submission 1002 at " in proc.stdout and "submission 1001" not in proc.stdout
    assert [sub["ref"] for sub in fake.submissions] == [1002, 1001]
    assert fake.rpcs().count("CreateSubmission") == 1 + 2
    rows = kaggle_rows(cli)
    assert rows[["kaggle_submission", "kaggle_status", "note"]].values.tolist() == \
        [["1001", "complete", "same message"], ["1002", "complete", "same message"]]


@pytest.mark.parametrize("failure", [500, DROP])
def test_a_resubmission_kaggle_created_despite_failing_is_found_by_its_new_id(cli, fake,
                                                                              tmp_path, failure):
    path = write_submission(tmp_path / "s.csv")
    submit_first(cli, path, "same message")
    fake.fail_after = {"CreateSubmission": [failure]}  # created, then the answer is lost
    proc = cli("submit", path, "-m", "same message", DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "as submission 1002 at " in proc.stdout and "submission 1001" not in proc.stdout
    assert len(fake.submissions) == 2
    assert fake.rpcs().count("CreateSubmission") == 2  # one per command: found, not retried
    rows = kaggle_rows(cli)
    assert rows[["kaggle_submission", "kaggle_status"]].values.tolist() == \
        [["1001", "complete"], ["1002", "complete"]]


def test_a_resubmission_kaggle_answered_without_an_id_is_found_by_its_new_id(cli, fake,
                                                                             tmp_path):
    path = write_submission(tmp_path / "s.csv")
    submit_first(cli, path, "same message")
    fake.answer_ref = False  # CreateSubmission answers, but without the new id
    proc = cli("submit", path, "-m", "same message")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "as submission 1002 at " in proc.stdout and "submission 1001" not in proc.stdout
    assert len(fake.submissions) == 2 and fake.rpcs().count("CreateSubmission") == 2
    rows = kaggle_rows(cli)
    assert rows["kaggle_submission"].tolist() == ["1001", "1002"]


# --------------------------------------------------------------------------- never hang


@pytest.mark.parametrize("where,answered,status", [
    ("StartSubmissionUpload", 0, 2), ("PUT", 0, 2),
    ("ListSubmissions", 0, 2),  # the list before creating it: nothing sent
    ("ListSubmissions", 1, 3),  # the polls for the score, once it was sent
])
def test_a_kaggle_that_never_answers_ends_within_the_timeout(cli, fake, tmp_path, where,
                                                             answered, status):
    # Accepts the connection, never answers (after `answered` requests answered as usual).
    fake.fail = {where: [None] * answered + [HANG] * 50}
    started = time.monotonic()
    proc = cli("submit", write_submission(tmp_path / "s.csv"), timeout=60,
               DIGIT_RECOGNIZER_KAGGLE_TIMEOUT="5,1")
    assert time.monotonic() - started < 60  # 4 tries of 1 s, plus start-up
    assert proc.returncode == status
    assert f"Kaggle did not answer within 1 s, {ATTEMPTS} times in a row" in \
        proc.stdout + proc.stderr
    assert fake.rpcs().count(where if where != "PUT" else "PUT /upload/blob-1") == \
        answered + ATTEMPTS
    if status == 2:
        assert "error: nothing was submitted: " in proc.stderr and fake.submissions == []
        assert not (cli.work / "outputs").exists()
    else:  # it was sent: the score could not be read
        assert "The file WAS submitted" in proc.stdout
        assert only_row(cli)["kaggle_status"] == "pending"


# --------------------------------------------------------------------------- scoring error: 4


def test_scoring_error_exits_4_and_is_recorded(cli, fake, tmp_path):
    fake.scoring_error = "Submission file has the wrong number of rows"
    proc = cli("submit", write_submission(tmp_path / "s.csv"), "-m", "bad")
    assert proc.returncode == submissions.EXIT_SCORING_ERROR == 4
    assert "as submission 1001" in proc.stdout
    assert "Kaggle could not score it: Submission file has the wrong number" in proc.stdout
    row = only_row(cli)
    assert row["kaggle_status"] == "error" and row["kaggle_score"] == ""
    assert row["note"] == "bad; Kaggle could not score it: " + fake.scoring_error


# --------------------------------------------------------------------------- help, rows, key


def test_submit_help_documents_the_outcomes(cli, fake):
    proc = cli("submit", "--help")
    assert proc.returncode == 0
    for status, outcome in ((0, "sent, and Kaggle scored it"), (2, "refused before sending"),
                            (3, "sent, score not known yet"),
                            (4, "sent, and Kaggle could not score it")):
        assert re.search(rf"^\s+{status}\s+{outcome}", proc.stdout, re.MULTILINE), outcome
    timeouts = f"default {transport.CONNECT_TIMEOUT_S:g},{transport.READ_TIMEOUT_S:g})"
    assert timeouts in proc.stdout and f"at most {ATTEMPTS} times" in proc.stdout
    assert fake.requests == []


def test_no_output_or_file_holds_the_key(cli, fake, tmp_path):
    fake.fail_after = {"CreateSubmission": [DROP]}
    fake.fail = {"ListSubmissions": [None] + [429] * ATTEMPTS}  # fails after creating it
    proc = cli("--debug", "submit", write_submission(tmp_path / "s.csv"))  # the Runner checks
    assert proc.returncode == 3
    assert files_containing(cli.work) == []
    for secret in SECRET_FORMS:
        assert all(secret.encode() not in r.body for r in fake.requests)
