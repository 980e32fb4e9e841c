"""The DVC graph, derived from the stage registry: `dvc.yaml` and the defaults of `params.yaml`.

Each stage's dependencies are its notebook, the package modules the notebook really imports
(followed through the package), the products of its upstream stages and, for 01_load, the
resolved data source (content hashes). Its parameters are the names its `parameters` cell
declares, except the paths and ids the runner fills in. Regenerate after changing the registry
or a notebook's imports or parameters (a test checks that the committed files are current):

    python -m digit_recognizer.pipeline.graph
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from digit_recognizer.layout import Outputs, stage_inputs, stage_products, stage_reports
from digit_recognizer.pipeline.stages import STAGES

PACKAGE = "digit_recognizer"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Filled in by the runner for every run, never read from params.yaml. Where members train
# (`workers`, `ray_address`) does not change what they compute, so it is no DVC parameter.
RUNNER_PARAMETERS = ("output_dir", "run_id", "source_record", "candidates", "workers",
                     "ray_address")
HEADER = ("# Generated from src/digit_recognizer/pipeline/stages.py by\n"
          "# `python -m digit_recognizer.pipeline.graph`.\n")
PARAMS_HEADER = ("# The run's parameters. ./run_all.sh writes its options here (-p NAME VALUE for\n"
                 "# any of them) and `dvc repro` reruns the stages that declare a changed one.\n")


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
            for alias in node.names:
                found.add("/".join([*base, alias.name]))
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


def stage_modules(root: Path, name: str) -> list[str]:
    notebook = root / "notebooks" / f"{name}.ipynb"
    source = "\n".join("".join(c["source"]) for c in code_cells(notebook))
    # IPython magics are not Python; the package's imports are plain statements.
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))
    return module_closure(imported_modules(source))


def stage_parameters(root: Path, name: str) -> dict:
    declared = declared_parameters(root / "notebooks" / f"{name}.ipynb")
    return {k: v for k, v in declared.items() if k not in RUNNER_PARAMETERS}


def dvc_stages(root: Path) -> dict:
    outputs = Outputs("outputs")
    stages = {}
    for name in STAGES:
        deps = [f"notebooks/{name}.ipynb"]
        deps += [f"src/{PACKAGE}/{m}.py" for m in stage_modules(root, name)]
        if name == "01_load":
            deps.append(outputs.resolved_source.as_posix())
        deps += [p.as_posix() for p in stage_inputs(outputs, name)]
        entry = {"cmd": f"python -m {PACKAGE}.pipeline.stage_runner {name}", "deps": deps}
        params = list(stage_parameters(root, name))
        if params:
            entry["params"] = params
        entry["outs"] = [p.as_posix() for p in (*stage_products(outputs, name),
                                                  *stage_reports(outputs, name))]
        stages[name] = entry
    return {"stages": stages}


def default_parameters(root: Path) -> dict:
    defaults = {}
    for name in STAGES:
        for key, value in stage_parameters(root, name).items():
            if defaults.setdefault(key, value) != value:
                raise ValueError(f"parameter {key!r} has two defaults: {defaults[key]!r} and "
                                 f"{value!r} ({name})")
    return defaults


def render_dvc_yaml(root: Path) -> str:
    import yaml

    return HEADER + yaml.safe_dump(dvc_stages(root), sort_keys=False, width=100)


def render_params(values: dict) -> str:
    import yaml

    return PARAMS_HEADER + yaml.safe_dump(values, sort_keys=False)


def main() -> int:
    root = Path.cwd()
    (root / "dvc.yaml").write_text(render_dvc_yaml(root), encoding="utf-8")
    (root / "params.yaml").write_text(render_params(default_parameters(root)), encoding="utf-8")
    print("wrote dvc.yaml and params.yaml (defaults)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
