"""A run on Kaggle's machines through the official client: upload the code dataset, push the
notebook (at most one new version per push), follow its status, download its output.

Every request goes through `transport` (timeouts, bounded retries, readable errors). The files
themselves are made by `bundle`; the `kaggle-run` command (`kernel_cli`) puts it together.

Read from the client's source (kaggle 2.2.4, kagglesdk 0.1.38): `KaggleApi.kernels_push` (the
metadata keys and their checks), `kernels_status`, `kernels_output` (paginated
ListKernelSessionOutput, then a plain GET of each file's URL; that GET has no timeout and no
status check, so it is done here), `_upload_blob` / `dataset_create_new` /
`dataset_create_version` (StartBlobUpload, PUT, CreateDataset / CreateDatasetVersion; the
client prints upload errors and carries on, so the same requests are made here and checked).

Kaggle answers 403, not only 404, for a dataset or notebook that does not exist or is not
visible yet: kaggle 2.2.4's `kernels_status` and `kernels_output` read a 401/403 as "most
likely a wrong kernel slug", and a maintainer wrote (kaggle-api issue 548) that 403 "can in
some cases also mean not found". So a lookup takes 403 as "not there (yet)", and a status read
right after a create or a push keeps polling, bounded, until the object shows. A create of a
dataset that a 403 hid answers "already in use" (kaggle-api issue 424): a new version is made.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle.transport import (
    exc_text,
    failure,
    http_status,
    http_timeouts,
    is_transient,
    with_retries,
)

POLL_S = 30.0  # between two status requests
REPORT_S = 60.0  # between two progress lines while nothing changes
# For a pushed version to replace the previous one's status, or to become visible at all.
START_S = 300.0
READY_TIMEOUT_S = 900.0  # for Kaggle to process the code dataset
OUTPUT_PAGE = 50
FINISHED = ("complete", "error", "cancel_acknowledged")
_QUOTA = re.compile(r"quota|accelerator|gpu|tpu|machine.?shape|weekly|hours", re.IGNORECASE)


class Refused(DigitRecognizerError):
    """Kaggle refused a request in a way another try would not change: nothing started."""


class NotFollowed(DigitRecognizerError):
    """The run may be going on at Kaggle, but it could not be followed to its end (or its
    output not downloaded): `--follow` resumes."""


class CannotWork(DigitRecognizerError):
    """Kaggle started the run without a source it needs: it will fail there, so it is not
    followed."""


NOT_THERE = (403, 404)  # Kaggle's answers for what does not exist or is not visible yet
# Kaggle's answer to creating a dataset that exists (kaggle-api issue 424).
_IN_USE = re.compile(r"already in use|already exists", re.IGNORECASE)


@dataclass(frozen=True)
class Ref:
    owner: str
    slug: str

    @classmethod
    def parse(cls, text: str, what: str) -> Ref:
        parts = text.strip().split("/")
        if len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9][\w.-]*", p) for p in parts):
            raise DigitRecognizerError(f"{what} {text!r}: expected OWNER/SLUG, e.g. "
                                       "yourname/digit-recognizer-run")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/code/{self.owner}/{self.slug}"


def _rpc(api, service: str, method: str, request):
    """`service` as "datasets.dataset_api_client": the client's attribute path to it."""
    with api.build_kaggle_client() as client:
        for name in service.split("."):
            client = getattr(client, name)
        return getattr(client, method)(request)


class _NotThere(DigitRecognizerError):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _request(what: str, api, service: str, method: str, request,
             refused: dict[int, str] | None = None, **retries):
    """One RPC with bounded retries (`retries`: `with_retries`'s `again` and `attempts`);
    statuses in `refused` become Refused(text). A 403 or 404 not in `refused` is Kaggle's
    refusal of this dataset or notebook, never the competition rules."""
    refused = {403: f"Kaggle refused to {what} (HTTP 403: {{said}}): the dataset or notebook "
                    "is another account's, or your API token lacks the permission",
               404: f"Kaggle has nothing to {what} (HTTP 404: {{said}})", **(refused or {})}

    def once():
        try:
            return _rpc(api, service, method, request)
        except Exception as exc:
            status = http_status(exc)
            if status in refused:
                if refused[status] is _NotThere:
                    raise _NotThere(status) from None
                raise Refused(refused[status].format(said=exc_text(exc))) from exc
            raise

    return with_retries(what, once, **retries)


