"""A network on the page: its builder's code, read from the source, with what it calls."""

from __future__ import annotations

import subprocess
import sys

import pytest

from digit_recognizer.learning import architecture
from digit_recognizer.presentation import network


def test_the_builder_comes_with_every_function_of_the_module_it_calls():
    code = architecture.builder_code("compact_cnn")
    assert code.index("def _conv_bn(") < code.index("def batchnorm_cnn(") < code.index(
        "def compact_cnn(")
    assert "layers.Dropout(dropout)" in code and 'activation="relu"' in code
    assert "def dense(" not in code


def test_a_dense_network_gets_no_word_on_padding_and_a_cnn_does():
    assert "padding" not in network.network_text("dense", 318_010, "dense").split("```")[0]
    text = network.network_text("double_cnn", 225_034, "double_cnn")
    assert '`"valid"`' in text and "225,034 weights" in text and "`double_cnn`" in text


def test_showing_a_network_imports_no_deep_learning_library():
    shown = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "from digit_recognizer.presentation import network\n"
        "network.network_text('batchnorm_cnn', 141_098, 'batchnorm')\n"
        "print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))")],
        capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_an_unknown_builder_is_named():
    with pytest.raises(KeyError, match="no function 'nope'"):
        architecture.builder_code("nope")


@pytest.mark.parametrize(("builder", "kinds"), [
    ("dense", {"Flatten", "Dense"}), ("compact_cnn", {"Conv2D", "Dropout", "MaxPooling2D"})])
def test_the_kinds_of_layer_are_read_from_the_code(builder, kinds):
    assert kinds <= architecture.layer_kinds(builder)
    assert ("Conv2D" in architecture.layer_kinds(builder)) == (builder != "dense")
