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
"""

from __future__ import annotations

import json
import os
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
START_S = 300.0  # for a pushed version to replace the previous one's status
READY_TIMEOUT_S = 900.0  # for Kaggle to process the code dataset
OUTPUT_PAGE = 50
FINISHED = ("complete", "error", "cancel_acknowledged")
_QUOTA = re.compile(r"quota|accelerator|gpu|tpu|machine.?shape|weekly|hours", re.IGNORECASE)


class Refused(DigitRecognizerError):
    """Kaggle refused a request in a way another try would not change: nothing started."""


class NotFollowed(DigitRecognizerError):
    """The run may be going on at Kaggle, but it could not be followed to its end."""


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


def _request(what: str, api, service: str, method: str, request,
             refused: dict[int, str] | None = None):
    """One RPC with bounded retries; statuses in `refused` become Refused(text)."""
    def once():
        try:
            return _rpc(api, service, method, request)
        except Exception as exc:
            status = http_status(exc)
            if refused and status in refused:
                raise Refused(refused[status].format(said=exc_text(exc))) from exc
            raise

    return with_retries(what, once)


def _lookup(what: str, api, service: str, method: str, request):
    """Like `_request`, but None where Kaggle answers 404 (there is no such thing)."""
    try:
        return _request(what, api, service, method, request, refused={404: "absent"})
    except Refused:
        return None


# --------------------------------------------------------------------------- the code dataset


def dataset_state(api, ref: Ref) -> str | None:
    """Kaggle's processing state of the dataset ('ready', ...), or None if there is none."""
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetStatusRequest

    request = ApiGetDatasetStatusRequest()
    request.owner_slug, request.dataset_slug = ref.owner, ref.slug
    response = _lookup("read the code dataset's status", api, "datasets.dataset_api_client",
                       "get_dataset_status", request)
    return None if response is None else response.status.name.lower()


def publish_code(api, ref: Ref, archive: Path, notes: str) -> str:
    """Upload `archive` as the dataset's only file: a new private dataset, or a new version.
    Returns what was done ('created' or 'new version')."""
    existed = dataset_state(api, ref) is not None
    token = _upload(api, archive)
    refused = {403: f"Kaggle refused to write the dataset {ref} (HTTP 403: {{said}}): it "
                    "belongs to another account; pass --dataset YOURNAME/SLUG",
               400: f"Kaggle refused the dataset {ref} (HTTP 400: {{said}})"}
    from kagglesdk.datasets.types.dataset_api_service import (
        ApiCreateDatasetRequest,
        ApiCreateDatasetVersionRequest,
        ApiCreateDatasetVersionRequestBody,
        ApiDatasetNewFile,
    )

    uploaded = ApiDatasetNewFile()
    uploaded.token = token
    if existed:
        body = ApiCreateDatasetVersionRequestBody()
        body.version_notes = notes
        body.files = [uploaded]
        request = ApiCreateDatasetVersionRequest()
        request.owner_slug, request.dataset_slug, request.body = ref.owner, ref.slug, body
        response = _request("upload a new version of the code dataset", api,
                            "datasets.dataset_api_client", "create_dataset_version", request,
                            refused)
    else:
        request = ApiCreateDatasetRequest()
        request.owner_slug, request.slug = ref.owner, ref.slug
        request.title, request.license_name = ref.slug, "other"
        request.is_private = True
        request.files = [uploaded]
        response = _request("create the code dataset", api, "datasets.dataset_api_client",
                            "create_dataset", request, refused)
    if getattr(response, "error", None):
        raise Refused(f"Kaggle refused the code dataset {ref}: {response.error}")
    return "new version" if existed else "created"


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
    while True:
        state = dataset_state(api, ref)
        if state == "ready":
            return
        if state in (None, "failed", "deleted"):
            raise DigitRecognizerError(f"Kaggle could not process the code dataset {ref} "
                                       f"(state {state or 'missing'}): run again")
        if time.monotonic() + POLL_S > deadline:
            raise DigitRecognizerError(f"Kaggle had not processed the code dataset {ref} after "
                                       f"{timeout:g} s (state {state}): run again later")
        log(f"    the code dataset is being processed ({state})")
        time.sleep(POLL_S)


# --------------------------------------------------------------------------- the notebook


def kernel_version(api, ref: Ref) -> int | None:
    """The notebook's current version number, or None if Kaggle has no such notebook."""
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelRequest

    request = ApiGetKernelRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    response = _lookup("read the notebook's versions", api, "kernels.kernels_api_client",
                       "get_kernel", request)
    return None if response is None else int(response.metadata.current_version_number or 0) or None


