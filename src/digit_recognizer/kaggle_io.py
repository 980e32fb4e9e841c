"""Kaggle competition access through the official `kaggle` client (download, submit, scores).

`import kaggle` authenticates on import and prints help text when there are no credentials,
so it is imported lazily, only after `has_credentials()` says yes, with its output captured.
The project never reads, prints, logs or stores the API key: the kaggle client finds it
(`~/.kaggle/kaggle.json`, `KAGGLE_CONFIG_DIR`, `KAGGLE_USERNAME`/`KAGGLE_KEY`,
`KAGGLE_API_TOKEN`, `~/.kaggle/access_token`, `kaggle auth login`).

Test hooks (environment variables; never needed in normal use):
  DIGIT_RECOGNIZER_KAGGLE_ROWS=TRAIN,TEST  expected row counts instead of 42000,28000
  DIGIT_RECOGNIZER_KAGGLE_BACKOFF=SECONDS   first retry delay (doubles each retry; default 2)
  DIGIT_RECOGNIZER_KAGGLE_POLL=SECONDS      delay between score polls (default 5)
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError

COMPETITION = "digit-recognizer"
TRAIN_ROWS = 42_000
TEST_ROWS = 28_000
FILES = ("train.csv", "test.csv", "sample_submission.csv")
RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
TOKEN_URL = "https://www.kaggle.com/settings/api"
ATTEMPTS = 4  # one try and three retries for 429/5xx/connection errors
BACKOFF_S = 2.0
MAX_WAIT_S = 60.0  # cap for one Retry-After / backoff sleep
POLL_S = 5.0
SCORE_TIMEOUT_S = 300.0
# KaggleApi.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE: the upload failed, nothing was submitted
UPLOAD_FAILED = "Could not submit to competition"
ROWS_ENV = "DIGIT_RECOGNIZER_KAGGLE_ROWS"
BACKOFF_ENV = "DIGIT_RECOGNIZER_KAGGLE_BACKOFF"
POLL_ENV = "DIGIT_RECOGNIZER_KAGGLE_POLL"
_STALE_TEMP_S = 3600

Log = Callable[[str], None]


# --------------------------------------------------------------------------- credentials


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


def _warn_permissions(log: Log) -> None:
    path = _client_config_file()
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log(f"warning: {path} is readable by other users; run `chmod 600 {path}`")


# --------------------------------------------------------------------------- the kaggle client


@contextlib.contextmanager
def _captured():
    """Swallow what the kaggle client prints (help text, progress); yield the text."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        yield buffer


