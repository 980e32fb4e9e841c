"""The kaggle client, called safely: lazy import, captured output, timeouts, bounded retries.

`import kaggle` authenticates on import and prints help text when there are no credentials,
so it is imported lazily (`kaggle_api`), only after `credentials.has_credentials()` says yes,
with its output captured. Every request has a connect and a read timeout (the client sets
none; `_bounded_requests` adds them), and 429/5xx/timeouts/dropped connections are retried a
bounded number of times with tenacity (`with_retries`). A call that fails for good becomes a
DigitRecognizerError that says what happened and what to do (`failure`), the daily submission
limit a DailyLimitReached that says when it resets.

Setting (environment variable):
  DIGIT_RECOGNIZER_KAGGLE_TIMEOUT=[CONNECT,]READ  request timeouts in seconds (default 10,30)
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle.credentials import (
    credentials_help,
    has_credentials,
    warn_permissions,
)

COMPETITION = "digit-recognizer"
RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
ATTEMPTS = 4  # one try and three retries for 429/5xx/timeouts/connection errors
BACKOFF_S = 2.0  # first retry delay; it doubles with each retry
MAX_WAIT_S = 60.0  # cap for one Retry-After / backoff sleep
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
TIMEOUT_ENV = "DIGIT_RECOGNIZER_KAGGLE_TIMEOUT"


class NotSubmitted(DigitRecognizerError):
    """Refused before sending, or Kaggle refused it: nothing was submitted."""


class DailyLimitReached(NotSubmitted):
    """Kaggle says today's submissions are used up."""


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


def kaggle_api():
    """An authenticated `kaggle.KaggleApi` (imported lazily; its import-time output captured)."""
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    warn_permissions(lambda line: print(line, file=sys.stderr))
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
        with_retries("sign in", _authenticate, api)
    return api


def _authenticate(api) -> None:
    try:
        api.authenticate()
    except SystemExit:
        raise DigitRecognizerError(
            "the kaggle client could not use the credentials it found (empty or malformed "
            f"kaggle.json, or an expired token): {credentials_help()}"
        ) from None


def competitions(api, method: str, request):
    """Call one CompetitionApiService RPC through the kaggle client (kagglesdk)."""
    with api.build_kaggle_client() as client:
        return getattr(client.competitions.competition_api_client, method)(request)


def http_status(exc: BaseException | None) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def exc_text(exc: BaseException) -> str:
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
    said = exc_text(exc)
    reset = daily_limit_reset(said)
    when = (f"it resets at {utc_text(reset)}: submit again after that" if reset else
            "Kaggle did not say when it resets (daily limits reset at 00:00 UTC)")
    return DailyLimitReached(
        f"nothing was submitted: Kaggle's daily submission limit for '{COMPETITION}' is "
        f"reached (Kaggle said: {said!r}); {when}"
    )


def _http_error(status: int, what: str, exc: BaseException) -> DigitRecognizerError:
    detail = exc_text(exc)
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


def is_transient(exc: BaseException) -> bool:
    """Worth another try: 429 (unless it is the daily limit), 5xx, timeouts, lost connections."""
    import requests

    if isinstance(exc, requests.HTTPError):
        status = http_status(exc)
        return status is not None and (status == 429 or status >= 500) and \
            not _is_daily_limit(exc)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _wait(state) -> float:
    """Seconds before the next try: Kaggle's Retry-After for a 429, else doubling backoff."""
    exc = state.outcome.exception()
    after = _retry_after(exc) if http_status(exc) == 429 else None
    delay = BACKOFF_S * 2 ** (state.attempt_number - 1) if after is None else after
    return min(MAX_WAIT_S, delay)


def call(func, *args, **kwargs):
    """One call of the kaggle client: its output captured, every request with timeouts."""
    with _captured(), _bounded_requests():
        return func(*args, **kwargs)


def with_retries(what: str, func, *args, again: str | None = "run again",
                 attempts: int | None = None, **kwargs):
    """Call the kaggle client, retrying transient failures (`is_transient`) with bounded backoff.

    `what` completes "could not ...", e.g. "list your submissions". Every failure becomes a
    DigitRecognizerError that says what happened and what to do; `again` is the advice after
    a wait ("run again"), None where the caller gives its own (a run already going on at
    Kaggle must not be started twice). `attempts` (default ATTEMPTS) bounds the tries.
    """
    import tenacity

    attempts = attempts or ATTEMPTS
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=_wait,
        retry=tenacity.retry_if_exception(is_transient),
        sleep=_sleep,
        reraise=True,
    )
    try:
        return retrying(call, func, *args, **kwargs)
    except DigitRecognizerError:
        raise
    except Exception as exc:
        # the cause: --debug shows it, submit() and kernels read it
        raise failure(what, exc, again=again, attempts=attempts) from exc


def failure(what: str, exc: BaseException, again: str | None = "run again",
            attempts: int | None = None) -> DigitRecognizerError:
    """The error for a call that failed for good (transient ones after `attempts` tries)."""
    import requests

    attempts = attempts or ATTEMPTS
    tries = f"{attempts} times in a row" if attempts > 1 else "once, not retried"
    then = f" and {again}" if again else ""
    if _is_daily_limit(exc):
        return _daily_limit_error(exc)
    if isinstance(exc, requests.HTTPError):
        status = http_status(exc)
        if status is None:
            return DigitRecognizerError(f"could not {what}: {exc_text(exc)}")
        if status == 429:
            return DigitRecognizerError(
                f"could not {what}: Kaggle answered HTTP 429 (too many requests) {tries}; "
                f"Kaggle is rate-limiting you: wait a few minutes{then}"
            )
        if status >= 500:
            return DigitRecognizerError(
                f"could not {what}: Kaggle answered HTTP {status} (server error) {tries}; "
                f"Kaggle is failing or down: wait a few minutes{then}"
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
            f"be down: wait a few minutes{then} ({TIMEOUT_ENV}=CONNECT,READ sets the "
            "timeouts in seconds)"
        )
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return DigitRecognizerError(
            f"could not {what}: the connection to Kaggle failed {tries} ({cause_of(exc)}); check "
            f"your internet connection and proxy settings{', then ' + again if again else ''}"
        )
    return DigitRecognizerError(
        f"the kaggle client failed to {what}: {type(exc).__name__}: {exc_text(exc)}"
    )


def cause_of(exc: BaseException) -> str:
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


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def as_utc(moment: datetime | None) -> datetime | None:
    """kagglesdk's dates are naive UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment



def put_file(url: str, path) -> None:
    """PUT a file to an upload URL Kaggle handed out (what the client's `upload_complete`
    does, minus its own ten unbounded retries and its habit of printing errors and carrying
    on)."""
    import requests

    with open(path, "rb") as data:
        response = requests.put(url, data=data, timeout=http_timeouts())
    if response.status_code not in (200, 201):
        raise requests.HTTPError(f"the upload answered HTTP {response.status_code}",
                                 response=response)
