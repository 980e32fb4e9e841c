"""`digit-recognizer`: the jobs that are not narrative (data, validate, score, submit, predict...).

Heavy libraries (TensorFlow, the kaggle client) are imported inside the subcommands that need
them, so validating or scoring starts in well under a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digit_recognizer.errors import DigitRecognizerError


def _cmd_data(args: argparse.Namespace) -> int:
    from digit_recognizer.datasets import data
    from digit_recognizer.pipeline import sources

    if args.make_sample:
        out = data.build_sample(args.mnist_dir, args.make_sample)
        print(f"wrote the embedded sample to {out}")
        return 0
    files = sources.resolve(args.source, args.data_dir, args.mnist_dir)
    images, labels = data.read_digits_csv(files.train, labelled=True)
    test, _ = data.read_digits_csv(files.test, labelled=False)
    print(f"source: {files.source} ({files.description})")
    print(f"train:  {files.train} ({len(images)} rows, valid)")
    print(f"test:   {files.test} ({len(test)} rows, valid)")
    print(f"answer key: {files.answer_key or 'none (hidden by Kaggle)'}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from digit_recognizer.datasets import data, submit

    for path in args.files:
        if args.kind == "submission":
            frame = submit.validate_submission(path, args.rows) if args.rows else \
                submit.read_submission(path)
            print(f"{path}: valid submission, {len(frame)} rows")
        else:
            images, _ = data.read_digits_csv(path, labelled=args.kind == "train")
            print(f"{path}: valid {args.kind} file, {len(images)} rows")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from digit_recognizer.datasets import submit

    accuracy = submit.score(args.submission, args.answer_key)
    print(f"{args.submission}: accuracy {accuracy:.5f} against {args.answer_key}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digit-recognizer", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="find, fetch or build a data source and validate it")
    p.add_argument("--source", default="auto", help="auto, local, kaggle, sample or mnist")
    p.add_argument("--data-dir", default="data", type=Path)
    p.add_argument("--mnist-dir", type=Path, help="folder with the four MNIST *-ubyte.gz files")
    p.add_argument("--make-sample", type=Path, metavar="DIR",
                   help="rebuild the embedded sample from full MNIST into DIR")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("validate", help="validate train/test CSVs or a submission")
    p.add_argument("kind", choices=["train", "test", "submission"])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--rows", type=int, help="submission: expected number of test rows")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("score", help="score a submission against an answer key")
    p.add_argument("submission", type=Path)
    p.add_argument("answer_key", type=Path)
    p.set_defaults(func=_cmd_score)

    # Kaggle commands (download, submit, leaderboard) are added by kaggle_cli.
    from digit_recognizer.kaggle import kaggle_cli

    kaggle_cli.add_commands(sub)
    # kaggle-run takes ./run_all.sh's options.
    from digit_recognizer.kaggle import kernel_cli

    kernel_cli.add_command(sub)

    # predict is added by predict_cli.
    from digit_recognizer.reading import predict_cli

    predict_cli.add_commands(sub)

    # serve (the web demo) is added by serve_cli.
    from digit_recognizer.demo import serve_cli

    serve_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DigitRecognizerError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
