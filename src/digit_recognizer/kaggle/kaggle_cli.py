"""Command-line subcommands for Kaggle: download, submit, submissions.

The Kaggle modules (and through them the kaggle client) are imported inside the commands, so
`digit-recognizer --help` stays fast and never triggers the client's sign-in. The commands
record what the Kaggle code returns in the leaderboard (`digit_recognizer.leaderboard`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError

# Kept in step with submissions.EXIT_* and transport.ATTEMPTS, CONNECT_TIMEOUT_S and
# READ_TIMEOUT_S (not imported here, so that `--help` never loads the Kaggle code).
SUBMIT_EPILOG = """\
outcome and exit status:
  0  sent, and Kaggle scored it: the public score is printed and recorded
     (also 0 for --dry-run, which sends nothing)
  2  refused before sending, nothing was submitted: an invalid file, no
     credentials, competition rules not accepted, the daily submission limit
     reached (with the time it resets), Kaggle failing or not answering
  3  sent, score not known yet: Kaggle did not score it within --timeout,
     --no-wait, or asking for the score failed; or creating it failed in a way
     that may have reached Kaggle and Kaggle could not be asked (the message
     says so). Do NOT submit again: `digit-recognizer submissions` shows it
     later and fills in its leaderboard row
  4  sent, and Kaggle could not score it (Kaggle's error is printed)

Every sent submission gets a leaderboard row at once (kaggle_status pending),
filled in when the score arrives. A submission is never created twice: your
submissions are listed just before creating it (if that fails, nothing is
sent: exit 2), and when creating it fails in a way that may have reached
Kaggle (5xx, timeout, dropped connection), they are listed again before any
new try: only one that was not listed before (same description and file name)
is taken for it, never an earlier submission of the same file.
Requests time out (DIGIT_RECOGNIZER_KAGGLE_TIMEOUT=CONNECT,READ seconds,
default 10,30) and are tried at most 4 times.
"""


def _cmd_download(args: argparse.Namespace) -> int:
    from digit_recognizer.kaggle import download

    download.download(args.data_dir / "raw", force=args.force)
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    return submit_file(args.submission, message=args.message,
                       leaderboard_csv=None if args.no_leaderboard else args.leaderboard,
                       run_id=args.run_id or "", rows=args.rows, dry_run=args.dry_run,
                       wait=not args.no_wait, timeout=args.timeout)


def submit_file(submission: Path, *, message: str, leaderboard_csv: Path | None,
                run_id: str = "", model: str = "", trained_on: str = "",
                rows: int | None = None, dry_run: bool = False, wait: bool = True,
                timeout: float = 300.0) -> int:
    """Validate `submission`, send it, wait for its score and record it in `leaderboard_csv`
    (None: nowhere): the one way `digit-recognizer submit`, `./run_all.sh --submit` and
    `kaggle-run --submit` submit. Returns the exit status of SUBMIT_EPILOG."""
    from digit_recognizer import leaderboard
    from digit_recognizer.kaggle import submissions

    record = None if leaderboard_csv is None else leaderboard.SubmissionRecord(
        leaderboard_csv, run_id=run_id, model=model, trained_on=trained_on)
    try:
        result = submissions.submit(submission, message=message, n_test=rows, dry_run=dry_run,
                                    wait=wait, timeout=timeout,
                                    on_sent=None if record is None else record.sent)
        if not result.sent and not result.dry_run:
            raise submissions.NotSubmitted(f"nothing was submitted: {result.reason}")
    except submissions.NotSubmitted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return submissions.EXIT_REFUSED
    if record is not None:
        record.finished(result.as_listed())
    print(result)
    if record is not None and record.error:
        print(f"warning: not recorded in the leaderboard: {record.error}")
    if record is not None and record.recorded:
        print(f"recorded in {record.path} (kaggle_status {result.status})")
    return result.exit_status


def _cmd_submissions(args: argparse.Namespace) -> int:
    from digit_recognizer import leaderboard
    from digit_recognizer.kaggle import submissions

    if args.limit < 1:
        raise DigitRecognizerError(f"--limit {args.limit}: expected 1 or more")
    fetch = max(args.limit, submissions.LISTING_PAGE)
    rows = submissions.list_submissions(fetch)
    if not rows:
        print(f"no submissions to '{submissions.COMPETITION}' yet")
    else:
        print(f"{'id':>10}  {'date (UTC)':16}  {'status':8}  {'score':>8}  description")
    for row in rows[:args.limit]:
        detail = row["description"] + (f" (error: {row['error']})" if row["error"] else "")
        print(f"{row['id']:>10}  {row['date']:16}  {row['status']:8}  "
              f"{row['public_score']:>8}  {detail}")
    if not args.no_leaderboard:
        filled = leaderboard.fill_pending(args.leaderboard, rows, everything=len(rows) < fetch)
        if filled:
            print(f"filled in {filled} pending row(s) in {args.leaderboard}")
    return 0


def _leaderboard_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--leaderboard", type=Path, metavar="CSV",
                   default=Path("outputs") / "leaderboard.csv",
                   help=f"{what} (default outputs/leaderboard.csv)")
    p.add_argument("--no-leaderboard", action="store_true", help="leave the leaderboard alone")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the Kaggle subcommands on the `digit-recognizer` parser."""
    p = sub.add_parser(
        "download",
        help="download the competition's train.csv, test.csv, sample_submission.csv",
        description="Download digit-recognizer from Kaggle into DATA_DIR/raw, unzip and "
        "validate it; a no-op when valid files are already there.",
    )
    p.add_argument("--data-dir", default=Path("data"), type=Path)
    p.add_argument("--force", action="store_true", help="download again even if files are valid")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser(
        "submit",
        help="validate a submission, send it to Kaggle and wait for its score",
        description="Validate SUBMISSION (ImageId,Label, one row per test image), submit it "
        "and poll for the public score. With --dry-run, shows what would be sent and sends "
        "nothing.",
        epilog=SUBMIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("submission", type=Path)
    p.add_argument("-m", "--message", default="", help="submission description on Kaggle")
    p.add_argument("--dry-run", action="store_true", help="validate and show, do not send")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="seconds to wait for the score (default 300)")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the score")
    _leaderboard_options(p, "record the submission and its score in this CSV")
    p.add_argument("--run-id", help="run id recorded in the leaderboard")
    p.add_argument("--rows", type=int, help="expected number of test rows (default 28000)")
    p.set_defaults(func=_cmd_submit)

    p = sub.add_parser(
        "submissions",
        help="list your recent Kaggle submissions and scores; fill in pending leaderboard rows",
        description="List your recent submissions to digit-recognizer, newest first, and fill "
        "in the leaderboard rows of submissions whose score was not known yet.",
    )
    p.add_argument("-n", "--limit", type=int, default=10, help="how many to show (default 10)")
    _leaderboard_options(p, "fill in the pending rows of this CSV")
    p.set_defaults(func=_cmd_submissions)
