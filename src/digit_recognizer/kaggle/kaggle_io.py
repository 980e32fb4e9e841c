"""Kaggle competition access through the official `kaggle` client (download, submit, scores).

`import kaggle` authenticates on import and prints help text when there are no credentials,
so it is imported lazily, only after `has_credentials()` says yes, with its output captured.
The project never reads, prints, logs or stores the API key: the kaggle client finds it
(`~/.kaggle/kaggle.json`, `KAGGLE_CONFIG_DIR`, `KAGGLE_USERNAME`/`KAGGLE_KEY`,
`KAGGLE_API_TOKEN`, `~/.kaggle/access_token`, `kaggle auth login`).

Every request has a connect and a read timeout (the client sets none; `_bounded_requests`
adds them), 429/5xx/timeouts/dropped connections are retried a bounded number of times
(tenacity), and a submission is created at most once: when creating it fails in a way that may
have reached Kaggle, Kaggle's list of submissions is checked before any new try.

A submission ends in one of these outcomes (`SubmitResult.exit_status`, the exit status of
`digit-recognizer submit`):
  0  sent, and Kaggle scored it
  2  refused before sending (invalid file, no credentials, rules, daily limit...): nothing sent
  3  sent (or possibly sent), score not known yet: never resubmit; read it later
  4  sent, and Kaggle could not score it

Settings and test hooks (environment variables):
  DIGIT_RECOGNIZER_KAGGLE_TIMEOUT=[CONNECT,]READ  request timeouts in seconds (default 10,30)
  DIGIT_RECOGNIZER_KAGGLE_ROWS=TRAIN,TEST  expected row counts instead of 42000,28000
  DIGIT_RECOGNIZER_KAGGLE_BACKOFF=SECONDS   first retry delay (doubles each retry; default 2)
  DIGIT_RECOGNIZER_KAGGLE_POLL=SECONDS      delay between score polls (default 5)
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError

COMPETITION = "digit-recognizer"
TRAIN_ROWS = 42_000
TEST_ROWS = 28_000
FILES = ("train.csv", "test.csv", "sample_submission.csv")
RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
TOKEN_URL = "https://www.kaggle.com/settings/api"
ATTEMPTS = 4  # one try and three retries for 429/5xx/timeouts/connection errors
BACKOFF_S = 2.0
MAX_WAIT_S = 60.0  # cap for one Retry-After / backoff sleep
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
POLL_S = 5.0
SCORE_TIMEOUT_S = 300.0
# Kaggle's clock and ours may differ: a listed submission counts as "ours" (same description
# and file name) if Kaggle dated it no earlier than this before we first tried to create it.
CLOCK_SKEW_S = 600.0
LISTING_PAGE = 20  # submissions listed when looking for ours or filling pending rows (the
# kaggle client's default page size)
DEFAULT_LEADERBOARD = Path("outputs") / "leaderboard.csv"
EXIT_SCORED, EXIT_REFUSED, EXIT_PENDING, EXIT_SCORING_ERROR = 0, 2, 3, 4
ROWS_ENV = "DIGIT_RECOGNIZER_KAGGLE_ROWS"
BACKOFF_ENV = "DIGIT_RECOGNIZER_KAGGLE_BACKOFF"
POLL_ENV = "DIGIT_RECOGNIZER_KAGGLE_POLL"
TIMEOUT_ENV = "DIGIT_RECOGNIZER_KAGGLE_TIMEOUT"
_STALE_TEMP_S = 3600

Log = Callable[[str], None]


class NotSubmitted(DigitRecognizerError):
    """Refused before sending, or Kaggle refused it: nothing was submitted."""


class DailyLimitReached(NotSubmitted):
    """Kaggle says today's submissions are used up."""


class _Unconfirmed(DigitRecognizerError):
    """Creating the submission failed in a way that may have reached Kaggle, and Kaggle's list
    of submissions could not be read to check."""


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


