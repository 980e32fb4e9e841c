"""Command-line subcommands for Kaggle: download, submit, submissions.

kaggle_io (and through it the kaggle client) is imported inside the commands, so
`digit-recognizer --help` stays fast and never triggers the client's sign-in.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_download(args: argparse.Namespace) -> int:
    from digit_recognizer import kaggle_io

    kaggle_io.download(args.data_dir / "raw", force=args.force)
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from digit_recognizer import kaggle_io

    result = kaggle_io.submit(
        args.submission,
        message=args.message,
        n_test=args.rows,
        dry_run=args.dry_run,
        wait=not args.no_wait,
        timeout=args.timeout,
        leaderboard=args.leaderboard,
        run_id=args.run_id,
    )
    print(result)
    if result.sent and args.leaderboard is not None:
        print(f"recorded in {args.leaderboard}")
    return 0


def _cmd_submissions(args: argparse.Namespace) -> int:
    from digit_recognizer import kaggle_io

    rows = kaggle_io.submissions(args.limit)
    if not rows:
        print(f"no submissions to '{kaggle_io.COMPETITION}' yet")
        return 0
    print(f"{'id':>10}  {'date':16}  {'status':8}  {'score':>8}  description")
    for row in rows:
        detail = row["description"] + (f" (error: {row['error']})" if row["error"] else "")
        print(f"{row['id']:>10}  {row['date']:16}  {row['status']:8}  "
              f"{row['public_score']:>8}  {detail}")
    return 0


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
        "and poll for the public score. Without Kaggle credentials, or with --dry-run, shows "
        "what would be sent and sends nothing.",
    )
    p.add_argument("submission", type=Path)
    p.add_argument("-m", "--message", default="", help="submission description on Kaggle")
    p.add_argument("--dry-run", action="store_true", help="validate and show, do not send")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="seconds to wait for the score (default 300)")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the score")
    p.add_argument("--leaderboard", type=Path, metavar="CSV",
                   help="append the score to this leaderboard (e.g. outputs/leaderboard.csv)")
    p.add_argument("--run-id", help="run id recorded in the leaderboard")
    p.add_argument("--rows", type=int, help="expected number of test rows (default 28000)")
    p.set_defaults(func=_cmd_submit)

    p = sub.add_parser("submissions", help="list your recent Kaggle submissions and scores")
    p.add_argument("-n", "--limit", type=int, default=10)
    p.set_defaults(func=_cmd_submissions)
