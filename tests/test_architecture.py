"""The package's parts and what each may import, as their docstrings say."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(importlib.util.find_spec("digit_recognizer").origin).parent
SHARED = {"errors", "fileio", "layout", "leaderboard"}
# What each part may import of the package besides itself.
ALLOWED = {
    "shared": {"errors", "fileio"},
    "datasets": {"errors", "fileio"},
    "learning": {"errors", "fileio", "datasets"},
    "presentation": SHARED | {"datasets", "learning"},
    "kaggle": {"errors", "fileio", "datasets"},
    "reading": {"errors", "fileio"},
    "reading_checks": SHARED | {"datasets", "reading", "presentation"},
    "demo": {"errors", "fileio", "reading"},
    "pipeline": None,  # the pipeline and the command line put the parts together
    "cli": None,
}


def part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if relative.stem == "cli" or relative.stem.endswith("_cli"):
        return "cli"  # a command puts parts together, wherever it lives
    return relative.parts[0] if len(relative.parts) > 1 else "shared"


def imported_parts(path: Path) -> set[str]:
    """The package's parts (a subpackage, or a shared module) that `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "digit_recognizer":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("digit_recognizer."):
                names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names
                     if a.name.startswith("digit_recognizer.")]
        found.update(names)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_part_has_a_docstring_that_says_what_it_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "May import" in doc, init


def test_every_module_belongs_to_a_known_part():
    assert {part(p) for p in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_rules(path):
    allowed = ALLOWED[part(path)]
    if allowed is None:
        return
    own = {path.stem} if part(path) == "shared" else {path.relative_to(PACKAGE).parts[0]}
    assert imported_parts(path) - own - allowed == set()


def test_the_rules_catch_a_forbidden_import(tmp_path):
    """The check reads real imports: learning importing the pipeline's layout is found."""
    module = tmp_path / "bad.py"
    module.write_text("from digit_recognizer.layout import Outputs\n"
                      "def f():\n    from digit_recognizer import plots\n")
    assert imported_parts(module) - ALLOWED["learning"] == {"layout", "plots"}