def http_timeouts() -> tuple[float, float]:
    """(connect, read) seconds for every request to Kaggle (DIGIT_RECOGNIZER_KAGGLE_TIMEOUT)."""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return CONNECT_TIMEOUT_S, READ_TIMEOUT_S
    try:
        parts = [float(part) for part in value.split(",")]
        if len(parts) not in (1, 2) or not all(0 < p < math.inf for p in parts):
            raise ValueError
    except ValueError:
        raise DigitRecognizerError(
            f"{TIMEOUT_ENV}={value!r}: expected READ or CONNECT,READ seconds, e.g. 10,30"
        ) from None
    return (CONNECT_TIMEOUT_S, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def _tighter(timeout, limit: tuple[float, float]) -> tuple[float, float]:
    """The stricter of a request's own timeout (None, seconds or a pair) and `limit`."""
    if isinstance(timeout, (int, float)):
        timeout = (timeout, timeout)
    if not isinstance(timeout, tuple) or len(timeout) != 2:
        return limit
    return tuple(min(mine, theirs) if isinstance(theirs, (int, float)) else mine
                 for mine, theirs in zip(limit, timeout, strict=True))


@contextlib.contextmanager
def _bounded_requests():
    """Give every request made in the block connect and read timeouts.

    The kaggle client (kagglesdk) sends its requests through a `requests.Session` with no
    timeout at all, so a server that accepts the connection and never answers would hang it
    forever. All of `requests` goes through `HTTPAdapter.send`, which takes the timeout.
    """
    from requests.adapters import HTTPAdapter

    limit = http_timeouts()
    original = HTTPAdapter.send

    def send(self, request, stream=False, timeout=None, **kwargs):
        return original(self, request, stream=stream, timeout=_tighter(timeout, limit), **kwargs)

    HTTPAdapter.send = send
    try:
        yield limit
    finally:
        HTTPAdapter.send = original


def _api():
    """An authenticated `kaggle.KaggleApi` (imported lazily; its import-time output captured)."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    _warn_permissions(lambda line: print(line, file=sys.stderr))
    with _captured(), _bounded_requests():
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
        _with_retries("sign in", _authenticate, api)
    return api


def _authenticate(api) -> None:
    try:
        api.authenticate()
    except SystemExit:
        raise DigitRecognizerError(
            "the kaggle client could not use the credentials it found (empty or malformed "
            f"kaggle.json, or an expired token): {credentials_help()}"
        ) from None


def _competitions(api, method: str, request):
    """Call one CompetitionApiService RPC through the kaggle client (kagglesdk)."""
    with api.build_kaggle_client() as client:
        return getattr(client.competitions.competition_api_client, method)(request)


def _status(exc: BaseException | None) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


# Kaggle: "Submission not allowed:  Your team has used its daily Submission allowance (5) today,
# please try again tomorrow UTC (7.2 hours from now)."
_DAILY = re.compile(r"daily\s+(submission\s+)?(allowance|limit)|submissions?\s+(allowance|limit)"
                    r"\s+(for\s+)?today|too\s+many\s+submissions\s+today", re.IGNORECASE)
_FROM_NOW = re.compile(r"(\d+(?:\.\d+)?)\s*(hours?|hrs?|minutes?|mins?)\s+from\s+now",
                       re.IGNORECASE)


def _is_daily_limit(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.HTTPError) and bool(_DAILY.search(str(exc)))


def daily_limit_reset(message: str, now: datetime | None = None) -> datetime | None:
    """When the daily limit resets, if Kaggle's `message` says (UTC); else None."""
    now = now or datetime.now(timezone.utc)
    match = _FROM_NOW.search(message)
    if match:
        amount = float(match.group(1))
        unit = timedelta(hours=1) if match.group(2).lower().startswith("h") else \
            timedelta(minutes=1)
        return (now + amount * unit).replace(microsecond=0)
    if re.search(r"tomorrow\s+\(?UTC", message, re.IGNORECASE):
        return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return None


def _daily_limit_error(exc: BaseException) -> DailyLimitReached:
    said = _detail(exc)
    reset = daily_limit_reset(said)
    when = (f"it resets at {_utc(reset)}: submit again after that" if reset else
            "Kaggle did not say when it resets (daily limits reset at 00:00 UTC)")
    return DailyLimitReached(
        f"nothing was submitted: Kaggle's daily submission limit for '{COMPETITION}' is "
        f"reached (Kaggle said: {said!r}); {when}"
    )


def _http_error(status: int, what: str, exc: BaseException) -> DigitRecognizerError:
    detail = _detail(exc)
    if status == 401:
        return DigitRecognizerError(
            f"Kaggle rejected the credentials (HTTP 401) when asked to {what}: the API key or "
            f"token is wrong, expired or revoked; {credentials_help()}"
        )
    if status == 403:
        return DigitRecognizerError(
            f"Kaggle refused to {what} for competition '{COMPETITION}' (HTTP 403: {detail}): "
            f"accept the competition rules at {RULES_URL} while signed in to the account of "
            "your API key, then run again"
        )
    if status == 404:
        return DigitRecognizerError(
            f"Kaggle has no competition '{COMPETITION}' (HTTP 404: {detail}) when asked to "
            f"{what}: check that https://www.kaggle.com/competitions/{COMPETITION} exists and "
            "accepts submissions, and that your kaggle package is up to date "
            "(pip install -U kaggle)"
        )
    return DigitRecognizerError(f"Kaggle refused to {what} (HTTP {status}: {detail})")


def _backoff() -> float:
    try:
        return max(0.0, float(os.environ.get(BACKOFF_ENV, BACKOFF_S)))
    except ValueError:
        return BACKOFF_S


def _transient(exc: BaseException) -> bool:
    """Worth another try: 429 (unless it is the daily limit), 5xx, timeouts, lost connections."""
    import requests

    if isinstance(exc, requests.HTTPError):
        status = _status(exc)
        return status is not None and (status == 429 or status >= 500) and \
            not _is_daily_limit(exc)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _wait(state) -> float:
    """Seconds before the next try: Kaggle's Retry-After for a 429, else doubling backoff."""
    exc = state.outcome.exception()
    after = _retry_after(exc) if _status(exc) == 429 else None
    delay = _backoff() * 2 ** (state.attempt_number - 1) if after is None else after
    return min(MAX_WAIT_S, delay)


def _call(func, *args, **kwargs):
    """One call of the kaggle client: its output captured, every request with timeouts."""
    with _captured(), _bounded_requests():
        return func(*args, **kwargs)


def _with_retries(what: str, func, *args, **kwargs):
    """Call the kaggle client, retrying transient failures (`_transient`) with bounded backoff.

    `what` completes "could not ...", e.g. "list your submissions". Every failure becomes a
    DigitRecognizerError that says what happened and what to do.
    """
    import tenacity

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        wait=_wait,
        retry=tenacity.retry_if_exception(_transient),
        sleep=_sleep,
        reraise=True,
    )
    try:
        return retrying(_call, func, *args, **kwargs)
    except DigitRecognizerError:
        raise
    except Exception as exc:
        raise _failure(what, exc) from exc  # the cause: --debug shows it, submit() reads it


