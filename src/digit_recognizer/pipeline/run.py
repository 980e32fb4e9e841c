"""What `./run_all.sh` calls: resolve the data, write the run's parameters, `dvc repro`.

    python -m digit_recognizer.pipeline.run [--source S] [--profile quick|full|gpu] [--seed N] ...

The stages, their inputs, parameters and outputs are declared in `dvc.yaml` (generated from
the stage manifest, `stages.py`); DVC decides what is out of date, reruns it, and restores
results that were computed before with the same code, data and parameters from its run cache.
In a git checkout each run is also recorded as a DVC experiment, so `dvc exp show` lists the
runs with their parameters and metrics.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import graph, sources, stages
from digit_recognizer.pipeline.notebook_setup import ensure_kernel
from digit_recognizer.pipeline.stage_runner import (
    RAY_ADDRESS_ENV,
    RUN_ID_ENV,
    VERBOSE_ENV,
    WORKERS_ENV,
)

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def find_root() -> Path:
    for candidate in (Path.cwd(), PACKAGE_DIR.parents[1]):
        if (candidate / "dvc.yaml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise DigitRecognizerError("dvc.yaml not found: run from the project's root folder")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="run_all.sh", description="Run the notebooks as a DVC pipeline (dvc repro).",
        epilog="Every parameter of params.yaml can be set with -p NAME VALUE (NAME alone sets it "
               "in every stage that has it; STAGE.NAME in one stage).")
    p.add_argument("--source", default="auto", choices=sources.SOURCES,
                   help="where the data comes from (default: auto)")
    # The options that are parameters, with their defaults, come from the stage manifest.
    for name, param in options().items():
        kind = type(param.default)
        p.add_argument(_option(name), type=kind, default=param.default,
                       choices=recipes.PROFILES if name == "profile" else None,
                       help=f"{param.help} (default: {param.default})")
    p.add_argument("--mnist-dir", default="", help="MNIST *-ubyte.gz files, for --source mnist")
    p.add_argument("--data-dir", default="data", help="where data/raw and caches live")
    p.add_argument("--only", default="",
                   help="comma-separated stage prefixes, e.g. 05 or 02,08 (the stages they need "
                        "run too when out of date)")
    p.add_argument("--force", action="store_true", help="rerun every stage")
    p.add_argument("--workers", default="local", choices=("local", "ray"),
                   help="where the ensemble's members train: here, one after another (local), "
                        "or as tasks of a Ray cluster (ray; pip install digit-recognizer[ray])")
    p.add_argument("--ray-address", default="",
                   help="with --workers ray: the cluster's HOST:PORT, or auto for the cluster "
                        "this machine belongs to (default: a Ray instance for this run)")
    p.add_argument("--verbose", action="store_true",
                   help="show everything: Keras's progress, TensorFlow's and Jupyter's logs")
    p.add_argument("--on-kaggle", action="store_true",
                   help="run on Kaggle's GPU instead of here, download the results (options: "
                        "digit-recognizer kaggle-run --help)")
    p.add_argument("--submit", action="store_true", help="submit the result to Kaggle")
    p.add_argument("--dry-run", action="store_true", help="with --submit: show, do not send")
    p.add_argument("--message", default="", help="Kaggle submission message")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="set a parameter of params.yaml")
    args = p.parse_args(argv)
    for name, param in options().items():
        value = getattr(args, name)
        if isinstance(param.default, int) and value < 0:
            p.error(f"{_option(name)} must be a non-negative integer, got {value}")
    if args.mnist_dir and not Path(args.mnist_dir).is_dir():
        p.error(f"--mnist-dir {args.mnist_dir}: no such directory")
    if args.ray_address and args.workers != "ray":
        p.error("--ray-address needs --workers ray")
    if args.source == "mnist" and not args.mnist_dir:
        p.error("--source mnist needs --mnist-dir DIR (the four MNIST *-ubyte.gz files)")
    return args


def options() -> dict[str, stages.Param]:
    """The parameters that are options of their own: the run-wide ones, and those a stage marks."""
    found = {n: p for n, p in stages.SHARED.items() if p.option}
    for s in stages.STAGES.values():
        found.update({n: p for n, p in s.params.items() if p.option})
    return found


def _literal(value: str):
    """`-p name value` like papermill's CLI: numbers and booleans are typed, the rest is text."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _typed(name: str, value: str, default):
    typed = _literal(value)
    if not isinstance(typed, type(default)) or isinstance(typed, bool) and \
            not isinstance(default, bool):
        raise DigitRecognizerError(
            f"-p {name} {value}: expected {type(default).__name__} like {default!r}")
    return typed