def _api():
    """An authenticated `kaggle.KaggleApi` (imported lazily; its import-time output captured)."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    _warn_permissions(lambda line: print(line, file=sys.stderr))
    with _captured():
        try:
            import kaggle
        except SystemExit:  # older clients exit on import without credentials
            raise DigitRecognizerError(
                f"the kaggle client found no usable credentials: {credentials_help()}"
            ) from None
        except OSError as exc:  # it creates its config folder on import
            raise DigitRecognizerError(
                f"the kaggle client cannot start: {exc.strerror}: {exc.filename}"
            ) from None
        api = kaggle.api
        # VERBOSE=1 in the environment makes the client print request headers (the key).
        api.args = [arg for arg in type(api).args if arg not in ("--verbose", "-v")]
    if not getattr(api, "_authenticated", False):
        _with_retries("sign-in", _authenticate, api)
    return api


def _authenticate(api) -> None:
    try:
        api.authenticate()
    except SystemExit:
        raise DigitRecognizerError(
            "the kaggle client could not use the credentials it found (empty or malformed "
            f"kaggle.json, or an expired token): {credentials_help()}"
        ) from None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _http_error(status: int, what: str, exc: BaseException) -> DigitRecognizerError:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    if status == 401:
        return DigitRecognizerError(
            f"Kaggle rejected the credentials (HTTP 401) during {what}: the API key or token "
            f"is wrong, expired or revoked; {credentials_help()}"
        )
    if status == 403:
        return DigitRecognizerError(
            f"Kaggle refused {what} for competition '{COMPETITION}' (HTTP 403: {detail}): accept "
            f"the competition rules at {RULES_URL} while signed in to the account of your API "
            "key, then run again"
        )
    if status == 404:
        return DigitRecognizerError(
            f"Kaggle has no competition '{COMPETITION}' for {what} (HTTP 404: {detail}): check "
            f"that https://www.kaggle.com/competitions/{COMPETITION} exists and accepts "
            "submissions, and that your kaggle package is up to date (pip install -U kaggle)"
        )
    return DigitRecognizerError(f"Kaggle refused {what} (HTTP {status}: {detail})")


def _backoff() -> float:
    try:
        return max(0.0, float(os.environ.get(BACKOFF_ENV, BACKOFF_S)))
    except ValueError:
        return BACKOFF_S


def _with_retries(what: str, func, *args, **kwargs):
    """Call the kaggle client, retrying 429/5xx/connection errors with bounded backoff.

    Every other failure becomes a DigitRecognizerError that says what to do.
    """
    import requests

    delay = _backoff()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with _captured():
                return func(*args, **kwargs)
        except DigitRecognizerError:
            raise
        except requests.HTTPError as exc:
            status = _status(exc)
            if status is None:
                raise DigitRecognizerError(f"Kaggle {what} failed: {exc}") from None
            if status != 429 and status < 500:
                raise _http_error(status, what, exc) from None
            if attempt == ATTEMPTS:
                reason = "is rate-limiting you" if status == 429 else "is failing or down"
                raise DigitRecognizerError(
                    f"Kaggle {what} failed with HTTP {status} {attempt} times: Kaggle {reason}; "
                    "wait a few minutes and run again"
                ) from None
            wait = _retry_after(exc) if status == 429 else None
            _sleep(min(MAX_WAIT_S, delay if wait is None else wait))
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == ATTEMPTS:
                raise DigitRecognizerError(
                    f"cannot reach Kaggle for {what} after {attempt} attempts "
                    f"({type(exc).__name__}): check your internet connection and proxy settings"
                ) from None
            _sleep(min(MAX_WAIT_S, delay))
        except Exception as exc:  # anything else from the client: one clear line (--debug: cause)
            raise DigitRecognizerError(
                f"the kaggle client failed during {what}: {type(exc).__name__}: {exc}"
            ) from exc
        delay *= 2
    raise AssertionError("unreachable")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


# --------------------------------------------------------------------------- download


def expected_rows() -> tuple[int, int]:
    """(train rows, test rows) Kaggle's files have; tests may shrink them via the env hook."""
    value = os.environ.get(ROWS_ENV)
    if not value:
        return TRAIN_ROWS, TEST_ROWS
    try:
        train, test = (int(part) for part in value.split(","))
    except ValueError:
        raise DigitRecognizerError(f"{ROWS_ENV}={value!r}: expected TRAIN,TEST row counts") \
            from None
    return train, test


def check_files(folder: str | os.PathLike) -> dict[str, int]:
    """Validate train.csv, test.csv and sample_submission.csv in `folder`; {name: rows}."""
    from digit_recognizer import data, submit

    folder = Path(folder)
    n_train, n_test = expected_rows()
    counts = {}
    for name, labelled, expected in (("train.csv", True, n_train), ("test.csv", False, n_test)):
        images, _ = data.read_digits_csv(folder / name, labelled=labelled)
        if len(images) != expected:
            raise DigitRecognizerError(
                f"{folder / name}: has {len(images)} rows, expected {expected} (Kaggle's "
                f"{name})"
            )
        counts[name] = len(images)
    counts["sample_submission.csv"] = len(
        submit.validate_submission(folder / "sample_submission.csv", n_test)
    )
    return counts


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} ({rows} rows)" for name, rows in counts.items())