def _failure(what: str, exc: BaseException) -> DigitRecognizerError:
    """The error for a call that failed for good (transient ones after ATTEMPTS tries)."""
    import requests

    tries = f"{ATTEMPTS} times in a row"
    if _is_daily_limit(exc):
        return _daily_limit_error(exc)
    if isinstance(exc, requests.HTTPError):
        status = _status(exc)
        if status is None:
            return DigitRecognizerError(f"could not {what}: {_detail(exc)}")
        if status == 429:
            return DigitRecognizerError(
                f"could not {what}: Kaggle answered HTTP 429 (too many requests) {tries}; "
                "Kaggle is rate-limiting you: wait a few minutes and run again"
            )
        if status >= 500:
            return DigitRecognizerError(
                f"could not {what}: Kaggle answered HTTP {status} (server error) {tries}; "
                "Kaggle is failing or down: wait a few minutes and run again"
            )
        return _http_error(status, what, exc)
    connect, read = http_timeouts()
    if isinstance(exc, requests.ConnectTimeout):
        return DigitRecognizerError(
            f"could not {what}: no connection to Kaggle within {connect:g} s, {tries}; check "
            "your internet connection and proxy settings"
        )
    if isinstance(exc, requests.Timeout):
        return DigitRecognizerError(
            f"could not {what}: Kaggle did not answer within {read:g} s, {tries}; Kaggle may "
            f"be down: wait a few minutes and run again ({TIMEOUT_ENV}=CONNECT,READ sets the "
            "timeouts in seconds)"
        )
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return DigitRecognizerError(
            f"could not {what}: the connection to Kaggle failed {tries} ({_cause(exc)}); check "
            "your internet connection and proxy settings, then run again"
        )
    return DigitRecognizerError(
        f"the kaggle client failed to {what}: {type(exc).__name__}: {_detail(exc)}"
    )


def _cause(exc: BaseException) -> str:
    """The innermost exception's type: ConnectionResetError, RemoteDisconnected, ..."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    name = type(exc).__name__
    reasons = {"RemoteDisconnected": "Kaggle closed the connection without answering",
               "ConnectionResetError": "the connection was reset",
               "ConnectionRefusedError": "the connection was refused"}
    return reasons.get(name, name)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _as_utc(moment: datetime | None) -> datetime | None:
    """kagglesdk's dates are naive UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


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
    from digit_recognizer.datasets import data, submit

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
        _with_retries("download the competition files", _download_zip, api,
                      work / f"{COMPETITION}.zip")
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


