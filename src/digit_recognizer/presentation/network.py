"""A network on the page: the code of its builder in `learning.models`, as the training stage ran
it, so a reader sees every layer, activation, padding and dropout where the model is shown.

The code is read from the module's source file, not imported: showing a network imports no
deep-learning library.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from IPython.display import Markdown

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


def network_text(builder: str, parameters: int | None = None, model: str = "") -> str:
    """The builder's code with a sentence on what the code leaves to Keras's defaults."""
    code = builder_code(builder)
    weights = f", {parameters:,} weights" if parameters else ""
    name = f"`{model}`: " if model else ""
    padding = (" A `Conv2D` without `padding` uses Keras's default, `\"valid\"`: no padding, so "
               "each 3x3 convolution trims a pixel from every border." if "Conv2D(" in code else "")
    return (f"**The network** ({name}`models.{builder}`{weights}), the code its training stage "
            f"built it with.{padding}\n\n```python\n{code}\n```")


def show(builder: str, parameters: int | None = None, model: str = "") -> Markdown:
    return Markdown(network_text(builder, parameters, model))


def of(metrics: dict) -> Markdown:
    """The network of a trained model, from its metrics (builder, weights, name)."""
    return show(metrics["builder"], metrics.get("parameters"), metrics.get("model", ""))
