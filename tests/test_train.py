"""Training runs unchanged on Keras' TensorFlow and JAX backends, and repeats itself exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# Trains the batch-norm CNN with augmentation twice from one seed on a few random images and
# prints what the test compares. Run in a fresh interpreter: the backend is fixed at import.
SCRIPT = """
import json, sys
import numpy as np
import keras
from digit_recognizer.datasets import preprocess
from digit_recognizer.learning import augment, models, recipes, train

rng = np.random.default_rng(0)
x = rng.random((160, 28, 28, 1), dtype=np.float32)
labels = rng.integers(0, 10, 160)
y = preprocess.one_hot(labels)
split = preprocess.Split(x[:128], y[:128], x[128:], y[128:], x[128:], None)
runs = []
for _ in range(2):
    model = models.of("augmentation", seed=3)
    result = train.fit(model, split, recipes.recipe("augmentation", "quick", 2), seed=3,
                       augmenter=augment.augmenter())
    probs = model.predict(split.x_val, verbose=0)
    runs.append({"probs": probs.tolist(), "loss": result.history["loss"],
                 "dtype": str(probs.dtype)})
feeder = type(train.dataset(split.x_train, split.y_train, 32, 0)).__name__
print(json.dumps({"backend": keras.backend.backend(), "feeder": feeder, "runs": runs}))
"""


def train_twice(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend, feeder", [("tensorflow", "_PrefetchDataset"),
                                             ("jax", "ShuffledBatches")])
def test_training_is_deterministic_on_each_backend(backend, feeder):
    if backend == "jax" and os.environ.get("CI") != "true":
        pytest.importorskip("jax")  # ./run_all.sh test installs it; a bare pytest may not
    out = train_twice(backend)
    assert out["backend"] == backend
    assert out["feeder"] == feeder
    first, second = out["runs"]
    assert first["dtype"] == "float32"
    assert len(first["probs"]) == 32 and len(first["loss"]) == 2
    assert first["probs"] == second["probs"] and first["loss"] == second["loss"]


def test_augmented_batches_keep_every_image_its_own():
    """Keras 3.15's `RandomElasticTransform`, mapped over a tf.data pipeline (where the batch
    size is unknown), returns the first image's distortion for every image of the batch, each
    under its own label (found 2026-11-30). The augmenter this project trains with must not:
    each augmented image overlaps its own original, and the others hardly (interpolation may
    bleed a pixel's fraction into a neighbour's corner)."""
    import numpy as np

    from digit_recognizer.learning import augment, train

    x = np.zeros((4, 28, 28, 1), np.float32)
    for i, (row, column) in enumerate([(4, 4), (4, 16), (16, 4), (16, 16)]):
        x[i, row:row + 8, column:column + 8] = 1.0  # a square in a different corner each
    y = np.eye(10, dtype=np.float32)[:4]
    batches = train.dataset(x, y, 4, 0, augment.augmenter())
    for _ in range(5):  # five draws of the augmentation
        images, labels = next(iter(batches))
        for image, label in zip(np.asarray(images), np.asarray(labels), strict=True):
            overlaps = (x[..., 0] * image[..., 0]).sum(axis=(1, 2))
            assert overlaps.argmax() == label.argmax()
            assert np.sort(overlaps)[-2] < 0.1 * overlaps.max()
