"""What a network is made of, read from the source of its builder in `learning.models`
(not by building it): the code a notebook shows, and the kinds of layer it has. This module
imports no deep-learning library.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path

MODELS_MODULE = "digit_recognizer.learning.models"


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef)}


def _called(node: ast.FunctionDef, known: dict[str, ast.FunctionDef]) -> set[str]:
    return {n.func.id for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in known}


def builder_code(builder: str) -> str:
    """The source of `models.<builder>` and of every function of that module it calls, in the
    module's order."""
    source = Path(importlib.util.find_spec(MODELS_MODULE).origin).read_text(encoding="utf-8")
    functions = _functions(source)
    if builder not in functions:
        raise KeyError(f"no function {builder!r} in {MODELS_MODULE}")
    needed, todo = set(), [builder]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(_called(functions[name], functions))
    return "\n\n\n".join(ast.get_source_segment(source, node)
                         for name, node in functions.items() if name in needed)


@functools.cache
def layer_kinds(builder: str) -> frozenset[str]:
    """The kinds of Keras layer (`"Conv2D"`, `"Dropout"`, ...) that the code of `builder` uses."""
    return frozenset(re.findall(r"\blayers\.(\w+)\(", builder_code(builder)))
