"""A fake Kaggle API on 127.0.0.1 for end-to-end tests of the real `kaggle` client.

It implements only the requests kaggle 2.2.4 / kagglesdk really makes for this project (read from
kaggle/api/kaggle_api_extended.py and kagglesdk/competitions/services/competition_api_service.py):

    POST /api/v1/competitions.CompetitionApiService/DownloadDataFiles  -> 302 to /files/<name>.zip
    GET  /files/digit-recognizer.zip                                   -> the competition zip
    POST /api/v1/competitions.CompetitionApiService/StartSubmissionUpload -> {token, createUrl}
    PUT  /upload/<token>                                               -> 200 (the file's bytes)
    POST /api/v1/competitions.CompetitionApiService/CreateSubmission   -> {message, ref}
    POST /api/v1/competitions.CompetitionApiService/ListSubmissions    -> {submissions: [...]}
    POST /api/v1/security.OAuthService/IntrospectToken                 -> {active, username}

How the client gets here without patching it: `KAGGLE_API_ENVIRONMENT=LOCALHOST` (read when
`kaggle` is imported) makes it call `http://localhost/api/v1/<Service>/<Method>`, and `HTTP_PROXY`
pointing at this server makes those requests arrive here with the full URL in the request line.
Anything else is answered 404 and recorded in `unexpected`, so tests can assert there was none.

Failures are scripted per request (`fail`: instead of doing it; `fail_after`: after doing it, so
the submission exists but the client never hears so): an HTTP status, "drop" (close the
connection with a TCP reset, no answer) or "hang" (accept, never answer, until the server stops),
or None (no failure this time: `[None, HANG]` lets the first request through, then hangs).
"""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

API = "/api/v1/"
COMPETITION = "digit-recognizer"
RULES_MESSAGE = (
    "You must accept this competition's rules before you'll be able to download files."
)
# What Kaggle answers CreateSubmission once the day's submissions are used up.
DAILY_LIMIT_MESSAGE = (
    "Submission not allowed:  Your team has used its daily Submission allowance (5) today, "
    "please try again tomorrow UTC (7.5 hours from now)."
)
DROP, HANG = "drop", "hang"


def digits_csv(rows: int, labelled: bool) -> bytes:
    """A schema-valid train/test CSV of blank images (labels cycle 0..9)."""
    header = (["label"] if labelled else []) + [f"pixel{i}" for i in range(784)]
    zeros = ",".join(["0"] * 784)
    lines = [",".join(header)]
    for row in range(rows):
        lines.append(f"{row % 10},{zeros}" if labelled else zeros)
    return ("\n".join(lines) + "\n").encode()


def submission_csv(rows: int, label: int = 0) -> bytes:
    return ("ImageId,Label\n" + "".join(f"{i},{label}\n" for i in range(1, rows + 1))).encode()


