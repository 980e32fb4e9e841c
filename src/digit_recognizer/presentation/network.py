"""A network on the page: the code of its builder in `learning.models`, as the training stage ran
it, so a reader sees every layer, activation, padding and dropout where the model is shown.

The code is read from the module's source file, not imported: showing a network imports no
deep-learning library.
"""

from __future__ import annotations

from IPython.display import Markdown

from digit_recognizer.learning.architecture import builder_code


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