def _download_zip(api, target: Path) -> None:
    """Stream the competition's zip into `target` (a fresh file each try).

    `KaggleApi.competition_download_files` would retry on its own (five times, minutes of
    backoff) and resume into partial files; here one bounded retry policy covers it all, and
    the temporary folder is the only place anything is written.
    """
    from kagglesdk.competitions.types.competition_api_service import (
        ApiDownloadDataFilesRequest,
    )

    request = ApiDownloadDataFilesRequest()
    request.competition_name = COMPETITION
    with api.build_kaggle_client() as client:
        response = client.competitions.competition_api_client.download_data_files(request)
        with response, open(target, "wb") as out:
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)


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
    leaderboard: Path | None = None
    recorded: bool = False  # its row is in `leaderboard`
    record_error: str = ""  # why it is not (a sent submission is never reported as failed)

    @property
    def exit_status(self) -> int:
        """0 scored (or --dry-run), 2 not sent, 3 sent but score not known, 4 scoring error."""
        if not self.sent:
            return EXIT_SCORED if self.dry_run else EXIT_REFUSED
        return {"complete": EXIT_SCORED, "error": EXIT_SCORING_ERROR}.get(self.status,
                                                                          EXIT_PENDING)

    def __str__(self) -> str:
        text = self._outcome()
        if self.record_error:
            text += f"\nwarning: not recorded in the leaderboard: {self.record_error}"
        return text

    def _outcome(self) -> str:
        what = f"{self.file} ({self.rows} rows, valid) to '{COMPETITION}'"
        described = f"with description {self.message!r}"
        if not self.sent:
            return f"would submit {what} {described}; not sent: {self.reason}"
        if self.status == "unconfirmed":
            return (
                f"{self.file} MAY HAVE BEEN SUBMITTED to '{COMPETITION}' {described} at about "
                f"{_utc(self.submitted_at)}: {self.pending_reason}.\n"
                "Do not submit it again before checking: run `digit-recognizer submissions` "
                "later; it lists your submissions and fills in the leaderboard row."
            )
        ident = f"submission {self.submission_id}" if self.submission_id else "a submission"
        line = f"submitted {what} as {ident} at {_utc(self.submitted_at)} {described}"
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
    leaderboard: str | os.PathLike | None = None,
    run_id: str | None = None,
    poll_interval: float | None = None,
) -> SubmitResult:
    """Validate `path`, submit it to Kaggle with `message`, and wait (bounded) for its score.

    Raises NotSubmitted (a DigitRecognizerError) when nothing was submitted: an invalid file
    (before anything is sent), Kaggle refusing it (credentials, rules, daily limit) or Kaggle
    unreachable. Returns a result that is not sent, and not an error, with `dry_run` or without
    credentials (it says why). Once Kaggle may have the submission it never raises: the result
    says what is known (`status`, `exit_status`), and a row for it is appended to `leaderboard`
    (stage 'kaggle') at once and filled in when the score arrives.
    """
    from digit_recognizer.datasets import submit as submission

    path = Path(path)
    n_test = expected_rows()[1] if n_test is None else n_test
    try:
        frame = submission.validate_submission(path, n_test)
    except DigitRecognizerError as exc:
        raise NotSubmitted(f"nothing was submitted: {exc}") from exc
    message = (message or "").strip() or f"digit-recognizer {path.name}"
    result = SubmitResult(file=path, rows=len(frame), message=message, sent=False,
                          dry_run=dry_run,
                          leaderboard=None if leaderboard is None else Path(leaderboard))
    if dry_run:
        result.reason = "--dry-run"
        return result
    if not has_credentials():
        result.reason = f"no Kaggle credentials found ({credentials_help()})"
        return result
    try:
        api = _api()
        token = _upload(api, path)
    except NotSubmitted:
        raise
    except DigitRecognizerError as exc:
        raise NotSubmitted(f"nothing was submitted: {exc}") from exc.__cause__
    started = datetime.now(timezone.utc)
    try:
        response = _create(api, path, message, token, started)
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
            _identify(api, result, started)
    _record(result, run_id)
    if result.status == "pending" and result.submission_id is not None:
        if wait:
            _wait_for_score(api, result, timeout, poll_interval)
        else:
            result.pending_reason = "not waiting for it (--no-wait)"
        if result.recorded and result.status != "pending":
            try:
                fill_pending(result.leaderboard, [_row_of(result)])
            except (DigitRecognizerError, OSError, ValueError) as exc:
                result.record_error = _why_not_written(result.leaderboard, exc)
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
    started = _with_retries("start the upload", _competitions, api, "start_submission_upload",
                            request)
    _with_retries("upload the file", _put, started.create_url, path)
    return started.token