def push(api, folder: Path, ref: Ref, accelerator: str) -> int | None:
    """Push the notebook in `folder` (a new version, which Kaggle runs), at most once; its
    version number when Kaggle says it.

    After a failure that may have reached Kaggle (timeout, 5xx, dropped connection), the
    notebook's versions are read before any new try: a version newer than before the push
    means Kaggle took it.
    """
    before = kernel_version(api, ref)

    def once() -> int | None:
        try:
            response = api.kernels_push(str(folder))
        except ValueError as exc:  # the client's own checks of kernel-metadata.json
            raise Refused(f"the kaggle client refused the notebook: {exc}") from None
        except Exception as exc:
            if not is_transient(exc):
                raise _refusal(exc, accelerator) from exc
            try:
                after = kernel_version(api, ref)
            except DigitRecognizerError as check:
                raise NotFollowed(
                    f"pushing the notebook failed ({exc_text(exc) or type(exc).__name__}) and "
                    f"its versions could not be read to check whether Kaggle took it ({check})"
                ) from None
            if after is not None and after != before:
                return after
            raise  # not taken: another try is safe
        if response.error:
            raise _refusal(response.error, accelerator)
        return response.version_number or None

    return with_retries("push the notebook", once)


def _refusal(said, accelerator: str) -> DigitRecognizerError:
    text = said if isinstance(said, str) else exc_text(said)
    status = None if isinstance(said, str) else http_status(said)
    where = f" (HTTP {status})" if status else ""
    if status == 401:
        return failure("push the notebook", said)
    if _QUOTA.search(text):
        return Refused(
            f"Kaggle refused to start the run on {accelerator}{where}: {text}. Kaggle gives "
            "each account a weekly GPU quota (about 30 hours; see "
            "https://www.kaggle.com/settings): wait for it to renew, or choose another "
            "machine with --accelerator (None runs on Kaggle's CPU)")
    return Refused(f"Kaggle refused the notebook{where}: {text}")


# --------------------------------------------------------------------------- following it


@dataclass
class Status:
    state: str  # queued, running, complete, error, cancel_requested, ...
    failure: str = ""


def status(api, ref: Ref) -> Status:
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusRequest

    request = ApiGetKernelSessionStatusRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    gone = (f"Kaggle has no notebook {ref} (HTTP {{status}}: deleted, never pushed, or not "
            "yours): push a new run with `digit-recognizer kaggle-run`")
    response = _request("read the run's status", api, "kernels.kernels_api_client",
                        "get_kernel_session_status", request,
                        refused={404: gone.replace("{status}", "404"),
                                 403: gone.replace("{status}", "403")})
    state = getattr(response.status, "name", str(response.status)).lower()
    return Status(state, response.failure_message or "")


def follow(api, ref: Ref, log: Callable[[str], None], timeout: float,
           just_pushed: bool = False) -> Status:
    """Report the run's progress until it ends or `timeout` seconds pass (NotFollowed).

    Right after a push, Kaggle may still report the previous version's finished session: an
    end is believed only once the new one was seen queued or running, or after START_S.
    """
    started = time.monotonic()
    last_state, last_report = None, started
    seen_new = not just_pushed
    while True:
        try:
            now = status(api, ref)
        except Refused:
            raise
        except DigitRecognizerError as exc:
            raise NotFollowed(f"could not read the run's status: {exc}") from None
        seen_new = seen_new or now.state not in FINISHED
        if not seen_new and time.monotonic() - started < START_S:
            time.sleep(POLL_S)
            continue
        elapsed = (time.monotonic() - started) / 60
        if now.state != last_state or time.monotonic() - last_report >= REPORT_S:
            line = f"    {now.state}, {elapsed:.0f} min since following"
            tail = log_tail(api, ref, 1) if now.state == "running" else []
            log(line + (f"; last log line: {tail[-1]}" if tail else ""))
            last_state, last_report = now.state, time.monotonic()
        if now.state in FINISHED:
            return now
        if time.monotonic() + POLL_S - started > timeout:
            raise NotFollowed(f"the run had not ended after {timeout / 60:g} min of following")
        time.sleep(POLL_S)


def _session_output(api, ref: Ref, page_token: str | None):
    from kagglesdk.kernels.types.kernels_api_service import ApiListKernelSessionOutputRequest

    request = ApiListKernelSessionOutputRequest()
    request.user_name, request.kernel_slug = ref.owner, ref.slug
    request.page_size = OUTPUT_PAGE
    if page_token:
        request.page_token = page_token
    return _request("list the run's output", api, "kernels.kernels_api_client",
                    "list_kernel_session_output", request)


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
        raw = _session_output(api, ref, None).log
    except DigitRecognizerError:
        return []
    return [line for line in log_text(raw).splitlines() if line.strip()][-lines:]


def download_output(api, ref: Ref, folder: Path) -> list[Path]:
    """Every file the run left in /kaggle/working, into `folder` (replaced as a whole only
    once all files arrived), plus its log as `kernel.log`."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    names, token, log = [], None, ""
    while True:
        page = _session_output(api, ref, token)
        log = log or page.log or ""
        for item in page.files or []:
            target = _inside(partial, item.file_name)
            with_retries(f"download {item.file_name}", _get, item.url, target)
            names.append(item.file_name)
        token = page.next_page_token
        if not token:
            break
    if log:
        fileio.write_text(partial / "kernel.log", log_text(log))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
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
    response.raise_for_status()
    target.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(target) as tmp:
        tmp.write_bytes(response.content)
