"""What `./run_all.sh` calls: resolve the data, write the run's parameters, `dvc repro`.

    python -m digit_recognizer.pipeline.run [--source S] [--profile quick|full|gpu] [--seed N] ...

The stages, their inputs, parameters and outputs are declared in `dvc.yaml` (generated from
the stage manifest, `stages.py`); DVC decides what is out of date, reruns it, and restores
results that were computed before with the same code, data and parameters from its run cache.
The run's parts: its options (`options`), DVC as a child process (`supervise`, whose output
`output` filters), the git checkout it runs in (`checkout`), what it leaves at the end
(`summary`); the submission is `digit-recognizer submit`'s (`kaggle_cli.submit_file`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.pipeline import checkout, options, sources, summary, supervise
from digit_recognizer.pipeline.notebook_setup import ensure_kernel
from digit_recognizer.pipeline.stage_runner import (
    RAY_ADDRESS_ENV,
    RUN_ID_ENV,
    VERBOSE_ENV,
    WORKERS_ENV,
)


def main(argv: list[str] | None = None) -> int:
    parser = options.parser()
    args = parser.parse_args(argv)
    if args.on_kaggle:
        from digit_recognizer.kaggle import kernel_cli

        return kernel_cli.main(args, parser.error)
    options.check(args, parser.error)
    fileio.unwind_on_sigterm()
    try:
        return _run(args)
    except DigitRecognizerError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: completed stages are kept; the next run resumes at the "
              "interrupted one", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONHASHSEED", str(args.seed))
    root = options.find_root()
    outputs = Outputs(root / "outputs")
    try:
        outputs.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigitRecognizerError(f"cannot write to {outputs.root}: {exc.strerror}") from None
    if not os.access(outputs.root, os.W_OK):
        raise DigitRecognizerError(f"cannot write to {outputs.root}: permission denied")
    for leftover in fileio.remove_partial_files(outputs.root):
        print(f"removed {leftover.relative_to(outputs.root)}, left by an interrupted run")
    for failed in sorted(outputs.notebooks.glob("*.FAILED.ipynb")):
        failed.unlink()  # an earlier run's: this run writes its own if a notebook fails again
    targets = options.selected_stages(args.only)
    values, sections = options.run_parameters(args)

    files = sources.resolve(args.source, root / args.data_dir, args.mnist_dir or None)
    record = sources.describe(files, outputs.resolved_source)
    changed = sources.write_record(outputs.resolved_source, record)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    print(f"==> run {run_id}: source {files.source} ({files.description})"
          + (", new or changed since the last run" if changed else ""))
    print("==> parameters: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))
    options.write_params(root, sections)
    ensure_kernel()
    outputs.timings.unlink(missing_ok=True)
    experiment = checkout.git_checkout(root)
    checkout.use_git(root, experiment)
    if experiment:
        # `dvc exp run` detaches HEAD until it ends: a commit made meanwhile is left off the
        # branch (it stays in `git reflog`).
        print("==> recorded as a DVC experiment: commit nothing in this checkout until the run "
              "ends")

    log = outputs.root / "logs" / f"run-{run_id}.log"
    command = supervise.dvc_command(targets, args.force, run_id, experiment)
    stage_env = {RUN_ID_ENV: run_id, WORKERS_ENV: args.workers,
                 RAY_ADDRESS_ENV: args.ray_address, VERBOSE_ENV: "1" if args.verbose else "0"}
    with checkout.left_as_found(root) if experiment else contextlib.nullcontext():
        status = supervise.dvc_repro(root, command, stage_env, log, args.verbose)
    if status != 0:
        raise DigitRecognizerError(
            "the pipeline stopped (above: the stage and why; everything it printed is in "
            f"{log.relative_to(root)}); fix it and run the same command again: finished "
            "stages are kept")
    summary.record_run(outputs, run_id)
    summary.print_summary(root, outputs, targets)
    summary.copy_to_kaggle_working(outputs)
    if args.submit:
        return _submit(args, outputs, run_id)
    return 0


def _submit(args: argparse.Namespace, outputs: Outputs, run_id: str) -> int:
    from digit_recognizer.kaggle import kaggle_cli

    model = json.loads(outputs.summary.read_text()).get("model", "") \
        if outputs.summary.is_file() else ""  # the network of submission.csv
    print("\n==> submitting to Kaggle")
    return kaggle_cli.submit_file(
        outputs.submission, message=args.message or f"digit-recognizer run {run_id} "
        f"({args.profile} profile)", leaderboard_csv=outputs.leaderboard, run_id=run_id,
        model=model, trained_on="here", dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