def competition_zip(n_train: int, n_test: int, omit: str | None = None) -> bytes:
    """The zip Kaggle serves for digit-recognizer (stored, so tests can corrupt member bytes)."""
    members = {
        "train.csv": digits_csv(n_train, labelled=True),
        "test.csv": digits_csv(n_test, labelled=False),
        "sample_submission.csv": submission_csv(n_test),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            if name != omit:
                archive.writestr(name, data)
    return buffer.getvalue()


def corrupt_member(archive: bytes, member: str) -> bytes:
    """Flip bytes inside one member's data: the zip still opens, extracting it fails (bad CRC)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.getinfo(member)
    # Local header: 30 bytes + name + extra, then the (stored) data.
    local = archive[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + \
        int.from_bytes(local[28:30], "little")
    middle = start + info.compress_size // 2
    data = bytearray(archive)
    data[middle:middle + 8] = b"XXXXXXXX"
    return bytes(data)


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    authorization: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def rpc(self) -> str | None:
        """`Method` of `/api/v1/<Service>/<Method>`, else None."""
        if self.path.startswith(API):
            return self.path.rsplit("/", 1)[-1]
        return None

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


class _DatasetsAndNotebooks:
    """FakeKaggle's dataset and notebook RPCs (kaggle-run); the notebooks live in FakeKernels."""

    def _rpc_StartBlobUpload(self, body: dict):  # noqa: N802
        token = f"dataset-blob-{len(self.blobs) + 1}"
        self.blobs[token] = (body.get("name", ""), b"")
        return _json({"token": token, "createUrl": f"http://localhost/blob/{token}"})


    def _dataset_files(self, files: list[dict]) -> dict[str, bytes] | None:
        found = {}
        for new in files or []:
            if not self.blobs.get(new.get("token"), ("", b""))[1]:
                return None
            name, data = self.blobs[new["token"]]
            found[name] = data
        return found


    def not_shown(self, kind: str, ref: str, exists: bool):
        """Kaggle's answer where it shows no such dataset or notebook, else None: 403 for one
        created a moment ago (`hidden`), `absent_status` for one that does not exist."""
        denied = f"Permission '{kind}s.get' was denied"
        if self.hidden.get(f"{kind}:{ref}"):
            self.hidden[f"{kind}:{ref}"] -= 1
            return _error(403, denied)
        if not exists:
            return _error(self.absent_status, denied if self.absent_status == 403 else
                          f"{kind.capitalize()} not found")
        return None

    def _rpc_GetDatasetStatus(self, body: dict):  # noqa: N802
        ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
        return self.not_shown("dataset", ref, ref in self.datasets) or \
            _json({"status": "READY"})

    def _rpc_CreateDataset(self, body: dict):  # noqa: N802
        ref = f"{body.get('ownerSlug')}/{body.get('slug')}"
        if body.get("ownerSlug") != self.username:
            return _error(403, "Permission 'datasets.create' was denied")
        files = self._dataset_files(body.get("files"))
        if not files:
            return _error(400, "No uploaded file for this token")
        if ref in self.datasets:  # what kaggle-api issue 424 shows
            return _json({"ref": "", "url": "", "status": "error",
                          "error": f'The requested title "{body.get("title")}" is already in '
                                   "use by a dataset. Please choose another title."})
        self.datasets[ref] = [files]
        self.hidden[f"dataset:{ref}"] = self.hidden_lookups.get("dataset", 0)
        return _json({"ref": ref, "url": f"https://www.kaggle.com/datasets/{ref}", "status": "ok",
                      "error": ""})


    def _rpc_CreateDatasetVersion(self, body: dict):  # noqa: N802
        ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
        if ref not in self.datasets:
            return _error(404, "Dataset not found")
        if body.get("ownerSlug") != self.username:
            return _error(403, "Permission 'datasets.update' was denied")
        files = self._dataset_files(body.get("body", {}).get("files"))
        if not files:
            return _error(400, "No uploaded file for this token")
        self.datasets[ref].append(files)
        return _json({"ref": ref, "url": f"https://www.kaggle.com/datasets/{ref}", "status": "ok",
                      "error": ""})

    def _rpc_GetKernel(self, body: dict):  # noqa: N802
        return self.kernels.GetKernel(body)

    def _rpc_SaveKernel(self, body: dict):  # noqa: N802
        return self.kernels.SaveKernel(body)

    def _rpc_GetKernelSessionStatus(self, body: dict):  # noqa: N802
        return self.kernels.GetKernelSessionStatus(body)

    def _rpc_ListKernelSessionOutput(self, body: dict):  # noqa: N802
        return self.kernels.ListKernelSessionOutput(body)


@dataclass
class FakeKaggle(_DatasetsAndNotebooks):
    """The fake server's state; tests change the knobs before running the client."""

    username: str = "tester"
    key: str = "fake-key"
    token: str | None = None
    zip_bytes: bytes = b""
    rules_accepted: bool = True
    exists: bool = True
    # Failures (once each, in order) per RPC name ("ListSubmissions"), per method for the
    # non-RPC requests ("GET" file download, "PUT" upload), or "*" for any: an HTTP status,
    # DROP or HANG (None: none this time). `fail` replaces the request; `fail_after` comes
    # after it was carried out.
    fail: dict[str, list[int | str | None]] = field(default_factory=dict)
    fail_after: dict[str, list[int | str | None]] = field(default_factory=dict)
    # CreateSubmission is refused with this message (Kaggle's daily limit), when set.
    daily_limit: str | None = None
    # False: CreateSubmission answers without the new submission's `ref` (its id).
    answer_ref: bool = True
    # ListSubmissions calls before a new submission is scored; None: never scored.
    polls_until_scored: int | None = 1
    score: str = "0.98765"
    scoring_error: str | None = None
    requests: list[Request] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    submissions: list[dict] = field(default_factory=list)
    # Datasets and notebooks (kaggle-run): blob token -> (file name, bytes); dataset
    # "owner/slug" -> its versions, each {file name: bytes}; the notebooks (FakeKernels).
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    datasets: dict[str, list[dict[str, bytes]]] = field(default_factory=dict)
    kernels: FakeKernels = None
    # As Kaggle does: 403 (not only 404) for a dataset or notebook that does not exist, and
    # 403 for the first lookups of one just created or pushed for the first time
    # (`hidden_lookups`: "dataset" or "kernel" -> how many).
    absent_status: int = 404
    hidden_lookups: dict[str, int] = field(default_factory=dict)
    hidden: dict[str, int] = field(default_factory=dict)  # "dataset:owner/slug" -> lookups

    def __post_init__(self) -> None:
        if self.kernels is None:
            self.kernels = FakeKernels(self)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._polls: dict[int, int] = {}
        self._file_names: dict[str, str] = {}
        self._release = threading.Event()  # set on stop: hanging requests give up

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKaggle:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.kernels.join()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeKaggle:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def rpcs(self) -> list[str]:
        return [r.rpc or f"{r.method} {r.path}" for r in self.requests]

    # ------------------------------------------------------------------ handling

    def _authorized(self, request: Request) -> bool:
        basic = base64.b64encode(f"{self.username}:{self.key}".encode()).decode()
        allowed = {f"Basic {basic}"}
        if self.token:
            allowed.add(f"Bearer {self.token}")
        return request.authorization in allowed

    @staticmethod
    def _next(script: dict[str, list[int | str | None]], request: Request) -> int | str | None:
        for name in (request.rpc or request.method, "*"):
            queue = script.get(name)
            if queue:
                return queue.pop(0)
        return None

    def handle(self, request: Request) -> tuple[int, dict, bytes] | str:
        """The answer (status, headers, body), or DROP / HANG."""
        with self._lock:
            self.requests.append(request)
            failure = self._next(self.fail, request)
            if failure is not None:
                return _failure(failure)
            answer = self._carry_out(request)
            failure = self._next(self.fail_after, request)
            return answer if failure is None else _failure(failure)

    def wait_for_stop(self) -> None:
        self._release.wait()

    def _carry_out(self, request: Request) -> tuple[int, dict, bytes]:
        rpc = request.rpc
        if request.method == "PUT" and request.path.startswith("/upload/"):
            token = request.path.rsplit("/", 1)[-1]
            if token not in self.uploads:
                return _error(404, "Unknown upload")
            self.uploads[token] = request.body
            return 200, {"Content-Type": "application/json"}, b"{}"
        if request.method == "PUT" and request.path.startswith("/blob/"):
            token = request.path.rsplit("/", 1)[-1]
            if token not in self.blobs:
                return _error(404, "Unknown upload")
            self.blobs[token] = (self.blobs[token][0], request.body)
            return 200, {"Content-Type": "application/json"}, b"{}"
        if request.method == "GET" and request.path.startswith("/kernel-output/"):
            return self.kernels.output_file(request.path)
        if request.method == "GET" and request.path == f"/files/{COMPETITION}.zip":
            return 200, {"Content-Type": "application/zip",
                         "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}, self.zip_bytes
        if request.method != "POST" or rpc is None:
            self.unexpected.append(f"{request.method} {request.path}")
            return _error(404, "Not found")
        if rpc == "IntrospectToken":
            token = request.json().get("token")
            active = bool(self.token) and token == self.token
            return _json({"active": active, "username": self.username if active else ""})
        if not self._authorized(request):
            return _error(401, "Unauthenticated")
        handler = getattr(self, f"_rpc_{rpc}", None)
        if handler is None:
            self.unexpected.append(f"POST {request.path}")
            return _error(404, "Not found")
        body = request.json()
        if "CompetitionApiService" in request.path and \
                (body.get("competitionName") != COMPETITION or not self.exists):
            return _error(404, "Competition not found")
        return handler(body)

    def _rpc_DownloadDataFiles(self, body: dict):  # noqa: N802 - named after the RPC
        if not self.rules_accepted:
            return _error(403, RULES_MESSAGE)
        return 302, {"Location": f"http://localhost/files/{COMPETITION}.zip"}, b""

    def _rpc_StartSubmissionUpload(self, body: dict):  # noqa: N802
        if not self.rules_accepted:
            return _error(403, "You must accept this competition's rules before submitting.")
        token = f"blob-{len(self.uploads) + 1}"
        self.uploads[token] = b""
        self._file_names[token] = body.get("fileName", "")
        return _json({"token": token, "createUrl": f"http://localhost/upload/{token}"})

    def _rpc_CreateSubmission(self, body: dict):  # noqa: N802
        token = body.get("blobFileTokens")
        if not self.uploads.get(token):
            return _error(400, "No uploaded file for this token")
        if self.daily_limit:
            return _error(400, self.daily_limit)
        ref = 1000 + len(self.submissions) + 1
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.submissions.insert(0, {
            "ref": ref, "date": now,
            "description": body.get("submissionDescription", ""),
            "fileName": self._file_names.get(token, ""), "status": "PENDING", "token": token,
        })
        self._polls[ref] = 0
        answer = {"message": "Successfully submitted to Digit Recognizer", "ref": ref}
        return _json(answer if self.answer_ref else {"message": answer["message"]})

    def _rpc_ListSubmissions(self, body: dict):  # noqa: N802
        listed = []
        for sub in self.submissions:
            self._polls[sub["ref"]] += 1
            if sub["status"] == "PENDING" and self.polls_until_scored is not None and \
                    self._polls[sub["ref"]] > self.polls_until_scored:
                if self.scoring_error:
                    sub.update(status="ERROR", errorDescription=self.scoring_error)
                else:
                    sub.update(status="COMPLETE", publicScore=self.score, privateScore="")
            listed.append({k: v for k, v in sub.items() if k != "token"})
        return _json({"submissions": listed[: body.get("pageSize", 20)]})


# ------------------------------------------------------------------ datasets and notebooks
#
#    POST .../blobs.BlobApiService/StartBlobUpload           -> {token, createUrl: /blob/<token>}
#    PUT  /blob/<token>                                       -> 200 (the file's bytes)
#    POST .../datasets.DatasetApiService/GetDatasetStatus    -> {status}, or 404/403
#    POST .../datasets.DatasetApiService/CreateDataset       -> {ref, url, status, error}
#    POST .../datasets.DatasetApiService/CreateDatasetVersion -> {ref, url, status, error}
#    POST .../kernels.KernelsApiService/GetKernel            -> {metadata: {currentVersionNumber}}
#    POST .../kernels.KernelsApiService/SaveKernel           -> {ref, url, versionNumber, error}
#    POST .../kernels.KernelsApiService/GetKernelSessionStatus -> {status, failureMessage}
#    POST .../kernels.KernelsApiService/ListKernelSessionOutput -> {files, log, nextPageToken}
#    GET  /kernel-output/<version>/<file>                    -> the file


@dataclass
class KernelVersion:
    number: int
    request: dict  # what SaveKernel got
    state: str = "QUEUED"
    failure: str = ""
    log: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    status_calls: int = 0
    thread: threading.Thread | None = None


@dataclass
class FakeKernels:
    """The notebooks of the fake account, and how their runs end.

    With `execute` set, a pushed notebook really runs: a folder laid out like /kaggle (the
    competition under input/competitions/digit-recognizer/, the attached datasets under
    input/datasets/OWNER/SLUG/, working/ and temp/) is made under `workdir`, "/kaggle" in the
    code is replaced by it, and papermill executes the notebook with `env`. Otherwise a run
    ends as `outcome` says: ("COMPLETE", {file: bytes}, log) or ("ERROR", failure, log), after
    `running_polls` status requests in RUNNING.
    """

    server: FakeKaggle
    execute: bool = False
    workdir: Path | None = None
    env: dict | None = None
    outcome: tuple = ("COMPLETE", {}, "")
    running_polls: int = 1
    refuse_push: str = ""  # SaveKernel answers with this error (a quota, an accelerator)
    # "dataset" or "competition": SaveKernel takes the push but lists the notebook's sources
    # of that kind as invalid (not ready, not found, rules not accepted).
    invalid_sources: str = ""
    # Status requests after a push that still describe the previous version's session.
    stale_polls: int = 0
    versions: dict[str, list[KernelVersion]] = field(default_factory=dict)

    def join(self) -> None:
        for runs in self.versions.values():
            for run in runs:
                if run.thread is not None:
                    run.thread.join(timeout=900)

    def _runs(self, body: dict) -> list[KernelVersion] | None:
        return self.versions.get(f"{body.get('userName')}/{body.get('kernelSlug')}")

    def _not_shown(self, body: dict):
        ref = f"{body.get('userName')}/{body.get('kernelSlug')}"
        return self.server.not_shown("kernel", ref, bool(self._runs(body)))

    def GetKernel(self, body: dict):  # noqa: N802
        refused = self._not_shown(body)
        if refused:
            return refused
        runs = self._runs(body)
        return _json({"metadata": {"ref": f"{body['userName']}/{body['kernelSlug']}",
                                   "slug": body["kernelSlug"],
                                   "currentVersionNumber": runs[-1].number}})

    def SaveKernel(self, body: dict):  # noqa: N802
        ref = body.get("slug", "")
        if ref.split("/")[0] != self.server.username:
            return _error(403, "Permission 'kernels.create' was denied")
        if self.refuse_push:
            return _json({"error": self.refuse_push})
        runs = self.versions.setdefault(ref, [])
        run = KernelVersion(len(runs) + 1, body)
        runs.append(run)
        if run.number == 1:
            self.server.hidden[f"kernel:{ref}"] = self.server.hidden_lookups.get("kernel", 0)
        if self.execute:
            run.thread = threading.Thread(target=self._execute, args=(ref, run), daemon=True)
            run.thread.start()
        invalid = {"dataset": ("invalidDatasetSources", "datasetDataSources"),
                   "competition": ("invalidCompetitionSources", "competitionDataSources")}
        listed = {}
        if self.invalid_sources:
            field_name, sources = invalid[self.invalid_sources]
            listed[field_name] = list(body.get(sources) or [])
        return _json({"ref": f"/code/{ref}", "url": f"https://www.kaggle.com/code/{ref}",
                      "versionNumber": run.number, "error": "", **listed})

    def GetKernelSessionStatus(self, body: dict):  # noqa: N802
        refused = self._not_shown(body)
        if refused:
            return refused
        runs = self._runs(body)
        if self.stale_polls and len(runs) > 1:
            self.stale_polls -= 1
            previous = runs[-2]
            return _json({"status": previous.state, "failureMessage": previous.failure})
        run = runs[-1]
        run.status_calls += 1
        if not self.execute and run.status_calls > 1 and run.state in ("QUEUED", "RUNNING"):
            if run.status_calls > 1 + self.running_polls:
                state, detail, log = self.outcome
                run.state, run.log = state, log
                if state == "COMPLETE":
                    run.files = dict(detail)
                else:
                    run.failure = detail
            else:
                run.state = "RUNNING"
        return _json({"status": run.state, "failureMessage": run.failure})

    def ListKernelSessionOutput(self, body: dict):  # noqa: N802
        refused = self._not_shown(body)
        if refused:
            return refused
        runs = self._runs(body)
        run = runs[-1]
        names = sorted(run.files)
        start = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or 20)
        page = names[start:start + size]
        more = start + size < len(names)
        log = json.dumps([{"stream_name": "stdout", "time": 0.0, "data": run.log}]) \
            if run.log else ""
        return _json({"files": [{"fileName": name,
                                 "url": f"http://localhost/kernel-output/{run.number}/{name}"}
                                for name in page],
                      "log": log, "nextPageToken": str(start + size) if more else ""})

    def output_file(self, path: str):
        _, _, number, name = path.split("/", 3)
        for runs in self.versions.values():
            for run in runs:
                if str(run.number) == number and name in run.files:
                    return 200, {"Content-Type": "application/octet-stream"}, run.files[name]
        return _error(404, "No such output file")

    def _execute(self, ref: str, run: KernelVersion) -> None:
        root = Path(self.workdir) / f"{ref.replace('/', '-')}-v{run.number}"
        competition = root / "input" / "competitions" / COMPETITION
        competition.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(self.server.zip_bytes)) as archive:
            archive.extractall(competition)
        for source in run.request.get("datasetDataSources") or []:
            folder = root / "input" / "datasets" / source
            folder.mkdir(parents=True)
            for name, data in self.server.datasets[source][-1].items():
                (folder / name).write_bytes(data)
        (root / "working").mkdir()
        (root / "temp").mkdir()
        notebook = json.loads(run.request["text"])
        for cell in notebook["cells"]:
            cell["source"] = cell["source"].replace('"/kaggle"', json.dumps(str(root)))
        (root / "pushed.ipynb").write_text(json.dumps(notebook))
        run.state = "RUNNING"
        done = subprocess.run(
            [sys.executable, "-m", "papermill", str(root / "pushed.ipynb"),
             str(root / "working" / "__notebook__.ipynb"), "-k", "python3",
             "--cwd", str(root / "working"), "--log-output", "--no-progress-bar"],
            env={**(self.env or {}), "FAKE_KAGGLE_ROOT": str(root)}, capture_output=True,
            text=True, timeout=900)
        run.log = done.stdout + done.stderr
        run.files = {p.relative_to(root / "working").as_posix(): p.read_bytes()
                     for p in sorted((root / "working").rglob("*")) if p.is_file()}
        if done.returncode == 0:
            run.state = "COMPLETE"
        else:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            run.state, run.failure = "ERROR", (lines[-1] if lines else "the notebook failed")