def run_parameters(args: argparse.Namespace) -> tuple[dict, dict]:
    """The run's values (defaults, then the options, then every -p NAME VALUE) and its
    params.yaml, one section per stage. An unknown NAME is an error that lists the names."""
    defaults = graph.run_defaults()
    values = {**defaults, **{name: getattr(args, name) for name in options()}}
    per_stage = []
    for name, value in args.parameter:
        stage_name, _, key = name.rpartition(".")
        if key not in defaults or stage_name and key not in settable(stage_name):
            raise DigitRecognizerError(
                f"-p {name}: no such parameter; the parameters are {', '.join(defaults)} "
                "(or STAGE.NAME for one stage)")
        if stage_name:
            per_stage.append((stage_name, key, _typed(name, value, defaults[key])))
        else:
            values[key] = _typed(name, value, defaults[key])
    if values["profile"] not in recipes.PROFILES:
        raise DigitRecognizerError(f"profile {values['profile']!r}: choose one of "
                                   + ", ".join(recipes.PROFILES))
    sections = graph.params(values)
    for stage_name, key, value in per_stage:
        sections[stage_name] = graph.stage_section(stages.STAGES[stage_name],
                                                   {**values, key: value})
    return values, sections


def settable(stage_name: str) -> set[str]:
    """What `-p STAGE.NAME` may set: the stage's parameters and the run-wide ones it uses; a
    training notebook also its profile and epochs (which its recipes resolve)."""
    s = stages.STAGES.get(stage_name)
    if s is None:
        return set()
    return {*s.params, *s.shared, *(("profile", "epochs") if s.training else ())}


def write_params(root: Path, sections: dict) -> None:
    path = root / "params.yaml"
    text = graph.render_params(sections)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        fileio.write_text(path, text)


def selected_stages(only: str) -> list[str]:
    if not only:
        return []
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    chosen = [name for name in stages.STAGES if name.startswith(prefixes)]
    if not chosen:
        raise DigitRecognizerError(f"--only {only}: no stage matches; the stages are "
                                   + ", ".join(stages.STAGES))
    return chosen


_DVC_LINES = [
    (re.compile(r"^Running stage '(.+)':$"), "--> {}: running"),
    (re.compile(r"^Stage '(.+)' didn't change, skipping$"), "--> {}: unchanged, skipped"),
    (re.compile(r"^Stage '(.+)' is cached - skipping run, checking out outputs$"),
     "--> {}: restored from DVC's run cache (it ran before with this code, data and parameters)"),
    (re.compile(r"^Data and pipelines are up to date\.$"), "--> every stage is up to date"),
    (re.compile(r"^Ran experiment\(s\): (.+)$"),
     "--> recorded as the DVC experiment {} (dvc exp show lists the runs)"),
]
_DVC_NOISE = re.compile(r"^(> |Executing: |Updating lock file|Generating lock file|"
                        r"To track the changes|"
                        r"\s*git add|To enable auto staging|\s*dvc config core\.autostage|"
                        r"Use `dvc push`|Reproducing experiment|Experiment results have been "
                        r"applied|WARNING: No file hash info found for|\s*$)")
# What native libraries and Jupyter print that says nothing about the run: TensorFlow's C++
# log lines (`2026-11-29 14:00:00.000000: I ...`, `E0000 00:00:...`, `WARNING: All log
# messages before absl::InitializeLog()`), oneDNN's notice, CUDA probing on a CPU machine, and
# the kernel's warning about its local TCP connection. Kept in the run's log.
_LIBRARY_NOISE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log "
    r"messages before absl|.*oneDNN custom operations|.*TF_ENABLE_ONEDNN_OPTS|.*cuda_|.*Unable "
    r"to register cu|.*computation placer|.*This TensorFlow binary is optimized|.*rebuild "
    r"TensorFlow with|.*running over TCP without encryption|.*Kernel .* on TCP|"
    r".*RuntimeWarning: .*TCP|\s+warn\(|.*use_unbounded_threadpool)")


def translate(line: str, verbose: bool = False) -> str | None:
    """DVC's progress lines in the run's words; its git and remote hints, and the libraries'
    noise, dropped (all of it shown with `verbose`)."""
    line = line.rsplit("\r", 1)[-1]  # a progress bar's last state
    for pattern, template in _DVC_LINES:
        match = pattern.match(line)
        if match:
            return template.format(*match.groups())
    if verbose:
        return line
    return None if _DVC_NOISE.match(line) or _LIBRARY_NOISE.match(line) else line