def _lookup(what: str, api, service: str, method: str, request, **retries):
    """(Kaggle's answer, None), or (None, 403 or 404) where Kaggle shows no such thing."""
    try:
        return _request(what, api, service, method, request,
                        refused=dict.fromkeys(NOT_THERE, _NotThere), **retries), None
    except _NotThere as gone:
        return None, gone.status


# --------------------------------------------------------------------------- the code dataset


def dataset_state(api, ref: Ref) -> str | None:
    """Kaggle's processing state of the dataset ('ready', ...), or None where Kaggle shows
    none (404, or 403: absent or not visible yet)."""
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetStatusRequest

    request = ApiGetDatasetStatusRequest()
    request.owner_slug, request.dataset_slug = ref.owner, ref.slug
    response, _ = _lookup("read the code dataset's status", api, "datasets.dataset_api_client",
                          "get_dataset_status", request)
    return None if response is None else response.status.name.lower()


def publish_code(api, ref: Ref, archive: Path, notes: str) -> str:
    """Upload `archive` as the dataset's only file: a new private dataset, or a new version.
    Returns what was done ('created' or 'new version')."""
    existed = dataset_state(api, ref) is not None
    token = _upload(api, archive)
    if not existed:
        try:
            _create_dataset(api, ref, token)
            return "created"
        except Refused as exc:
            if not _IN_USE.search(str(exc)):
                raise
    _new_dataset_version(api, ref, token, notes)
    return "new version"


def _dataset_refusals(ref: Ref) -> dict[int, str]:
    return {403: f"Kaggle refused to write the dataset {ref} (HTTP 403: {{said}}): it belongs "
                 "to another account; pass --dataset YOURNAME/SLUG",
            400: f"Kaggle refused the dataset {ref} (HTTP 400: {{said}})"}


def _new_file(token: str):
    from kagglesdk.datasets.types.dataset_api_service import ApiDatasetNewFile

    uploaded = ApiDatasetNewFile()
    uploaded.token = token
    return uploaded


def _create_dataset(api, ref: Ref, token: str) -> None:
    from kagglesdk.datasets.types.dataset_api_service import ApiCreateDatasetRequest

    request = ApiCreateDatasetRequest()
    request.owner_slug, request.slug = ref.owner, ref.slug
    request.title, request.license_name = ref.slug, "other"
    request.is_private = True
    request.files = [_new_file(token)]
    response = _request("create the code dataset", api, "datasets.dataset_api_client",
                        "create_dataset", request, _dataset_refusals(ref))
    if getattr(response, "error", None):
        raise Refused(f"Kaggle refused the code dataset {ref}: {response.error}")


def _new_dataset_version(api, ref: Ref, token: str, notes: str) -> None:
    from kagglesdk.datasets.types.dataset_api_service import (
        ApiCreateDatasetVersionRequest,
        ApiCreateDatasetVersionRequestBody,
    )

    body = ApiCreateDatasetVersionRequestBody()
    body.version_notes = notes
    body.files = [_new_file(token)]
    request = ApiCreateDatasetVersionRequest()
    request.owner_slug, request.dataset_slug, request.body = ref.owner, ref.slug, body
    response = _request("upload a new version of the code dataset", api,
                        "datasets.dataset_api_client", "create_dataset_version", request,
                        _dataset_refusals(ref))
    if getattr(response, "error", None):
        raise Refused(f"Kaggle refused the code dataset {ref}: {response.error}")


def _upload(api, path: Path) -> str:
    """Upload a file for a dataset (StartBlobUpload, then PUT); Kaggle's blob token."""
    from kagglesdk.blobs.types.blob_api_service import ApiBlobType, ApiStartBlobUploadRequest

    from digit_recognizer.kaggle.transport import put_file

    request = ApiStartBlobUploadRequest()
    request.type = ApiBlobType.DATASET
    request.name = path.name
    request.content_length = path.stat().st_size
    request.last_modified_epoch_seconds = int(path.stat().st_mtime)
    started = _request("start the code upload", api, "blobs.blob_api_client",
                       "start_blob_upload", request)
    with_retries("upload the code", put_file, started.create_url, path)
    return started.token


