"""Run one stage's notebook with papermill: the command of each stage in `dvc.yaml`.

    python -m digit_recognizer.pipeline.stage_runner 04_base_cnn

The notebook receives the parameters it declares: its values from `params.yaml`, and the
concrete paths the runner fills in (the outputs folder, the resolved data files, where
ensemble members train). They are written into its one `parameters` cell, so the executed
copy shows the values that held, once. The lines of training progress (one per epoch or
member) are shown in the terminal as the notebook prints them. The executed copy and its HTML
export are written atomically; a failed cell or a dead kernel keeps the partial copy as
`*.FAILED.ipynb`.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import sys
import time
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.pipeline import graph, stages
from digit_recognizer.pipeline.notebook_setup import KERNEL_NAME

# Set by ./run_all.sh for every stage: they change nothing of what a stage computes.
RUN_ID_ENV = "DIGIT_RECOGNIZER_RUN_ID"
WORKERS_ENV = "DIGIT_RECOGNIZER_WORKERS"
RAY_ADDRESS_ENV = "DIGIT_RECOGNIZER_RAY_ADDRESS"
VERBOSE_ENV = "DIGIT_RECOGNIZER_VERBOSE"  # every line the notebooks print, not only progress
PROGRESS = re.compile(r"^(\S+: epoch \d+/\d+|\[\d+/\d+\] |\S+: not trained again|"
                      r"\S+: trained in )")


def section(root: Path, name: str) -> dict:
    """The stage's section of `params.yaml`."""
    import yaml

    path = root / "params.yaml"
    if not path.is_file():
        raise DigitRecognizerError(f"{path} not found: run ./run_all.sh (it writes it)")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if name not in values:
        raise DigitRecognizerError(f"{path} has no section {name}: run ./run_all.sh")
    return values[name]


def runner_values(root: Path, outputs: Outputs, references: dict[str, str] | None = None) -> dict:
    """The parameters the runner fills in, as paths relative to the notebooks' folder: the
    outputs folder (read and written), the data record and the stage's committed references."""
    notebooks = root / "notebooks"

    def relative(path: str | os.PathLike) -> str:
        return os.path.relpath(root / path, notebooks)

    values = {"output_dir": relative(outputs.root), "write_dir": relative(outputs.root),
              "run_id": os.environ.get(RUN_ID_ENV) or time.strftime("%Y%m%d-%H%M%S"),
              "workers": os.environ.get(WORKERS_ENV) or "local",
              "ray_address": os.environ.get(RAY_ADDRESS_ENV) or ""}
    if outputs.resolved_source.is_file():
        values["source_record"] = relative(outputs.resolved_source)
    values.update({key: relative(path) for key, path in (references or {}).items()})
    return values


def notebook_parameters(root: Path, name: str) -> dict:
    """What papermill injects: the stage's section of params.yaml and the runner's values, as
    far as the notebook declares them."""
    declared = graph.declared_parameters(root / "notebooks" / f"{name}.ipynb")
    # A stage that params.yaml has and this package's manifest lacks (one added to a copy of
    # the project) has no references.
    references = stages.STAGES[name].references if name in stages.STAGES else {}
    values = {**section(root, name), **runner_values(root, Outputs(root / "outputs"), references)}
    return {key: values[key] for key in declared if key in values}


def _failure(source: Path, tmp: Path, target: Path, what: str) -> DigitRecognizerError:
    # Keep the partial copy for reading, under a name that says it is not a complete artifact.
    failed = target.with_name(target.stem + ".FAILED.ipynb")
    if tmp.is_file():
        tmp.replace(failed)
    return DigitRecognizerError(f"notebook {source.name} {what}\n"
                                f"  executed copy with the traceback: {failed}")