def git_checkout(root: Path) -> bool:
    """Whether `root` is a git work tree with a commit: where DVC can record experiments."""
    result = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root,
                            capture_output=True, text=True)
    return result.returncode == 0 and (root / ".git").exists()


def use_git(root: Path, enabled: bool) -> None:
    """DVC's git mode for this checkout only (`.dvc/config.local`): experiments in a git
    checkout, plain `dvc repro` in a copy without git (a Kaggle dataset, a test's folder)."""
    path = root / ".dvc" / "config.local"
    text = f"[core]\n    no_scm = {str(not enabled).lower()}\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        fileio.write_text(path, text)


def dvc_command(targets: list[str], force: bool, run_id: str, experiment: bool) -> list[str]:
    if experiment:
        return [sys.executable, "-m", "dvc", "exp", "run", "--name", f"run-{run_id}",
                *(["--force"] if force else []), *targets]
    return [sys.executable, "-m", "dvc", "repro", *(["--force"] if force else []), *targets]


def dvc_repro(root: Path, command: list[str], stage_env: dict[str, str], log: Path,
              verbose: bool = False) -> int:
    """Run DVC, showing its progress on the standard output and the stages' errors on the
    standard error, without the libraries' noise; every line also goes to `log`. Ctrl-C or
    SIGTERM stop every process it started.

    `stage_env` reaches the stages' commands (the run id, where ensemble members train).
    """
    env = {**os.environ, **stage_env,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1,
                               start_new_session=True)
    lock = threading.Lock()

    def relay(stream, to) -> None:
        for line in stream:
            shown = translate(line.rstrip("\n"), verbose)
            with lock:
                record.write(line)
                if shown is not None and to is not None:
                    print(shown, file=to, flush=True)

    with open(log, "w", encoding="utf-8") as record:
        errors = threading.Thread(target=relay, args=(process.stderr, sys.stderr), daemon=True)
        errors.start()
        try:
            relay(process.stdout, sys.stdout)
            errors.join()
            return process.wait()
        except KeyboardInterrupt:
            os.killpg(process.pid, signal.SIGTERM)
            # Keep reading what the stages print while they unwind, or a full pipe would
            # block them before they remove their partial files.
            threading.Thread(target=relay, args=(process.stdout, None), daemon=True).start()
            _wait_for_group(process.pid, timeout=120)
            raise


