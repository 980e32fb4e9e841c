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


def imported_modules(path: Path) -> set[str]:
    """The package's modules that `path` imports, at its top or inside a function (not for
    type checkers alone: `if TYPE_CHECKING:`)."""
    found, tree = set(), ast.parse(path.read_text(encoding="utf-8"))
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING":
            block.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                node.module.startswith("digit_recognizer"):
            for alias in node.names:  # `from pkg import module` names a module
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULE_NAMES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("digit_recognizer."))
    return found & MODULE_NAMES


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULE_NAMES = {module_name(p) for p in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle of imports, found by a depth-first walk (one path per cycle found)."""
    found, state = [], {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    return found


def test_no_module_imports_one_that_imports_it_back():
    """No import cycle, counting the imports inside functions (the lazy ones)."""
    graph = {module_name(p): imported_modules(p) - {module_name(p)} for p in MODULES}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_pipelines_modules_each_fit_in_300_lines():
    """One job per module: a module of the runner that outgrows this has taken on another."""
    long = {p.name: n for p in (PACKAGE / "pipeline").glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert long == {}