def _put(url: str, path: Path) -> None:
    """PUT the file to Kaggle's upload URL (what the client's `upload_complete` does, minus its
    own ten unbounded retries and its habit of printing errors and carrying on)."""
    import requests

    with open(path, "rb") as data:
        response = requests.put(url, data=data, timeout=http_timeouts())
    if response.status_code not in (200, 201):
        raise requests.HTTPError(f"the upload answered HTTP {response.status_code}",
                                 response=response)


def _create(api, path: Path, message: str, token: str, started: datetime):
    """CreateSubmission, at most once on Kaggle's side.

    After a failure that may have reached Kaggle (5xx, timeout, dropped connection), Kaggle's
    list of submissions is checked for this one (description, file name, time) before any new
    try; once found it is never retried. Returns the CreateSubmission response or the listed
    submission. Raises _Unconfirmed when the check itself fails.
    """
    from kagglesdk.competitions.types.competition_api_service import ApiCreateSubmissionRequest

    request = ApiCreateSubmissionRequest()
    request.competition_name = COMPETITION
    request.blob_file_tokens = token
    request.submission_description = message

    def once():
        try:
            return _call(_competitions, api, "create_submission", request)
        except Exception as exc:
            if not _may_have_reached_kaggle(exc):
                raise
            try:
                found = _find(api, message, path.name, started)
            except DigitRecognizerError as check:
                raise _Unconfirmed(
                    f"creating it failed ({_short(exc)}), and Kaggle's list of your "
                    f"submissions could not be read to check whether it exists ({check})"
                ) from None
            if found is None:
                raise  # not created: another try is safe
            return found

    return _with_retries("create the submission", once)


