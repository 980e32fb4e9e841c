"""The number format a model computes in: bfloat16 only where the hardware has it."""

from __future__ import annotations

import pytest

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import models, precision


def test_cpu_flags_decide_bfloat16(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("flags\t\t: fpu sse2 avx512f amx_bf16 amx_tile\n")
    without = tmp_path / "plain"
    without.write_text("flags\t\t: fpu sse2 avx2\n")
    assert precision.cpu_has_bfloat16(with_amx)
    assert not precision.cpu_has_bfloat16(without)
    assert not precision.cpu_has_bfloat16(tmp_path / "missing")


def test_policies(monkeypatch):
    assert precision.policy("float32") == "float32"
    assert precision.policy("mixed_bfloat16") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "fast_bfloat16", lambda: False)
    assert precision.policy("auto") == "float32"
    monkeypatch.setattr(precision, "fast_bfloat16", lambda: True)
    assert precision.policy("auto") == "mixed_bfloat16"
    with pytest.raises(DigitRecognizerError, match="precision 'half'"):
        precision.policy("half")


def test_a_mixed_model_keeps_float32_weights_and_outputs(monkeypatch):
    import keras
    import numpy as np

    monkeypatch.setattr(precision, "fast_bfloat16", lambda: True)
    model = models.of("batchnorm", seed=0)
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    probs = model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
    # The reference models stay float32, and building leaves the global policy alone.
    assert models.of("dense", seed=0).layers[0].dtype_policy.name == "float32"
    assert keras.config.dtype_policy().name == "float32"