def _json(data: dict, status: int = 200) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _failure(failure: int | str) -> tuple[int, dict, bytes] | str:
    if failure in (DROP, HANG):
        return failure
    return _error(failure, {429: "Too many requests", 500: "Internal error",
                            502: "Bad gateway", 503: "Service unavailable"}
                  .get(failure, "Failure"))


def _error(status: int, message: str) -> tuple[int, dict, bytes]:
    """Kaggle's error shape: JSON {code, message} (kagglesdk raises HTTPError(message))."""
    headers = {"Content-Type": "application/json"}
    if status == 429:
        headers["Retry-After"] = "0"
    return status, headers, json.dumps({"code": status, "message": message}).encode()


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeKaggle
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path  # proxy requests carry the full URL
        request = Request(self.command, path, body, self.headers.get("Authorization"))
        answer = self.server_state.handle(request)
        if answer == HANG:
            self.server_state.wait_for_stop()
            answer = DROP
        if answer == DROP:  # close with a TCP reset and no answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        status, headers, payload = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = _serve

    def do_CONNECT(self) -> None:  # noqa: N802 - an https request: never let it through
        self.server_state.unexpected.append(f"CONNECT {self.path}")
        self.send_error(405, "the fake Kaggle server does not tunnel https")

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output clean
        pass