def _portable(notebook: Path, source: Path, target: Path) -> None:
    """Papermill records the absolute paths it read and wrote (here: the temporary copy);
    keep them relative to the project, so an executed notebook names no folder of the machine
    that ran it."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    record = nb.metadata.get("papermill", {})
    for key, path in (("input_path", source), ("output_path", target)):
        if key in record:
            record[key] = _relative(path)
    nbformat.write(nb, notebook)


def _relative(path: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path.cwd().resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).name


PARAMETERS_NOTE = "# This run's values, written here by ./run_all.sh from params.yaml\n"


def with_values(source: str, values: dict) -> str:
    """A parameters cell's code with `values` in place of its defaults, each line's comment
    kept."""
    lines = source.splitlines()
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in values:
            last = lines[node.end_lineno - 1]
            comment = last[node.end_col_offset:]
            lines[node.lineno - 1:node.end_lineno] = [
                f"{node.targets[0].id} = {values[node.targets[0].id]!r}{comment}"]
    return PARAMETERS_NOTE + "\n".join(lines)


def parameterized(source: Path, params: dict):
    """The notebook with `params` written into its parameters cell."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = with_values(cell.source, params)
    return nb


class ProgressLines(io.TextIOBase):
    """Where papermill writes what the notebook prints: the progress lines go to the terminal
    (every line with `everything`)."""

    def __init__(self, everything: bool = False):
        self.everything, self.pending = everything, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if self.everything or PROGRESS.match(line):
                print(f"    {line}", flush=True)
        return len(text)


def execute(source: Path, target: Path, params: dict) -> dict:
    """Execute one notebook with papermill; return its timing split."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    start = time.perf_counter()
    with fileio.atomic_path(target, suffix=".ipynb") as tmp:
        try:
            pm.execute_notebook(
                parameterized(source, params), str(tmp), kernel_name=KERNEL_NAME,
                cwd=str(source.parent), progress_bar=True, report_mode=False,
                stdout_file=ProgressLines(os.environ.get(VERBOSE_ENV) == "1"),
            )
        except pm.PapermillExecutionError as exc:
            raise _failure(source, tmp, target,
                           f"failed in cell {exc.exec_count or exc.cell_index}: "
                           f"{exc.ename}: {exc.evalue}") from None
        except DeadKernelError:
            raise _failure(source, tmp, target,
                           "stopped: its kernel died (killed, or out of memory)") from None
        _portable(tmp, source, target)
        executed = json.loads(tmp.read_text())
    wall = time.perf_counter() - start
    cells = [c for c in executed["cells"] if c["cell_type"] == "code"]
    durations = [c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in cells]
    # The first code cells are parameters (+ injected parameters) and imports.
    n_setup = next((i for i, c in enumerate(cells) if "import" in "".join(c["source"])), 0) + 1
    return {
        "stage": source.stem,
        "wall_seconds": round(wall, 1),
        "kernel_start_seconds": round(wall - sum(durations), 1),
        "imports_seconds": round(sum(durations[:n_setup]), 1),
        "work_seconds": round(sum(durations[n_setup:]), 1),
    }


def export_html(notebook: Path, target: Path) -> None:
    """An HTML copy of the executed notebook, readable without Jupyter."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    fileio.write_text(target, body)


def run_stage(root: Path, name: str) -> dict:
    if not (root / "notebooks" / f"{name}.ipynb").is_file():
        raise DigitRecognizerError(f"no notebook notebooks/{name}.ipynb for stage {name}")
    outputs = Outputs(root / "outputs")
    params = notebook_parameters(root, name)
    timing = execute(root / "notebooks" / f"{name}.ipynb", outputs.executed(name), params)
    export_html(outputs.executed(name), outputs.html(name))
    with open(outputs.timings, "a", encoding="utf-8") as log:
        log.write(json.dumps(timing) + "\n")
    return timing


def main(argv: list[str] | None = None) -> int:
    fileio.unwind_on_sigterm()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m digit_recognizer.pipeline.stage_runner STAGE", file=sys.stderr)
        return 2
    try:
        timing = run_stage(Path.cwd(), args[0])
    except DigitRecognizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"    {timing['wall_seconds']:.1f} s (kernel start {timing['kernel_start_seconds']} s, "
          f"imports {timing['imports_seconds']} s, work {timing['work_seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
