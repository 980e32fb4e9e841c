"""Run the notebooks in order with papermill: what `./run_all.sh` calls.

    python -m digit_recognizer.pipeline [--source S] [--profile quick|full] [--seed N] ...

Each notebook gets only the parameters its `parameters` cell declares, its executed copy goes
to outputs/notebooks/, and a stage whose notebook, package code, parameters and upstream stages
are unchanged since its last complete run is skipped (`--force` runs everything).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs

KERNEL_NAME = "digit-recognizer"
PACKAGE_DIR = Path(__file__).resolve().parent
NOTEBOOKS = (
    "01_load", "02_eda", "03_preprocess", "04_base_cnn", "05_batchnorm", "06_augmentation",
    "07_submit", "08_own_handwriting",
)


def find_notebook_dir() -> Path:
    for candidate in (Path.cwd() / "notebooks", PACKAGE_DIR.parents[1] / "notebooks"):
        if (candidate / "01_load.ipynb").is_file():
            return candidate
    raise DigitRecognizerError("notebooks/ not found: run from the project's root folder")


def ensure_kernel() -> None:
    """Register this interpreter as the notebooks' kernel (papermill and JupyterLab use it)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name="Python (digit-recognizer)", prefix=sys.prefix)


def code_fingerprint() -> str:
    """A hash of the package's source, so an edit to src/ re-runs the stages."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stage_fingerprint(notebook: Path, params: dict, upstream: str, code: str) -> str:
    digest = hashlib.sha256()
    for part in (notebook.read_bytes(), json.dumps(params, sort_keys=True).encode(),
                 upstream.encode(), code.encode()):
        digest.update(part)
    return digest.hexdigest()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from digit_recognizer import data, train

    p = argparse.ArgumentParser(prog="run_all.sh", description="Run the notebooks in order.")
    p.add_argument("--source", default="auto", choices=data.SOURCES,
                   help="where the data comes from (default: auto)")
    p.add_argument("--profile", default="quick", choices=train.PROFILES,
                   help="quick: minutes on a laptop; full: the benchmark's recipe")
    p.add_argument("--seed", type=int, default=42, help="seed for the split and training")
    p.add_argument("--mnist-dir", default="", help="MNIST *-ubyte.gz files, for --source mnist")
    p.add_argument("--data-dir", default="data", help="where data/raw and caches live")
    p.add_argument("--output-dir", default="outputs", help="where every artifact goes")
    p.add_argument("--epochs", type=int, default=0, help="override the profile's epochs")
    p.add_argument("--limit-train", type=int, default=0, help="use only N training rows")
    p.add_argument("--limit-test", type=int, default=0, help="use only N test rows")
    p.add_argument("--only", default="", help="comma-separated notebook prefixes, e.g. 01,02")
    p.add_argument("--force", action="store_true", help="re-run stages even if unchanged")
    p.add_argument("--no-html", action="store_true", help="skip the HTML export")
    p.add_argument("--submit", action="store_true", help="submit the result to Kaggle")
    p.add_argument("--dry-run", action="store_true", help="with --submit: show, do not send")
    p.add_argument("--message", default="", help="Kaggle submission message")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="extra papermill parameter")
    args = p.parse_args(argv)
    if args.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {args.seed}")
    if args.mnist_dir and not Path(args.mnist_dir).is_dir():
        p.error(f"--mnist-dir {args.mnist_dir}: no such directory")
    if args.source == "mnist" and not args.mnist_dir:
        p.error("--source mnist needs --mnist-dir DIR (the four MNIST *-ubyte.gz files)")
    return args


def notebook_parameters(args: argparse.Namespace, run_id: str) -> dict:
    """Every parameter a run can set; each notebook receives the ones it declares."""
    root = Path.cwd()

    def absolute(path: str) -> str:
        return str((root / path).resolve()) if path else ""

    params = {
        "source": args.source, "profile": args.profile, "seed": args.seed,
        "mnist_dir": absolute(args.mnist_dir), "data_dir": absolute(args.data_dir),
        "output_dir": absolute(args.output_dir), "epochs": args.epochs,
        "limit_train": args.limit_train, "limit_test": args.limit_test, "run_id": run_id,
    }
    for name, value in args.parameter:
        params[name] = _literal(value)
    return params


def _literal(value: str):
    """`-p name value` like papermill's CLI: numbers and booleans are typed, the rest is text."""
    import ast

    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def run_notebook(source: Path, target: Path, params: dict, cwd: Path) -> dict:
    """Execute one notebook with papermill; return its timing split."""
    import papermill as pm

    start = time.perf_counter()
    with fileio.atomic_path(target, suffix=".ipynb") as tmp:
        try:
            pm.execute_notebook(
                str(source), str(tmp), parameters=params, kernel_name=KERNEL_NAME,
                cwd=str(cwd), progress_bar=True, report_mode=False,
            )
        except pm.PapermillExecutionError as exc:
            # Keep the failed copy for reading; it is not a complete artifact, so it is
            # written beside the target under a name that says so.
            failed = target.with_name(target.stem + ".FAILED.ipynb")
            if tmp.is_file():
                tmp.replace(failed)
            raise DigitRecognizerError(
                f"notebook {source.name} failed in cell {exc.exec_count or exc.cell_index}: "
                f"{exc.ename}: {exc.evalue}\n  executed copy with the traceback: {failed}"
            ) from None
        executed = json.loads(tmp.read_text())
    wall = time.perf_counter() - start
    cells = [c for c in executed["cells"] if c["cell_type"] == "code"]
    durations = [c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in cells]
    # The first code cells are parameters (+ injected parameters) and imports.
    n_setup = next((i for i, c in enumerate(cells) if "import" in "".join(c["source"])), 0) + 1
    return {
        "notebook": source.stem,
        "wall_seconds": round(wall, 1),
        "kernel_start_seconds": round(wall - sum(durations), 1),
        "imports_seconds": round(sum(durations[:n_setup]), 1),
        "work_seconds": round(sum(durations[n_setup:]), 1),
    }


