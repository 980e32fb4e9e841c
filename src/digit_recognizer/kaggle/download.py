"""Download the competition's files from Kaggle and check them before they replace anything.

`download` leaves Kaggle's valid train.csv, test.csv and sample_submission.csv in a folder:
the zip is fetched (with the timeouts and retries of `transport`) and extracted in a temporary
folder beside them, checked (`check_files`: the schema and Kaggle's row counts), and only then
moved into place, so a broken or interrupted download never leaves partial files behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle.credentials import Log, credentials_help, has_credentials
from digit_recognizer.kaggle.transport import COMPETITION, kaggle_api, with_retries

# Rows of Kaggle's train.csv and test.csv (read when checking, so tests can set smaller ones).
TRAIN_ROWS = 42_000
TEST_ROWS = 28_000
FILES = ("train.csv", "test.csv", "sample_submission.csv")
_STALE_TEMP_S = 3600


def check_files(folder: str | os.PathLike) -> dict[str, int]:
    """Validate train.csv, test.csv and sample_submission.csv in `folder`; {name: rows}."""
    from digit_recognizer.datasets import data, submit

    folder = Path(folder)
    n_train, n_test = TRAIN_ROWS, TEST_ROWS
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
    api = kaggle_api()
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(raw_dir)
        work = Path(tempfile.mkdtemp(prefix=".kaggle-download-", dir=raw_dir))
    except OSError as exc:
        raise DigitRecognizerError(f"cannot write to {raw_dir}: {exc.strerror}") from None
    try:
        log(f"downloading '{COMPETITION}' from Kaggle into {raw_dir} ...")
        with_retries("download the competition files", _download_zip, api,
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