def _may_have_reached_kaggle(exc: BaseException) -> bool:
    import requests

    if isinstance(exc, requests.HTTPError):
        return (_status(exc) or 0) >= 500
    if isinstance(exc, requests.ConnectTimeout):  # never connected: nothing was sent
        return False
    return isinstance(exc, (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _short(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.HTTPError) and _status(exc):
        return f"HTTP {_status(exc)}"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {http_timeouts()[1]:g} s"
    return _cause(exc)


def _list(api, page_size: int = LISTING_PAGE) -> list:
    listed = _with_retries("list your submissions", api.competition_submissions, COMPETITION,
                           page_size=page_size)
    return [sub for sub in listed or [] if sub is not None]


def _find(api, message: str, file_name: str | None, since: datetime):
    """The listed submission with this description (and file name) dated since `since`."""
    for sub in _list(api):
        if _matches(sub.description, sub.file_name, sub.date, message, file_name, since):
            return sub
    return None


def _matches(description, file_name, date, message, want_file, since: datetime) -> bool:
    """Same description, same file name (when both are known), dated since `since` (less the
    clock skew allowance)."""
    date = _as_utc(date)
    same_file = not want_file or not file_name or \
        Path(file_name).name.lower() == Path(want_file).name.lower()
    return (description or "") == message and same_file and date is not None \
        and date >= since - timedelta(seconds=CLOCK_SKEW_S)


def _take(result: SubmitResult, response) -> None:
    """Fill in the id and time from a CreateSubmission response or a listed submission."""
    result.submission_id = int(getattr(response, "ref", 0) or 0) or None
    result.submitted_at = _as_utc(getattr(response, "date", None)) or \
        datetime.now(timezone.utc).replace(microsecond=0)
    if getattr(response, "status", None) is not None:  # a listed submission: maybe scored
        _apply(result, response)


def _identify(api, result: SubmitResult, started: datetime) -> None:
    """Kaggle answered without an id: find it in the list (the score can be read only then)."""
    try:
        found = _find(api, result.message, result.file.name, started)
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


def _poll_interval(value: float | None) -> float:
    if value is not None:
        return value
    try:
        return max(0.0, float(os.environ.get(POLL_ENV, POLL_S)))
    except ValueError:
        return POLL_S


def _wait_for_score(api, result: SubmitResult, timeout: float, poll: float | None) -> None:
    """Poll Kaggle's list until the submission is scored, `timeout` passes or listing fails."""
    interval = _poll_interval(poll)
    deadline = time.monotonic() + max(0.0, timeout)
    try:
        while True:
            try:
                listed = _list(api)
            except DigitRecognizerError as exc:
                result.pending_reason = f"asking Kaggle for the score failed: {exc}"
                return
            for sub in listed:
                if int(sub.ref) == result.submission_id:
                    _apply(result, sub)
            if result.status != "pending":
                return
            if time.monotonic() + interval > deadline:
                result.pending_reason = f"Kaggle had not scored it after {timeout:g} s"
                return
            _sleep(interval)
    except KeyboardInterrupt:
        result.pending_reason = "interrupted while waiting for the score"


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- leaderboard rows


def _record(result: SubmitResult, run_id: str | None) -> None:
    """Append the submission's row (whatever is known now) to its leaderboard, if any.

    It was sent: a leaderboard that cannot be written is a warning in the result, never an error.
    """
    from digit_recognizer import leaderboard

    if result.leaderboard is None:
        return
    try:
        _append(leaderboard, result, run_id)
    except (DigitRecognizerError, OSError, ValueError) as exc:
        result.record_error = _why_not_written(result.leaderboard, exc)
    else:
        result.recorded = True


def _why_not_written(path: Path, exc: Exception) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _detail(exc)
    return f"{path}: {reason}"


def _append(leaderboard, result: SubmitResult, run_id: str | None) -> None:
    leaderboard.append(result.leaderboard, [{
        "run_id": run_id or "",
        "time": _iso(result.submitted_at),
        "stage": "kaggle",
        "kaggle_score": "" if result.public_score is None else result.public_score,
        "kaggle_submission": result.submission_id or "",
        "kaggle_status": result.status,
        "note": _note(result.message, result.error),
    }])


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _note(description: str, error: str) -> str:
    return f"{description}; Kaggle could not score it: {error}" if error else description


def _row_of(result: SubmitResult) -> dict:
    """A submission as `submissions()` lists it, for `fill_pending`."""
    return {"id": result.submission_id, "submitted_at": result.submitted_at,
            "status": result.status, "public_score": result.public_score,
            "description": result.message, "file_name": result.file.name,
            "error": result.error}


def fill_pending(path: str | os.PathLike, listed: list[dict], everything: bool = False) -> int:
    """Fill in the leaderboard's pending and unconfirmed Kaggle rows from `listed` submissions.

    A row is matched by submission id, or, when it has none, by description and time. An
    unconfirmed row that matches nothing becomes 'not submitted' when the list reaches back
    past the row's time (or is `everything` Kaggle has). Returns the number of rows changed;
    the file is rewritten atomically, and only if something changed.
    """
    from digit_recognizer import leaderboard

    path = Path(path)
    if not path.is_file():
        return 0
    board = leaderboard.load(path)
    changed = 0
    for index, row in board.iterrows():
        if row["stage"] != "kaggle" or row["kaggle_status"] not in ("pending", "unconfirmed"):
            continue
        match = _match_row(row, listed)
        if match is None:
            if row["kaggle_status"] == "unconfirmed" and \
                    (everything or _covers(listed, _parse_iso(row["time"]))):
                board.loc[index, "kaggle_status"] = "not submitted"
                changed += 1
            continue
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
        leaderboard.save(path, board)
    return changed


def _match_row(row, listed: list[dict]) -> dict | None:
    if row["kaggle_submission"]:
        return next((sub for sub in listed if str(sub["id"]) == row["kaggle_submission"]), None)
    since = _parse_iso(row["time"])
    if since is None:
        return None
    for sub in listed:
        if _matches(sub["description"], None, sub["submitted_at"], row["note"], None, since):
            return sub
    return None


def _covers(listed: list[dict], since: datetime | None) -> bool:
    """Does the (newest-first) list reach back before `since`?"""
    dates = [_as_utc(sub["submitted_at"]) for sub in listed if sub["submitted_at"]]
    return since is not None and bool(dates) and \
        min(dates) < since - timedelta(seconds=CLOCK_SKEW_S)


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- submissions


def submissions(limit: int = 10) -> list[dict]:
    """Your most recent submissions to the competition, newest first (at most `limit`)."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    rows = []
    for sub in _list(_api(), page_size=max(1, limit))[:limit]:
        date = _as_utc(sub.date)
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