def _wait_for_group(group: int, timeout: float) -> None:
    """Wait until every process of the group has exited (DVC may exit before the stage it
    started has removed its partial files); kill what is left after `timeout` seconds."""
    import psutil  # a dependency of DVC

    def alive(p: psutil.Process) -> bool:
        try:
            return os.getpgid(p.pid) == group and p.status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, OSError):
            return False

    deadline = time.monotonic() + timeout
    while any(alive(p) for p in psutil.process_iter()):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            return
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--on-kaggle" in argv:
        from digit_recognizer.kaggle import kernel_cli

        return kernel_cli.main([arg for arg in argv if arg != "--on-kaggle"])
    fileio.unwind_on_sigterm()
    try:
        args = parse_args(argv)
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
    root = find_root()
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
    targets = selected_stages(args.only)
    values, sections = run_parameters(args)

    files = sources.resolve(args.source, root / args.data_dir, args.mnist_dir or None)
    record = sources.describe(files, outputs.resolved_source)
    changed = sources.write_record(outputs.resolved_source, record)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    print(f"==> run {run_id}: source {files.source} ({files.description})"
          + (", new or changed since the last run" if changed else ""))
    print("==> parameters: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))
    write_params(root, sections)
    ensure_kernel()
    outputs.timings.unlink(missing_ok=True)
    experiment = git_checkout(root)
    use_git(root, experiment)
    if experiment:
        # `dvc exp run` detaches HEAD until it ends: a commit made meanwhile is left off the
        # branch (it stays in `git reflog`).
        print("==> recorded as a DVC experiment: commit nothing in this checkout until the run "
              "ends")

    log = outputs.root / "logs" / f"run-{run_id}.log"
    status = dvc_repro(root, dvc_command(targets, args.force, run_id, experiment), {
        RUN_ID_ENV: run_id, WORKERS_ENV: args.workers, RAY_ADDRESS_ENV: args.ray_address,
        VERBOSE_ENV: "1" if args.verbose else "0"}, log, args.verbose)
    if status != 0:
        raise DigitRecognizerError(
            "the pipeline stopped (above: the stage and why; everything it printed is in "
            f"{log.relative_to(root)}); fix it and run the same command again: finished "
            "stages are kept")
    _record_run(outputs, run_id)
    _print_summary(root, outputs, targets)
    _copy_to_kaggle_working(outputs)
    if args.submit:
        return _submit(args, outputs, run_id)
    return 0


def _record_run(outputs: Outputs, run_id: str) -> None:
    """Append this run's rows to the leaderboard, if 08_submit ran in this run: its summary.json
    then carries this run's id (a skipped or restored 08_submit left an older one)."""
    from digit_recognizer import leaderboard

    if not outputs.summary.is_file():
        return
    summary = json.loads(outputs.summary.read_text())
    if summary.get("run_id") != run_id or "rows" not in summary:
        return
    try:
        leaderboard.append_run(outputs.leaderboard, summary, trained_on="here")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DigitRecognizerError(
            f"cannot record the run in {outputs.leaderboard}: {reason}") from None


def _submit(args: argparse.Namespace, outputs: Outputs, run_id: str) -> int:
    model = json.loads(outputs.summary.read_text()).get("model", "") \
        if outputs.summary.is_file() else ""  # the network of submission.csv
    message = args.message or f"digit-recognizer run {run_id} ({args.profile} profile)"
    return submit_run(outputs.submission, outputs.leaderboard, run_id=run_id, model=model,
                      message=message, dry_run=args.dry_run, trained_on="here")


def submit_run(submission: Path, leaderboard_csv: Path, *, run_id: str, model: str,
               message: str, dry_run: bool, trained_on: str) -> int:
    """Submit a run's `submission` to Kaggle, recording it in the leaderboard; the exit status
    of `digit-recognizer submit` (see its --help)."""
    from digit_recognizer import leaderboard
    from digit_recognizer.kaggle import submissions

    record = leaderboard.SubmissionRecord(leaderboard_csv, run_id=run_id, model=model,
                                          trained_on=trained_on)
    print("\n==> submitting to Kaggle")
    try:
        result = submissions.submit(submission, message=message, dry_run=dry_run,
                                    on_sent=record.sent)
    except submissions.NotSubmitted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return submissions.EXIT_REFUSED
    record.finished(result.as_listed())
    print(result)
    if record.error:
        print(f"warning: not recorded in the leaderboard: {record.error}")
    return result.exit_status


def _copy_to_kaggle_working(outputs: Outputs) -> None:
    """In a Kaggle notebook, also leave submission.csv in the working folder: the notebook's
    output that the competition's "Submit" button takes."""
    working = sources.KAGGLE_WORKING
    if not (working.is_dir() and outputs.submission.is_file()):
        return
    target = working / "submission.csv"
    if target.resolve() != outputs.submission.resolve():
        fileio.copy(outputs.submission, target)
        print(f"Kaggle notebook:    copied to {target}")


def _timings(outputs: Outputs) -> list[dict]:
    if not outputs.timings.is_file():
        return []
    return [json.loads(line) for line in outputs.timings.read_text().splitlines() if line]


def _submission_is_current(root: Path) -> bool:
    """Whether 08_submit is up to date with the current code, data and parameters."""
    result = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", "08_submit"],
                            cwd=root, capture_output=True, text=True)
    return result.returncode == 0 and json.loads(result.stdout or "{}") == {}


def _print_summary(root: Path, outputs: Outputs, targets: list[str]) -> None:
    ran = _timings(outputs)
    if ran:
        print("\nstage                  wall s  kernel s  imports s  work s")
        for t in ran:
            split = "".join(f"  {t[k]:>{w}}" if k in t else "  " + " " * w for k, w in (
                ("kernel_start_seconds", 8), ("imports_seconds", 9), ("work_seconds", 6)))
            print(f"{t['stage']:<22} {t['wall_seconds']:>6}{split}")
        print(f"{'total':<22} {sum(t['wall_seconds'] for t in ran):>6.1f}")
    print(f"\nexecuted notebooks: {outputs.notebooks.relative_to(root)}")
    print(f"HTML export:        {(outputs.root / 'html').relative_to(root)}")
    if not outputs.summary.is_file():
        return
    if targets and "08_submit" not in targets and not _submission_is_current(root):
        print(f"submission:         {outputs.submission.relative_to(root)} is from other "
              "parameters, code or data (08_submit was not part of this run)")
        return
    summary = json.loads(outputs.summary.read_text())
    print(f"submission:         {summary['submission']} (model {summary['model']}, "
          f"validation accuracy {summary['val_accuracy']:.4f})")
    if summary.get("local_score") is not None:
        print(f"local score:        {summary['local_score']:.5f} (against the answer key)")
    else:
        print("local score:        none (no answer key for this source)")


if __name__ == "__main__":
    sys.exit(main())