def export_html(notebooks: list[Path], folder: Path) -> None:
    """HTML copies of the executed notebooks, readable without Jupyter."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    for path in notebooks:
        body, _ = exporter.from_filename(str(path))
        fileio.write_text(folder / f"{path.stem}.html", body)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C, so the atomic writes under way discard their temp files.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        args = parse_args(argv)
        return _run(args)
    except DigitRecognizerError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: completed stages are kept; the next run resumes after them",
              file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONHASHSEED", str(args.seed))
    notebook_dir = find_notebook_dir()
    outputs = Outputs(Path(args.output_dir).resolve())
    try:
        outputs.notebooks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigitRecognizerError(f"cannot write to {outputs.root}: {exc.strerror}") from None
    if not os.access(outputs.notebooks, os.W_OK):
        raise DigitRecognizerError(f"cannot write to {outputs.root}: permission denied")
    for leftover in fileio.remove_partial_files(outputs.root):
        print(f"removed {leftover.relative_to(outputs.root)}, left by an interrupted run")
    run_id = time.strftime("%Y%m%d-%H%M%S")
    params = notebook_parameters(args, run_id)
    selected = [n for n in NOTEBOOKS if (notebook_dir / f"{n}.ipynb").is_file()]
    if args.only:
        prefixes = tuple(p.strip() for p in args.only.split(",") if p.strip())
        selected = [n for n in selected if n.startswith(prefixes)]
    print(f"==> run {run_id}: source={args.source} profile={args.profile} seed={args.seed}")
    print(f"==> {len(selected)} notebooks from {notebook_dir}, outputs in {outputs.root}")
    ensure_kernel()

    import papermill as pm

    code = code_fingerprint()
    stamps_dir = outputs.root / ".stamps"
    upstream = ""
    timings = []
    for name in selected:
        source = notebook_dir / f"{name}.ipynb"
        declared = pm.inspect_notebook(str(source))
        # run_id changes every run; it must not make a stage look changed.
        mine = {k: v for k, v in params.items() if k in declared}
        fingerprint = stage_fingerprint(
            source, {k: v for k, v in mine.items() if k != "run_id"}, upstream, code
        )
        target = outputs.notebooks / f"{name}.ipynb"
        stamp = stamps_dir / f"{name}.json"
        upstream = fingerprint
        if not args.force and target.is_file() and stamp.is_file() and \
                json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
            print(f"--> {name}: unchanged since its last complete run, skipped (--force redoes)")
            timings.append({"notebook": name, "skipped": True})
            continue
        print(f"--> {name}")
        timing = run_notebook(source, target, mine, notebook_dir)
        timings.append(timing)
        fileio.write_json(stamp, {"fingerprint": fingerprint, "run_id": run_id})
        print(f"    {timing['wall_seconds']:.1f} s (kernel start {timing['kernel_start_seconds']}"
              f" s, imports {timing['imports_seconds']} s, work {timing['work_seconds']} s)")

    fileio.write_json(outputs.root / "timings.json", timings)
    executed = [outputs.notebooks / f"{n}.ipynb" for n in selected]
    if not args.no_html:
        export_html([p for p in executed if p.is_file()], outputs.root / "html")
    _print_summary(outputs, timings, args.no_html)
    if args.submit:
        from digit_recognizer import kaggle_io

        message = args.message or f"digit-recognizer run {run_id} ({args.profile} profile)"
        print("\n==> submitting to Kaggle")
        result = kaggle_io.submit(outputs.submission, message=message, dry_run=args.dry_run,
                                  leaderboard=outputs.leaderboard, run_id=run_id)
        print(result)
    return 0


def _print_summary(outputs: Outputs, timings: list[dict], no_html: bool) -> None:
    ran = [t for t in timings if not t.get("skipped")]
    if ran:
        print("\nnotebook             wall s  kernel s  imports s  work s")
        for t in ran:
            print(f"{t['notebook']:<20} {t['wall_seconds']:>6}  {t['kernel_start_seconds']:>8}  "
                  f"{t['imports_seconds']:>9}  {t['work_seconds']:>6}")
        print(f"{'total':<20} {sum(t['wall_seconds'] for t in ran):>6.1f}")
    print(f"\nexecuted notebooks: {outputs.notebooks}")
    if not no_html:
        print(f"HTML export:        {outputs.root / 'html'}")
    if outputs.summary.is_file():
        summary = json.loads(outputs.summary.read_text())
        print(f"submission:         {summary['submission']} (stage {summary['stage']}, "
              f"validation accuracy {summary['val_accuracy']:.4f})")
        if summary.get("local_score") is not None:
            print(f"local score:        {summary['local_score']:.5f} (against the answer key)")
        else:
            print("local score:        none (no answer key for this source)")


if __name__ == "__main__":
    sys.exit(main())
