"""The DVC graph, derived from the stage manifest: `dvc.yaml`, and a run's `params.yaml`.

Each stage's dependencies are its notebook, the package modules it really imports (followed
through the package), and what it reads of earlier stages. Its parameters are one section of
`params.yaml`, named after the stage (as DVC's examples nest them): its own parameters, the
run-wide ones it uses and, for a notebook that trains, the epochs, batch size and learning
rate that the run's profile gives it. `dvc.yaml` is
committed (a test checks that it is current); `params.yaml` is written by every run.

    python -m digit_recognizer.pipeline.graph      # rewrite dvc.yaml after editing the manifest
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from digit_recognizer.pipeline import stages as manifest
from digit_recognizer.pipeline.stages import SHARED, Stage

PACKAGE = "digit_recognizer"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
STAGE_COMMAND = f"{PACKAGE}.pipeline.stage_runner"
# Filled in by the runner for every run, never read from params.yaml: where the results are
# read and written, the run's id and data record, and where ensemble members train (which
# changes nothing of what they compute). A stage's committed references come the same way.
RUNNER_PARAMETERS = ("output_dir", "write_dir", "run_id", "source_record", "workers",
                     "ray_address")
HEADER = ("# Generated from the stage manifest (src/digit_recognizer/pipeline/stages.py) by\n"
          "# `python -m digit_recognizer.pipeline.graph`.\n")
PARAMS_HEADER = ("# This run's parameters, one section per stage, written by ./run_all.sh from\n"
                 "# the stage manifest and its options (-p NAME VALUE sets any of them);\n"
                 "# `dvc repro` reruns the stages whose section changed.\n")


def code_cells(notebook: Path) -> list[dict]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code"]


def declared_parameters(notebook: Path) -> dict:
    """The names and default values of the notebook's `parameters` cell."""
    for cell in code_cells(notebook):
        if "parameters" in cell["metadata"].get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    return {}


def imported_modules(source: str) -> set[str]:
    """The package's modules that `source` imports, wherever the import statement is, as paths
    below the package without `.py` (`learning/train`, `errors`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
            base = node.module.split(".")[1:]
            # `from package.part import module` names modules; `from package.part.module
            # import name` names things of one module.
            found.update("/".join([*base, alias.name]) for alias in node.names)
            found.add("/".join(base))
        elif isinstance(node, ast.Import):
            found.update("/".join(a.name.split(".")[1:]) for a in node.names
                         if a.name.startswith(PACKAGE + "."))
    return {name for name in found if name}


def module_closure(modules: set[str], package_dir: Path = PACKAGE_DIR) -> list[str]:
    """`modules` and every package module they import, directly or not (a subpackage counts
    as its `__init__`)."""
    seen, todo = set(), ["__init__", *modules]
    while todo:
        name = todo.pop()
        path = package_dir / f"{name}.py"
        if (package_dir / name).is_dir():
            name, path = f"{name}/__init__", package_dir / name / "__init__.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo.extend(imported_modules(path.read_text(encoding="utf-8")))
    return sorted(seen)


def notebook_source(notebook: Path) -> str:
    source = "\n".join("".join(c["source"]) for c in code_cells(notebook))
    # IPython magics are not Python; the package's imports are plain statements.
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


def stage_modules(root: Path, s: Stage) -> list[str]:
    return module_closure(imported_modules(notebook_source(root / s.notebook)))


def command(s: Stage) -> str:
    return f"python -m {STAGE_COMMAND} {s.name}"


def dvc_stage(root: Path, s: Stage, stages: dict[str, Stage]) -> dict:
    deps = [s.notebook]
    deps += [f"src/{PACKAGE}/{m}.py" for m in stage_modules(root, s)]
    deps += [str(p) for p in s.reads] + list(s.references.values())
    entry = {"cmd": command(s), "deps": deps, "params": [s.name]}
    special = {str(p) for p in (*s.metrics, *s.plots)}
    reports = [manifest.OUT.figures(f) for f in s.figures]
    reports += [manifest.OUT.executed(s.name), manifest.OUT.html(s.name)]
    entry["outs"] = [str(p) for p in (*s.writes, *reports) if str(p) not in special]
    if s.metrics:
        entry["metrics"] = [str(p) for p in s.metrics]
    if s.plots:
        entry["plots"] = [{str(p): {"x": "epoch", "y": "val_accuracy"}}
                          for p in s.plots]
    return entry


def dvc_yaml(root: Path, stages: dict[str, Stage] | None = None) -> dict:
    stages = stages or manifest.STAGES
    manifest.writer(stages)  # a path written twice fails here
    return {"stages": {name: dvc_stage(root, s, stages) for name, s in stages.items()}}


def run_defaults(stages: dict[str, Stage] | None = None) -> dict:
    """Every parameter a run can set (the run-wide ones and each stage's own), with defaults."""
    values = {name: p.default for name, p in SHARED.items()}
    for s in (stages or manifest.STAGES).values():
        for name, p in s.params.items():
            if values.setdefault(name, p.default) != p.default:
                raise ValueError(f"parameter {name!r} has two defaults ({s.name})")
    return values


def stage_section(s: Stage, run: dict) -> dict:
    """One stage's section of params.yaml under the run's values."""
    section = {name: run[name] for name in (*s.params, *s.shared)}
    if s.training:
        section.update(s.training(run))
    if s.candidates:
        section["candidates"] = list(s.candidates)
    return section


def params(run: dict, stages: dict[str, Stage] | None = None) -> dict:
    return {name: stage_section(s, run) for name, s in (stages or manifest.STAGES).items()}


def render_dvc_yaml(root: Path, stages: dict[str, Stage] | None = None) -> str:
    import yaml

    return HEADER + yaml.safe_dump(dvc_yaml(root, stages), sort_keys=False, width=100)


def render_params(values: dict) -> str:
    import yaml

    return PARAMS_HEADER + yaml.safe_dump(values, sort_keys=False)


def main() -> int:
    root = Path.cwd()
    (root / "dvc.yaml").write_text(render_dvc_yaml(root), encoding="utf-8")
    print("wrote dvc.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