def download(raw_dir: str | os.PathLike, force: bool = False, log: Log | None = print) -> Path:
    """Leave Kaggle's valid train.csv, test.csv and sample_submission.csv in `raw_dir`.

    A no-op when they are already there and valid (unless `force`). The zip is downloaded and
    extracted in a temporary folder inside `raw_dir`, the files are validated there, and only
    then moved into place, so a broken download never leaves partial files behind.
    """
    raw_dir = Path(raw_dir)
    log = log or (lambda line: None)
    if not force and all((raw_dir / name).exists() for name in FILES):
        try:
            counts = check_files(raw_dir)
        except DigitRecognizerError as exc:
            log(f"{exc}; downloading again")
        else:
            log(f"{raw_dir}: {_describe(counts)} already there and valid "
                "(--force downloads again)")
            return raw_dir
    if not has_credentials():
        raise DigitRecognizerError(
            f"cannot download '{COMPETITION}' into {raw_dir}: no Kaggle credentials found: "
            f"{credentials_help()}; or download the data from "
            f"https://www.kaggle.com/competitions/{COMPETITION}/data, unzip it into {raw_dir}/ "
            "and use --source local"
        )
    api = _api()
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(raw_dir)
        work = Path(tempfile.mkdtemp(prefix=".kaggle-download-", dir=raw_dir))
    except OSError as exc:
        raise DigitRecognizerError(f"cannot write to {raw_dir}: {exc.strerror}") from None
    try:
        log(f"downloading '{COMPETITION}' from Kaggle into {raw_dir} ...")
        _with_retries("the download", api.competition_download_files, COMPETITION,
                      path=str(work), force=True, quiet=True)
        extracted = _extract(work)
        try:
            counts = check_files(extracted)
        except DigitRecognizerError as exc:
            raise DigitRecognizerError(
                f"Kaggle's download is not what this project expects ({exc}); nothing in "
                f"{raw_dir} was changed"
            ) from None
        for name in FILES:
            os.replace(extracted / name, raw_dir / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{raw_dir}: {_describe(counts)} downloaded and valid")
    return raw_dir


def _remove_stale_temps(raw_dir: Path) -> None:
    """Remove temporary folders left by a download that was killed (kill -9)."""
    now = time.time()
    for folder in raw_dir.glob(".kaggle-download-*"):
        with contextlib.suppress(OSError):
            if now - folder.stat().st_mtime > _STALE_TEMP_S:
                shutil.rmtree(folder, ignore_errors=True)


def _extract(work: Path) -> Path:
    """Unzip the downloaded archive (the client leaves `digit-recognizer.zip` zipped)."""
    archives = [p for p in work.iterdir() if p.is_file() and zipfile.is_zipfile(p)]
    if not archives:
        found = ", ".join(sorted(p.name for p in work.iterdir())) or "nothing"
        raise DigitRecognizerError(
            f"the download from Kaggle is broken (got {found}, not a zip archive); nothing was "
            "changed; run again"
        )
    target = work / "extracted"
    target.mkdir()
    try:
        with zipfile.ZipFile(archives[0]) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist()
                       if not info.is_dir()}
            missing = [name for name in FILES if name not in members]
            if missing:
                raise DigitRecognizerError(
                    f"the download from Kaggle has no {', '.join(missing)} (it has "
                    f"{', '.join(sorted(members)) or 'no files'}); nothing was changed"
                )
            for name in FILES:  # only the three files, by base name: no path tricks
                with archive.open(members[name]) as source, open(target / name, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DigitRecognizerError(
            f"the download from Kaggle is broken ({type(exc).__name__}: {exc}); nothing was "
            "changed; run again"
        ) from None
    return target


# --------------------------------------------------------------------------- submit


@dataclass
class SubmitResult:
    """What `submit` did: sent or not (and why), and Kaggle's verdict when it was sent."""

    file: Path
    rows: int
    message: str
    sent: bool
    reason: str = ""  # why it was not sent
    submission_id: int | None = None
    status: str = ""  # complete, pending (timed out) or error
    public_score: float | None = None
    error: str = ""

    def __str__(self) -> str:
        what = f"{self.file} ({self.rows} rows, valid) to '{COMPETITION}' " \
               f"with message {self.message!r}"
        if not self.sent:
            return f"would submit {what}; not sent: {self.reason}"
        line = f"submitted {what} (submission {self.submission_id})"
        if self.status == "complete":
            return f"{line}; public score {self.public_score}"
        if self.status == "pending":
            return f"{line}; {self.error}"
        return line


def submit(
    path: str | os.PathLike,
    message: str,
    n_test: int | None = None,
    dry_run: bool = False,
    wait: bool = True,
    timeout: float = SCORE_TIMEOUT_S,
    leaderboard: str | os.PathLike | None = None,
    run_id: str | None = None,
    poll_interval: float | None = None,
) -> SubmitResult:
    """Validate `path`, submit it to Kaggle with `message`, and wait (bounded) for its score.

    Not sent, and not an error, with `dry_run` or without credentials (the result says why).
    An invalid file raises DigitRecognizerError before anything is sent. A scored submission
    is appended to `leaderboard` (stage 'kaggle'); a scoring error raises after recording it.
    """
    from digit_recognizer import submit as submission

    path = Path(path)
    n_test = expected_rows()[1] if n_test is None else n_test
    frame = submission.validate_submission(path, n_test)
    message = (message or "").strip() or f"digit-recognizer {path.name}"
    result = SubmitResult(file=path, rows=len(frame), message=message, sent=False)
    if dry_run:
        result.reason = "--dry-run"
        return result
    if not has_credentials():
        result.reason = f"no Kaggle credentials found ({credentials_help()})"
        return result
    api = _api()
    response = _with_retries("the submission", api.competition_submit, str(path), message,
                             COMPETITION, quiet=True)
    if response is None or getattr(response, "message", "") == UPLOAD_FAILED:
        raise DigitRecognizerError(
            f"uploading {path} to Kaggle failed (the kaggle client said "
            f"{UPLOAD_FAILED!r}); nothing was submitted; run again"
        )
    result.sent = True
    result.submission_id = int(getattr(response, "ref", 0) or 0) or None
    result.status = "pending"
    if wait:
        _wait_for_score(api, result, timeout, poll_interval)
    else:
        result.error = "not waiting for the score (see `digit-recognizer submissions`)"
    if leaderboard is not None:
        _record(leaderboard, result, run_id)
    if result.status == "error":
        raise DigitRecognizerError(
            f"Kaggle could not score submission {result.submission_id} of {path}: "
            f"{result.error}"
        )
    return result


def _poll_interval(value: float | None) -> float:
    if value is not None:
        return value
    try:
        return max(0.0, float(os.environ.get(POLL_ENV, POLL_S)))
    except ValueError:
        return POLL_S


def _wait_for_score(api, result: SubmitResult, timeout: float, poll: float | None) -> None:
    interval = _poll_interval(poll)
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        for sub in _with_retries("listing submissions", api.competition_submissions,
                                 COMPETITION, page_size=20) or []:
            if sub is None or not _same(sub, result):
                continue
            status = getattr(sub.status, "name", str(sub.status)).upper()
            if status.endswith("COMPLETE"):
                result.status = "complete"
                result.public_score = _float(sub.public_score)
                return
            if status.endswith("ERROR"):
                result.status = "error"
                result.error = sub.error_description or "Kaggle reported an error, no details"
                return
        if time.monotonic() + interval > deadline:
            result.error = (f"no score after {timeout:g} s; Kaggle is still scoring it: run "
                            "`digit-recognizer submissions` later")
            return
        _sleep(interval)


def _same(sub, result: SubmitResult) -> bool:
    """Is this listed submission ours? By id; by message when Kaggle returned no id."""
    if result.submission_id is None:
        if sub.description == result.message:
            result.submission_id = int(sub.ref)
            return True
        return False
    return int(sub.ref) == result.submission_id


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _record(path: str | os.PathLike, result: SubmitResult, run_id: str | None) -> None:
    from digit_recognizer import leaderboard

    note = f"submission {result.submission_id} ({result.status}): {result.message}"
    if result.error:
        note += f"; {result.error}"
    leaderboard.append(path, [{
        "run_id": run_id or "",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stage": "kaggle",
        "kaggle_score": "" if result.public_score is None else result.public_score,
        "note": note,
    }])


def submissions(limit: int = 10) -> list[dict]:
    """Your most recent submissions to the competition, newest first."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    api = _api()
    listed = _with_retries("listing submissions", api.competition_submissions, COMPETITION,
                           page_size=max(1, limit)) or []
    rows = []
    for sub in listed[:limit]:
        if sub is None:
            continue
        rows.append({
            "id": int(sub.ref),
            "date": sub.date.strftime("%Y-%m-%d %H:%M") if sub.date else "",
            "status": getattr(sub.status, "name", str(sub.status)).lower(),
            "public_score": sub.public_score or "",
            "description": sub.description or "",
            "error": sub.error_description or "",
        })
    return rows
