"""`digit-recognizer kaggle-run` (and `./run_all.sh --on-kaggle`): the chain on Kaggle's GPU.

    digit-recognizer kaggle-run [--accelerator A] [--submit] [RUN_ALL OPTIONS...]
    digit-recognizer kaggle-run --follow OWNER/SLUG [--submit]

1. package the project at the current commit and upload it as a private dataset of yours;
2. push a private notebook that installs it and runs `./run_all.sh OPTIONS` on the accelerator,
   with the competition attached;
3. follow the run (Ctrl-C stops following, not the run);
4. download its output into outputs/kaggle-runs/<slug>-v<version>/, add its rows to the
   leaderboard, print its summary;
5. with --submit, send the downloaded submission (the same outcomes as `digit-recognizer
   submit`).

Exit status: 0 done (with --submit: the submission's status), 1 the run failed on Kaggle, or
Kaggle started it without its code dataset or competition (it cannot work: not followed),
2 refused before anything started, 3 the run may be going on, or has ended, but was not
followed to its end or its output not downloaded whole (the message gives the --follow
command that resumes: it pushes nothing, and downloads only what is missing), 130
interrupted (likewise).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle import bundle
from digit_recognizer.kaggle.credentials import credentials_help, has_credentials
from digit_recognizer.layout import Outputs

EXIT_DONE, EXIT_RUN_FAILED, EXIT_REFUSED, EXIT_NOT_FOLLOWED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
LOG_TAIL = 20
# Under outputs/, beside what the local runs write. Not in `layout`: every stage depends on
# that module, so a path added there would put the whole pipeline out of date.
RUNS_FOLDER = "kaggle-runs"
EPILOG = ("Every option of ./run_all.sh (see ./run_all.sh --help) is one here: --profile, "
          "-p NAME VALUE, --seed, --only, ... They are checked here, before anything is "
          "uploaded.\n\n" + __doc__.split("\n\n", 2)[2])


def add_command(sub: argparse._SubParsersAction) -> None:
    """`kaggle-run` on the `digit-recognizer` parser: ./run_all.sh's own options."""
    from digit_recognizer.pipeline import options

    p = sub.add_parser(
        "kaggle-run", parents=[options.parser(kaggle_run=True, add_help=False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run the pipeline on Kaggle's GPU from here, bring its results home, submit "
             "(see kaggle-run --help)",
        description=__doc__.split("\n\n", 1)[0], epilog=EPILOG)
    p.set_defaults(func=lambda args: main(args, p.error))


def main(args: argparse.Namespace, error) -> int:
    """Run `args` (./run_all.sh's options, parsed) on Kaggle; `error` is the parser's."""
    from digit_recognizer.pipeline import options

    options.check(args, error)
    try:
        return _main(args)
    except KeyboardInterrupt:
        ref = args.follow or args.kernel or f"YOURNAME/{bundle.KERNEL_SLUG}"
        print(f"\ninterrupted. If the notebook was pushed, it runs on at Kaggle: follow it with "
              f"digit-recognizer kaggle-run --follow {ref}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DigitRecognizerError as exc:
        from digit_recognizer.kaggle.kernels import CannotWork, NotFollowed

        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, NotFollowed):
            return EXIT_NOT_FOLLOWED
        return EXIT_RUN_FAILED if isinstance(exc, CannotWork) else EXIT_REFUSED


def _main(args: argparse.Namespace) -> int:
    from digit_recognizer.pipeline import options

    run_args = options.remote_command(args)  # refuses what means nothing there
    if not has_credentials():
        raise DigitRecognizerError(f"no Kaggle credentials found: {credentials_help()}")
    from digit_recognizer.kaggle import kernels
    from digit_recognizer.kaggle.transport import kaggle_api

    api = kaggle_api()
    user = api.get_config_value(api.CONFIG_NAME_USER) or ""
    root = options.find_root()
    if args.follow:
        ref, version = kernels.Ref.parse(args.follow, "--follow"), None
    else:
        ref, version = _push(api, user, args, run_args, root, args.submit)
    with _resumable(ref, args.submit):
        return _finish(api, ref, version, args, root)


@contextlib.contextmanager
def _resumable(ref, submit: bool):
    """A NotFollowed error leaves with the command that resumes: it never pushes again."""
    from digit_recognizer.kaggle import kernels

    try:
        yield
    except kernels.NotFollowed as exc:
        raise kernels.NotFollowed(f"{exc}. Kaggle keeps the run: resume with "
                                  f"{_resume(ref, submit)}") from None


def _resume(ref, submit: bool) -> str:
    return f"digit-recognizer kaggle-run --follow {ref}" + (" --submit" if submit else "")


def _push(api, user: str, args, run_args: list[str], root: Path, submit: bool):
    """Upload the code, push the notebook: (the notebook, its new version or None)."""
    from digit_recognizer.kaggle import kernels

    dataset = kernels.Ref.parse(args.dataset or f"{user}/{bundle.CODE_DATASET_SLUG}", "--dataset")
    kernel = kernels.Ref.parse(args.kernel or f"{user}/{bundle.KERNEL_SLUG}", "--kernel")
    for ref, option in ((dataset, "--dataset"), (kernel, "--kernel")):
        if ref.owner.lower() != user.lower():
            raise kernels.Refused(f"{option} {ref} belongs to another account than your "
                                  f"credentials' ({user}): pass {option} {user}/SLUG")
    run_name = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory(prefix="kaggle-run-") as work:
        work = Path(work)
        commit = bundle.project_archive(root, work / "dataset")
        left_out = commit.left_out()
        print(f"==> packaged commit {commit.sha[:12]}" + (f"; {left_out}" if left_out else ""))
        done = kernels.publish_code(api, dataset, work / "dataset" / bundle.ARCHIVE,
                                    f"kaggle-run {run_name}, commit {commit.sha[:12]}")
        print(f"==> code dataset {dataset}: {done}; waiting until Kaggle has processed it")
        kernels.wait_until_ready(api, dataset, print)
        bundle.kernel_folder(work / "kernel", kernel=str(kernel), dataset=str(dataset),
                             accelerator=args.accelerator, run_args=run_args,
                             commit=commit.sha, run_name=run_name)
        with _resumable(kernel, submit):
            pushed = kernels.push(api, work / "kernel", kernel, args.accelerator)
    version = f"version {pushed}" if pushed else "a new version"
    machine = args.accelerator or "Kaggle's CPU"
    print(f"==> pushed {kernel} ({version}, {machine}): {kernel.url}")
    command = " ".join(["./run_all.sh", *run_args])
    print(f"    {command} runs there; Ctrl-C stops following, not the run (resume with: "
          f"digit-recognizer kaggle-run --follow {kernel})")
    return kernel, pushed


def _finish(api, ref, version: int | None, args, root: Path) -> int:
    from digit_recognizer.kaggle import kernels

    print(f"==> following {ref}")
    try:
        final = kernels.follow(api, ref, print, args.wait_minutes * 60,
                               just_pushed=not args.follow)
    except KeyboardInterrupt:
        print(f"\nstopped following; the run goes on at Kaggle. Resume with: "
              f"{_resume(ref, args.submit)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    outputs = Outputs(root / "outputs")
    folder = outputs.root / RUNS_FOLDER / f"{ref.slug}-v0"
    try:
        version = version or kernels.kernel_version(api, ref)
        folder = folder.with_name(f"{ref.slug}-v{version or 0}")
        # Version 0 (not known) could be any run: nothing already there is kept.
        files = kernels.download_output(api, ref, folder, resume=bool(version))
    except DigitRecognizerError as exc:
        kept = sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        raise kernels.NotFollowed(
            f"the run ended ({final.state.upper()}) on Kaggle, but downloading its output "
            f"failed: {exc}. {kept} file(s) arrived and are kept in "
            f"{folder.relative_to(root)}; following it again downloads only the rest"
        ) from None
    print(f"==> downloaded {len(files)} file(s) of the run into {folder.relative_to(root)}")
    if final.state != "complete":
        print(f"error: the run ended in {final.state.upper()} on Kaggle: "
              f"{final.failure or 'Kaggle gave no reason'}", file=sys.stderr)
        tail = (folder / "kernel.log").read_text().splitlines()[-LOG_TAIL:] \
            if (folder / "kernel.log").is_file() else []
        if tail:
            print("the end of its log:\n    " + "\n    ".join(tail), file=sys.stderr)
        return EXIT_RUN_FAILED
    trained_on = _trained_on(ref, version, folder)
    summary = fileio.read_json(folder / "summary.json") \
        if (folder / "summary.json").is_file() else None
    _print_summary(root, folder, trained_on, summary)
    if summary is None:
        if args.submit:
            print("error: the run left no summary.json (did it stop before 08_submit?): "
                  "nothing was submitted", file=sys.stderr)
            return EXIT_REFUSED
        return EXIT_DONE
    from digit_recognizer import leaderboard

    leaderboard.append_run(outputs.leaderboard, summary, trained_on=trained_on)
    if not args.submit:
        return EXIT_DONE
    from digit_recognizer.kaggle import kaggle_cli

    message = args.message or (f"digit-recognizer run {summary.get('run_id')} "
                                  f"({summary.get('profile')} profile, {trained_on})")
    print("\n==> submitting to Kaggle")
    return kaggle_cli.submit_file(folder / "submission.csv", message=message,
                                  leaderboard_csv=outputs.leaderboard,
                                  run_id=summary.get("run_id", ""),
                                  model=summary.get("model", ""), trained_on=trained_on,
                                  dry_run=args.dry_run)


def _trained_on(ref, version: int | None, folder: Path) -> str:
    record = folder / bundle.RUN_RECORD
    device = fileio.read_json(record).get("device", "") if record.is_file() else ""
    return f"kaggle {ref} v{version or '?'}" + (f" ({device})" if device else "")


def _print_summary(root: Path, folder: Path, trained_on: str, summary: dict | None) -> None:
    """The remote run's own closing lines (its per-stage time table), then where it all is."""
    log = folder / bundle.RUN_LOG
    lines = log.read_text().splitlines() if log.is_file() else []
    start = next((i for i, line in enumerate(lines) if line.startswith("stage ")), None)
    end = next((i for i, line in enumerate(lines) if line.startswith("executed notebooks:")),
               len(lines))
    if start is not None:
        print("\n" + "\n".join(lines[start:end]).rstrip())
    relative = folder.relative_to(root)
    print(f"\ntrained on:         {trained_on}")
    print(f"executed notebooks: {relative / 'notebooks'}")
    print(f"HTML export:        {relative / 'html'}")
    if summary is not None:
        print(f"submission:         {relative / 'submission.csv'} (model {summary['model']}, "
              f"validation accuracy {summary['val_accuracy']:.4f})")
