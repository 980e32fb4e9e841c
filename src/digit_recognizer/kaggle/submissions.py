"""Submit a file to the competition, with at most one creation, and read its score.

A submission ends in one of these outcomes (`SubmitResult.exit_status`, the exit status of
`digit-recognizer submit`):
  0  sent, and Kaggle scored it
  2  refused before sending (invalid file, no credentials, rules, daily limit...): nothing sent
  3  sent (or possibly sent), score not known yet: never resubmit; read it later
  4  sent, and Kaggle could not score it

A submission is created at most once. Kaggle's list of your submissions is read just before
creating it; when creating it fails in a way that may have reached Kaggle (or Kaggle answers
without the new submission's id), the list is read again, and only a submission that was not
listed before, with this description and file name, is this one: found, it is never created
again; not found, another try is safe. An earlier submission of the same file with the same
description is never taken for it. If the list cannot be read before creating, nothing is
sent (NotSubmitted, exit 2): without it, a failed try could not be checked.

This module writes no leaderboard: `submit` hands the submission to its caller's `on_sent` as
soon as Kaggle may have it, and returns what is known in the end; `list_submissions` returns
what Kaggle lists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle import download
from digit_recognizer.kaggle.credentials import credentials_help, has_credentials
from digit_recognizer.kaggle.transport import (
    COMPETITION,
    NotSubmitted,
    as_utc,
    call,
    cause_of,
    competitions,
    http_status,
    http_timeouts,
    kaggle_api,
    put_file,
    utc_text,
    with_retries,
)

POLL_S = 5.0  # between two requests for the score
SCORE_TIMEOUT_S = 300.0
LISTING_PAGE = 20  # submissions listed when looking for ours or filling pending rows (the
# kaggle client's default page size)
EXIT_SCORED, EXIT_REFUSED, EXIT_PENDING, EXIT_SCORING_ERROR = 0, 2, 3, 4


class _Unconfirmed(DigitRecognizerError):
    """Creating the submission failed in a way that may have reached Kaggle, and Kaggle's list
    of submissions could not be read to check."""


@dataclass
class SubmitResult:
    """What `submit` did: not sent (and why), or sent and what Kaggle said so far.

    `status` once sent: complete (scored), pending (score not known yet), error (Kaggle could
    not score it) or unconfirmed (creating it failed in a way that may have reached Kaggle, and
    Kaggle could not be asked whether it did).
    """

    file: Path
    rows: int
    message: str
    sent: bool
    reason: str = ""  # why it was not sent
    dry_run: bool = False
    submission_id: int | None = None
    submitted_at: datetime | None = None  # Kaggle's date, else when Kaggle answered (UTC)
    status: str = ""
    public_score: float | None = None
    error: str = ""  # Kaggle's scoring error
    pending_reason: str = ""  # why the score is not known

    @property
    def exit_status(self) -> int:
        """0 scored (or --dry-run), 2 not sent, 3 sent but score not known, 4 scoring error."""
        if not self.sent:
            return EXIT_SCORED if self.dry_run else EXIT_REFUSED
        return {"complete": EXIT_SCORED, "error": EXIT_SCORING_ERROR}.get(self.status,
                                                                          EXIT_PENDING)

    def as_listed(self) -> dict:
        """The submission as `list_submissions` lists one (for the caller's records)."""
        return {"id": self.submission_id, "submitted_at": self.submitted_at,
                "status": self.status, "public_score": self.public_score,
                "description": self.message, "file_name": self.file.name, "error": self.error}

    def __str__(self) -> str:
        what = f"{self.file} ({self.rows} rows, valid) to '{COMPETITION}'"
        described = f"with description {self.message!r}"
        if not self.sent:
            return f"would submit {what} {described}; not sent: {self.reason}"
        if self.status == "unconfirmed":
            return (
                f"{self.file} MAY HAVE BEEN SUBMITTED to '{COMPETITION}' {described} at about "
                f"{utc_text(self.submitted_at)}: {self.pending_reason}.\n"
                "Do not submit it again before checking: run `digit-recognizer submissions` "
                "later; it lists your submissions and fills in the leaderboard row."
            )
        ident = f"submission {self.submission_id}" if self.submission_id else "a submission"
        line = f"submitted {what} as {ident} at {utc_text(self.submitted_at)} {described}"
        if self.status == "complete":
            return f"{line}; public score {_score_text(self.public_score)}"
        if self.status == "error":
            return f"{line}; Kaggle could not score it: {self.error}"
        return (
            f"{line}.\nThe file WAS submitted (do not submit it again), but its score is not "
            f"known yet: {self.pending_reason}.\nRun `digit-recognizer submissions` later to "
            "read the score; it also fills in the pending leaderboard row."
        )


def _score_text(score: float | None) -> str:
    return "unknown" if score is None else f"{score:g}"


def submit(
    path: str | os.PathLike,
    message: str,
    n_test: int | None = None,
    dry_run: bool = False,
    wait: bool = True,
    timeout: float = SCORE_TIMEOUT_S,
    poll_interval: float | None = None,
    on_sent: Callable[[dict], None] | None = None,
) -> SubmitResult:
    """Validate `path`, submit it to Kaggle with `message`, and wait (bounded) for its score.

    Raises NotSubmitted (a DigitRecognizerError) when nothing was submitted: an invalid file
    (before anything is sent), Kaggle refusing it (credentials, rules, daily limit), Kaggle
    unreachable, or Kaggle's list of your submissions unreadable just before creating it.
    Returns a result that is not sent, and not an error, with `dry_run` or without credentials
    (it says why): then no request is made. Once Kaggle may have the submission it never
    raises: the result says what is known (`status`, `exit_status`). `on_sent` gets the
    submission (as `SubmitResult.as_listed` gives it) once Kaggle may have it, before the wait
    for its score, so that the caller can record it even if the wait is interrupted; it must
    not raise.
    """
    from digit_recognizer.datasets import submit as submission

    path = Path(path)
    n_test = download.TEST_ROWS if n_test is None else n_test
    try:
        frame = submission.validate_submission(path, n_test)
    except DigitRecognizerError as exc:
        raise NotSubmitted(f"nothing was submitted: {exc}") from exc
    message = (message or "").strip() or f"digit-recognizer {path.name}"
    result = SubmitResult(file=path, rows=len(frame), message=message, sent=False,
                          dry_run=dry_run)
    if dry_run:
        result.reason = "--dry-run"
        return result
    if not has_credentials():
        result.reason = f"no Kaggle credentials found ({credentials_help()})"
        return result
    try:
        api = kaggle_api()
        token = _upload(api, path)
        # What exists before creating it: only a submission not listed here can be this one.
        known = {_ref(sub) for sub in _list(api, "list your submissions before creating one")}
    except NotSubmitted:
        raise
    except DigitRecognizerError as exc:
        raise NotSubmitted(f"nothing was submitted: {exc}") from exc.__cause__
    started = datetime.now(timezone.utc)
    try:
        response = _create(api, path, message, token, known)
    except _Unconfirmed as exc:
        result.sent, result.status, result.submitted_at = True, "unconfirmed", started
        result.pending_reason = str(exc)
    except KeyboardInterrupt:
        result.sent, result.status, result.submitted_at = True, "unconfirmed", started
        result.pending_reason = "interrupted while Kaggle was creating it"
    except NotSubmitted:
        raise
    except DigitRecognizerError as exc:
        checked = " (Kaggle's list of your submissions does not show it)" \
            if _may_have_reached_kaggle(exc.__cause__) else ""
        raise NotSubmitted(f"nothing was submitted{checked}: {exc}") from exc.__cause__
    else:
        result.sent, result.status = True, "pending"
        _take(result, response)
        if result.submission_id is None:
            _identify(api, result, known)
    if on_sent is not None:
        on_sent(result.as_listed())
    if result.status == "pending" and result.submission_id is not None:
        if wait:
            _wait_for_score(api, result, timeout, poll_interval)
        else:
            result.pending_reason = "not waiting for it (--no-wait)"
    return result


def _upload(api, path: Path) -> str:
    """Upload the file for a submission (nothing is submitted yet); Kaggle's blob token."""
    from kagglesdk.competitions.types.competition_api_service import (
        ApiStartSubmissionUploadRequest,
    )

    request = ApiStartSubmissionUploadRequest()
    request.competition_name = COMPETITION
    request.file_name = path.name
    request.content_length = path.stat().st_size
    request.last_modified_epoch_seconds = int(path.stat().st_mtime)
    started = with_retries("start the upload", competitions, api, "start_submission_upload",
                           request)
    with_retries("upload the file", put_file, started.create_url, path)
    return started.token


def _create(api, path: Path, message: str, token: str, known: set[int]):
    """CreateSubmission, at most once on Kaggle's side.

    After a failure that may have reached Kaggle (5xx, timeout, dropped connection), Kaggle's
    list of submissions is checked for this one (an id not in `known`, the ids listed before
    creating it; this description and file name) before any new try; once found it is never
    retried. Returns the CreateSubmission response or the listed submission. Raises
    _Unconfirmed when the check itself fails.
    """
    from kagglesdk.competitions.types.competition_api_service import ApiCreateSubmissionRequest

    request = ApiCreateSubmissionRequest()
    request.competition_name = COMPETITION
    request.blob_file_tokens = token
    request.submission_description = message

    def once():
        try:
            return call(competitions, api, "create_submission", request)
        except Exception as exc:
            if not _may_have_reached_kaggle(exc):
                raise
            try:
                found = _find(api, message, path.name, known)
            except DigitRecognizerError as check:
                raise _Unconfirmed(
                    f"creating it failed ({_short(exc)}), and Kaggle's list of your "
                    f"submissions could not be read to check whether it exists ({check})"
                ) from None
            if found is None:
                raise  # not created: another try is safe
            return found

    return with_retries("create the submission", once)


def _may_have_reached_kaggle(exc: BaseException) -> bool:
    import requests

    if isinstance(exc, requests.HTTPError):
        return (http_status(exc) or 0) >= 500
    if isinstance(exc, requests.ConnectTimeout):  # never connected: nothing was sent
        return False
    return isinstance(exc, (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _short(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.HTTPError) and http_status(exc):
        return f"HTTP {http_status(exc)}"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {http_timeouts()[1]:g} s"
    return cause_of(exc)


def _list(api, what: str = "list your submissions", page_size: int = LISTING_PAGE) -> list:
    listed = with_retries(what, api.competition_submissions, COMPETITION, page_size=page_size)
    return [sub for sub in listed or [] if sub is not None]


def _ref(sub) -> int:
    return int(getattr(sub, "ref", 0) or 0)


def _find(api, message: str, file_name: str | None, known: set[int]):
    """The listed submission that is not one of `known` (listed before creating ours), with
    this description and file name; None when there is none."""
    for sub in _list(api):
        if _matches(sub, message, file_name, known):
            return sub
    return None


def _matches(sub, message: str, want_file: str | None, known: set[int]) -> bool:
    """A new id (not in `known`), the same description, the same file name (when both are
    known). No time window: Kaggle's ids say what is new whatever the two clocks say."""
    file_name = sub.file_name
    same_file = not want_file or not file_name or \
        Path(file_name).name.lower() == Path(want_file).name.lower()
    return _ref(sub) not in known and (sub.description or "") == message and same_file


def _take(result: SubmitResult, response) -> None:
    """Fill in the id and time from a CreateSubmission response or a listed submission."""
    result.submission_id = _ref(response) or None
    result.submitted_at = as_utc(getattr(response, "date", None)) or \
        datetime.now(timezone.utc).replace(microsecond=0)
    if getattr(response, "status", None) is not None:  # a listed submission: maybe scored
        _apply(result, response)


def _identify(api, result: SubmitResult, known: set[int]) -> None:
    """Kaggle answered without an id: find it in the list, among the ids not in `known` (the
    score can be read only then)."""
    try:
        found = _find(api, result.message, result.file.name, known)
    except DigitRecognizerError as exc:
        found, reason = None, f"Kaggle gave no submission id and its list failed ({exc})"
    else:
        reason = "Kaggle gave no submission id and it is not in the list yet"
    if found is None:
        result.pending_reason = reason
    else:
        _take(result, found)


def _apply(result: SubmitResult, sub) -> None:
    status = _status_name(sub.status)
    if status == "complete":
        result.status, result.public_score = "complete", _float(sub.public_score)
    elif status == "error":
        result.status = "error"
        result.error = sub.error_description or "Kaggle reported an error, no details"


def _status_name(status) -> str:
    name = getattr(status, "name", str(status)).lower()
    return next((s for s in ("complete", "error") if name.endswith(s)), "pending")


def _wait_for_score(api, result: SubmitResult, timeout: float, poll: float | None) -> None:
    """Poll Kaggle's list until the submission is scored, `timeout` passes or listing fails."""
    interval = POLL_S if poll is None else poll
    deadline = time.monotonic() + max(0.0, timeout)
    try:
        while True:
            try:
                listed = _list(api)
            except DigitRecognizerError as exc:
                result.pending_reason = f"asking Kaggle for the score failed: {exc}"
                return
            for sub in listed:
                if _ref(sub) == result.submission_id:
                    _apply(result, sub)
            if result.status != "pending":
                return
            if time.monotonic() + interval > deadline:
                result.pending_reason = f"Kaggle had not scored it after {timeout:g} s"
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        result.pending_reason = "interrupted while waiting for the score"


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- listing


def list_submissions(limit: int = 10) -> list[dict]:
    """Your most recent submissions to the competition, newest first (at most `limit`)."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    rows = []
    for sub in _list(kaggle_api(), page_size=max(1, limit))[:limit]:
        date = as_utc(sub.date)
        status = _status_name(sub.status)
        rows.append({
            "id": int(sub.ref),
            "date": date.strftime("%Y-%m-%d %H:%M") if date else "",
            "submitted_at": date,
            "status": status,
            "public_score": sub.public_score or "",
            "description": sub.description or "",
            "file_name": sub.file_name or "",
            "error": sub.error_description or "",
        })
    return rows
