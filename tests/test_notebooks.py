"""Notebooks are committed clean, parameterised for papermill, and linted like code."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from digit_recognizer.pipeline import stages

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]
# The notebooks that show trained networks (they load them with Keras).
TRAINING = {name for name, stage in stages.STAGES.items() if stage.models and stage.notebook}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_is_clean_and_parameterised(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", []), "first code cell: parameters"
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, "strip outputs"
    assert notebook["metadata"]["kernelspec"]["name"] == "digit-recognizer"
    assert notebook["cells"][0]["cell_type"] == "markdown", "start with a title and the why"
    markdown = sum(c["cell_type"] == "markdown" for c in notebook["cells"])
    assert markdown >= len(code) // 3, "narrative between the steps"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_only_notebooks_that_show_networks_import_tensorflow(path):
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                      if c["cell_type"] == "code")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    heavy = [line for line in imports
             if re.search(r"\b(tensorflow|keras|models|train|ensemble_tta)\b", line)]
    if path.stem not in TRAINING | {"09_own_handwriting"}:
        assert not heavy, f"{path.name} shows no network, so it must not import TensorFlow"


def test_notebooks_pass_ruff():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "notebooks", "src", "tests"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_names_its_inputs_and_what_comes_next(path):
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"])
    [inputs] = [p for p in title.split("\n\n") if p.startswith("**Inputs:**")]
    stage = stages.stage(path.stem)
    for upstream in stages.upstream(path.stem):
        assert f"`{upstream}`" in inputs, f"Inputs: must name the stage {upstream}"
    for reference in stage.references.values():
        assert reference in inputs
    last = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown" and last.startswith("**Next:**")
    named = re.findall(r"`(\d\d_\w+)`", last)
    assert set(named) <= set(NAMES), named
    assert named or path.stem == NAMES[-1], "Next: names the notebook that follows"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_a_run_by_hand_writes_elsewhere_than_the_pipeline(path):
    """Every notebook writes through `written` (layout.notebook_outputs), never `outputs`,
    whose files are the pipeline's."""
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                       if c["cell_type"] == "code")
    writes = re.findall(r"outputs\.figures?\(|(?:save_\w+|write_\w+)\(outputs\.\w+|"
                        r"copy\([^,]+, outputs\.\w+|outputs\.\w+\.mkdir|combine\([^)]*\)", source)
    assert all("writes=written" in w for w in writes), f"writes into the pipeline's: {writes}"
    if "written" in source:
        assert f'layout.notebook_outputs(output_dir, write_dir, "{path.stem}")' in source