def wait_until_ready(api, ref: Ref, log: Callable[[str], None],
                     timeout: float = READY_TIMEOUT_S) -> None:
    """Wait (bounded) until Kaggle has processed the dataset, so the notebook sees this version."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        state = dataset_state(api, ref)  # None: a fresh dataset Kaggle does not show yet
        if state == "ready":
            return
        if state in ("failed", "deleted"):
            raise DigitRecognizerError(f"Kaggle could not process the code dataset {ref} "
                                       f"(state {state}): run again")
        shown = state or "not visible yet"
        if time.monotonic() + POLL_S > deadline:
            raise DigitRecognizerError(f"Kaggle had not processed the code dataset {ref} after "
                                       f"{timeout:g} s ({shown}); nothing was pushed: run "
                                       "again later")
        if shown != last:
            log(f"    the code dataset is being processed ({shown})")
            last = shown
        time.sleep(POLL_S)


# --------------------------------------------------------------------------- the notebook


def _versions(api, ref: Ref) -> tuple[int | None, int | None]:
    """(the notebook's current version, None), or (None, 403 or 404) where Kaggle shows no
    such notebook (absent, or not visible yet)."""
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelRequest

    request = ApiGetKernelRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    response, gone = _lookup("read the notebook's versions", api, "kernels.kernels_api_client",
                             "get_kernel", request)
    if response is None:
        return None, gone
    return int(response.metadata.current_version_number or 0) or None, None


def kernel_version(api, ref: Ref) -> int | None:
    """The notebook's current version number, or None where Kaggle shows no such notebook."""
    return _versions(api, ref)[0]


def push(api, folder: Path, ref: Ref, accelerator: str | None,
         log: Callable[[str], None] = print) -> int | None:
    """Push the notebook in `folder` (a new version, which Kaggle runs), at most once; its
    version number when Kaggle says it. `accelerator` None: Kaggle's CPU.

    After a failure that may have reached Kaggle (timeout, 5xx, dropped connection), the
    notebook's versions are read before any new try: a version newer than before the push
    means Kaggle took it; a 404, or the same version as before, that it did not. A 403 (a
    fresh notebook Kaggle does not show yet) says neither: `_taken` waits, bounded, and never
    pushes again while the answer is unknown.
    """
    before = kernel_version(api, ref)

    def once():
        try:
            response = api.kernels_push(str(folder))
        except ValueError as exc:  # the client's own checks of kernel-metadata.json
            raise Refused(f"the kaggle client refused the notebook: {exc}") from None
        except Exception as exc:
            if not is_transient(exc):
                raise _refusal(exc, accelerator) from exc
            why = exc_text(exc) or type(exc).__name__
            after, gone = _versions_after(api, ref, why)
            if after is not None and after != before:
                return after, None
            if gone == 403:
                return None, why  # unknown: decided outside the retries, never pushed again
            raise  # not taken: another try is safe
        if response.error:
            raise _refusal(response.error, accelerator)
        return response.version_number or None, response

    version, answer = with_retries("push the notebook", once)
    if isinstance(answer, str):
        return _taken(api, ref, before, answer, log)
    if answer is not None:
        _check_sources(answer, ref, version)
    return version


def _versions_after(api, ref: Ref, why: str) -> tuple[int | None, int | None]:
    try:
        return _versions(api, ref)
    except DigitRecognizerError as check:
        raise NotFollowed(f"pushing the notebook failed ({why}) and its versions could not "
                          f"be read to check whether Kaggle took it ({check})") from None


def _taken(api, ref: Ref, before: int | None, why: str, log) -> int | None:
    """The new version of a push whose answer was lost, once Kaggle shows the notebook
    (bounded by START_S; NotFollowed after that: it is never pushed again)."""
    log(f"    the push's answer was lost ({why}); waiting for Kaggle to show {ref} to tell "
        "whether it took it")
    deadline = time.monotonic() + START_S
    while True:
        after, gone = _versions_after(api, ref, why)
        if after is not None and after != before:
            return after
        if gone != 403:
            raise DigitRecognizerError(f"could not push the notebook ({why}): Kaggle shows no "
                                       f"new version of {ref}, so it did not take it; nothing "
                                       "runs there: run again")
        if time.monotonic() + POLL_S > deadline:
            raise NotFollowed(
                f"pushing the notebook failed ({why}), and Kaggle still showed no notebook "
                f"{ref} {START_S / 60:g} min later (HTTP 403), so whether it took the push is "
                f"unknown; it was not pushed again. Look at {ref.url}: a run shown there goes "
                "on")
        time.sleep(POLL_S)


def _check_sources(response, ref: Ref, version: int | None) -> None:
    """SaveKernel's answer lists the sources it could not attach: a run without its code or
    its competition cannot work (the kaggle client only prints them)."""
    from digit_recognizer.kaggle.transport import RULES_URL

    advice = {
        "dataset": "the code dataset was not ready or not found: wait until {names} shows "
                   "its file at https://www.kaggle.com/datasets/{first}",
        "competition": f"accept the competition rules at {RULES_URL} while signed in to the "
                       "account of your API key",
        "kernel": "the notebooks {names} are not readable by your account",
        "model": "the models {names} are not readable by your account",
    }
    for kind, text in advice.items():
        names = list(getattr(response, f"invalid_{kind}_sources", None) or [])
        if names:
            which = f"version {version}" if version else "a new version"
            raise CannotWork(
                f"Kaggle took the notebook {ref} ({which}) but could not attach its {kind} "
                f"source(s) {', '.join(names)}, so that run cannot work and is not followed "
                f"(stop it at {ref.url}, or let it fail): "
                + text.format(names=", ".join(names), first=names[0])
                + ", then run digit-recognizer kaggle-run again")


def _refusal(said, accelerator: str | None) -> DigitRecognizerError:
    text = said if isinstance(said, str) else exc_text(said)
    status = None if isinstance(said, str) else http_status(said)
    where = f" (HTTP {status})" if status else ""
    if status == 401:
        return failure("push the notebook", said)
    if _QUOTA.search(text):
        return Refused(
            f"Kaggle refused to start the run on {accelerator or 'its CPU'}{where}: {text}. "
            "Kaggle gives each account a weekly GPU quota (about 30 hours; see "
            "https://www.kaggle.com/settings): wait for it to renew, or choose another "
            "machine with --accelerator (none runs on Kaggle's CPU)")
    return Refused(f"Kaggle refused the notebook{where}: {text}")


# --------------------------------------------------------------------------- following it


@dataclass
class Status:
    state: str  # queued, running, complete, error, cancel_requested, ...; "" if none shown
    failure: str = ""
    gone: int | None = None  # 403 or 404: Kaggle shows no such notebook (or not yet)


def status(api, ref: Ref, **retries) -> Status:
    """The run's state (`retries`: `with_retries`'s `again` and `attempts`)."""
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusRequest

    request = ApiGetKernelSessionStatusRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    response, gone = _lookup("read the run's status", api, "kernels.kernels_api_client",
                             "get_kernel_session_status", request, **retries)
    if response is None:
        return Status("", gone=gone)
    state = getattr(response.status, "name", str(response.status)).lower()
    return Status(state, response.failure_message or "")


def follow(api, ref: Ref, log: Callable[[str], None], timeout: float,
           just_pushed: bool = False) -> Status:
    """Report the run's progress until it ends, or NotFollowed once `timeout` seconds pass:
    no request starts after that, so it returns within `timeout` plus one request's timeout.

    Right after a push, Kaggle may still report the previous version's finished session, or
    show no notebook at all (403/404) for a while: an end is believed only once the new
    session was seen queued or running, or after START_S. A status read that fails for a
    moment is tried again at the next poll, not retried on the spot.
    """
    started = time.monotonic()
    deadline = started + timeout
    one_request = sum(http_timeouts())
    last_state, last_report, problem = None, started, ""
    seen_new = not just_pushed
    while True:
        now = _poll(api, ref)
        if isinstance(now, str):
            if now != problem:
                log(f"    {now}; trying again")
            problem = now
        elif now.gone:
            problem = ""
            _not_shown(ref, now.gone, just_pushed, started, last_state, log)
            last_state = "not shown"
        else:
            problem = ""
            seen_new = seen_new or now.state not in FINISHED
            if seen_new or time.monotonic() - started >= START_S:
                if now.state != last_state or time.monotonic() - last_report >= REPORT_S:
                    elapsed = (time.monotonic() - started) / 60
                    running = now.state == "running" and \
                        deadline - time.monotonic() > one_request
                    tail = log_tail(api, ref, 1) if running else []
                    log(f"    {now.state}, {elapsed:.0f} min since following"
                        + (f"; last log line: {tail[-1]}" if tail else ""))
                    last_state, last_report = now.state, time.monotonic()
                if now.state in FINISHED:
                    return now
        if time.monotonic() + POLL_S > deadline:
            raise NotFollowed(f"the run had not ended after {timeout / 60:g} min of following"
                              + (f" (the last try: {problem})" if problem else ""))
        time.sleep(POLL_S)


def _poll(api, ref: Ref) -> Status | str:
    """One status read, not retried: the Status, or why it failed for a moment."""
    try:
        return status(api, ref, again=None, attempts=1)
    except DigitRecognizerError as exc:
        if exc.__cause__ is None or not is_transient(exc.__cause__):
            raise NotFollowed(str(exc)) from None
        return str(exc)


def _not_shown(ref: Ref, gone: int, just_pushed: bool, started: float, last_state,
               log) -> None:
    if not just_pushed:
        raise Refused(
            f"Kaggle has no notebook {ref} that this account can see (HTTP {gone}): check "
            "OWNER/SLUG (your notebooks: kaggle kernels list --mine); one pushed moments ago "
            "can take a minute to show: follow it again then")
    if time.monotonic() - started >= START_S:
        raise NotFollowed(f"Kaggle still showed no run of {ref} {START_S / 60:g} min after "
                          f"the push (HTTP {gone}); it may show later: look at {ref.url}")
    if last_state != "not shown":
        log(f"    pushed; Kaggle does not show the run yet (HTTP {gone}), waiting")


def _session_output(api, ref: Ref, page_token: str | None, **retries):
    from kagglesdk.kernels.types.kernels_api_service import ApiListKernelSessionOutputRequest

    request = ApiListKernelSessionOutputRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    request.page_size = OUTPUT_PAGE
    if page_token:
        request.page_token = page_token
    return _request("list the run's output", api, "kernels.kernels_api_client",
                    "list_kernel_session_output", request, again=None, **retries)


def log_text(raw: str) -> str:
    """Kaggle's log (a JSON list of {stream_name, time, data}) as plain text."""
    try:
        entries = json.loads(raw)
    except (TypeError, ValueError):
        return raw or ""
    if not isinstance(entries, list):
        return raw
    return "".join(str(e.get("data", "")) for e in entries if isinstance(e, dict))


def log_tail(api, ref: Ref, lines: int) -> list[str]:
    """The last non-empty lines of the run's log, where Kaggle gives it ([] if it fails)."""
    try:
        raw = _session_output(api, ref, None, attempts=1).log
    except DigitRecognizerError:
        return []
    return [line for line in log_text(raw).splitlines() if line.strip()][-lines:]


def download_output(api, ref: Ref, folder: Path, resume: bool = True) -> list[Path]:
    """Every file the run left in /kaggle/working, into `folder`, plus its log as `kernel.log`.

    Each file is written whole (atomically). With `resume` (`folder` names one version of the
    run), files already there from an interrupted download are kept and only the rest is
    fetched; without it, `folder` is emptied first."""
    if not resume:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    names, token, log = [], None, ""
    while True:
        page = _session_output(api, ref, token)
        log = log or page.log or ""
        for item in page.files or []:
            target = _inside(folder, item.file_name)
            if not target.is_file():
                with_retries(f"download {item.file_name}", _get, item.url, target, again=None)
            names.append(item.file_name)
        token = page.next_page_token
        if not token:
            break
    if log:
        fileio.write_text(folder / "kernel.log", log_text(log))
    return [folder / name for name in names]


def _inside(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if not name or folder.resolve() not in target.parents:
        raise DigitRecognizerError(f"Kaggle listed an output file outside the run's folder: "
                                   f"{name!r}; nothing was downloaded")
    return target


def _get(url: str, target: Path) -> None:
    import requests

    response = requests.get(url, timeout=http_timeouts())
    if response.status_code in (401, 403, 404):  # not the competition's rules: the file's link
        raise DigitRecognizerError(f"Kaggle answered HTTP {response.status_code} for the output "
                                   f"file {target.name}: its download link may have expired")
    response.raise_for_status()
    target.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(target) as tmp:
        tmp.write_bytes(response.content)
