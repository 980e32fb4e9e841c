"""Which number format a model computes in: bfloat16 where the hardware does it fast.

Mixed bfloat16 (float32 weights, bfloat16 arithmetic) trains a CNN to the same accuracy in
less time on CPUs with AMX or AVX-512 BF16 units and on GPUs from NVIDIA's Ampere on (compute
capability 8.0); elsewhere it is emulated and slower than float32, so "auto" keeps float32.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import keras

from digit_recognizer.errors import DigitRecognizerError

PRECISIONS = ("float32", "mixed_bfloat16", "auto")


def policy(precision: str = "auto") -> str:
    """The Keras dtype policy for a model whose precision is `precision`."""
    if precision not in PRECISIONS:
        raise DigitRecognizerError(
            f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if fast_bfloat16() else "float32"


@functools.cache
def fast_bfloat16() -> bool:
    """Whether the device Keras trains on has bfloat16 units."""
    capability = gpu_capability()
    if capability is not None:
        return capability >= (8, 0)
    # XLA's CPU code (JAX) does not use the AMX units as oneDNN (TensorFlow) does.
    return keras.backend.backend() == "tensorflow" and cpu_has_bfloat16()


def cpu_has_bfloat16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    try:
        flags = Path(cpuinfo).read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def gpu_capability() -> tuple[int, int] | None:
    """The first GPU's compute capability under the current backend; None without a GPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus and hasattr(gpus[0], "compute_capability"):
            return tuple(int(v) for v in str(gpus[0].compute_capability).split("."))[:2]
        return None
    if backend == "torch":
        import torch

        return torch.cuda.get_device_capability(0) if torch.cuda.is_available() else None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get(
                "compute_capability", (0, 0))
    return None


def device() -> str:
    """What Keras computes on, in words: "GPU (NVIDIA H100 ...)" or "CPU"."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return f"{d.platform.upper()} ({d.device_kind})"
    if backend == "torch":
        import torch

        return f"GPU ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "CPU"
    if gpu_capability() is not None:
        import tensorflow as tf

        gpu = tf.config.list_physical_devices("GPU")[0]
        return f"GPU ({tf.config.experimental.get_device_details(gpu).get('device_name', '')})"
    return "CPU"
