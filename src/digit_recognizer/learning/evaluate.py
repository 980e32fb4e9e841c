"""Score a trained model and leave its artifacts: metrics, probabilities, model, submission.

Paths come from the caller (`layout.Outputs` or any object with the same methods); scoring
draws nothing: the figures are `presentation.plots.model_figures`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from digit_recognizer import fileio
from digit_recognizer.datasets import submit
from digit_recognizer.datasets.preprocess import Split
from digit_recognizer.errors import DigitRecognizerError


def predict(model, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Class probabilities and the images per second it took to compute them."""
    start = time.perf_counter()
    probs = model.predict(x, batch_size=1024, verbose=0)
    return probs, len(x) / max(time.perf_counter() - start, 1e-9)


SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images (n, 28, 28, 1) moved `dy` pixels down and `dx` right, the edge filled with zeros:
    what `ensemble.averaging_model` does with Keras layers (MNIST's borders are empty)."""
    height, width = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return padded[:, 1 - dy:1 - dy + height, 1 - dx:1 - dx + width]


def predict_tta(model, x: np.ndarray) -> np.ndarray:
    """Test-time augmentation: the mean probabilities of the images and their four one-pixel
    shifts."""
    return np.mean([predict(model, shifted(x, *s))[0] for s in SHIFTS], axis=0)


def save_model(model, path) -> None:
    with fileio.atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def score_and_submit(name: str, val_probs: np.ndarray, test_probs: np.ndarray, split: Split,
                     submission_path: Path) -> dict:
    """Validation accuracy, local score (with an answer key), and the model's own submission."""
    val_pred, test_pred = val_probs.argmax(axis=1), test_probs.argmax(axis=1)
    submission = submit.write_submission(submission_path, test_pred)
    return {
        "model": name,
        "val_accuracy": float(np.mean(val_pred == split.val_labels)),
        "val_errors": int(np.sum(val_pred != split.val_labels)),
        "local_score": None if split.answer_key is None
        else float(np.mean(test_pred == split.answer_key)),
        "submission": str(submission),
    }


def recipe_of(model, batch_size: int, epochs: int, augmented: bool) -> dict:
    """How a compiled model was trained, read from the model itself (its optimizer, schedule
    and loss), as a `Recipe`'s fields: what the metrics record, whatever the code on the page
    said."""
    from dataclasses import asdict

    from digit_recognizer.learning.recipe import Recipe

    config = model.get_compile_config() or {}
    rate = config.get("optimizer", {}).get("config", {}).get("learning_rate")
    schedule = "constant"
    if isinstance(rate, dict):  # a schedule: a warm-up to its target, then its decay
        settings = rate.get("config", {})
        schedule = {"CosineDecay": "cosine"}.get(rate.get("class_name"), rate.get("class_name"))
        rate = settings.get("warmup_target") or settings.get("initial_learning_rate")
    return asdict(Recipe(
        epochs=epochs, batch_size=batch_size, learning_rate=float(f"{float(rate):.6g}"),
        schedule=schedule,
        label_smoothing=float(getattr(model.loss, "label_smoothing", 0.0) or 0.0),
        augment=augmented, jit_compile=model.jit_compile,
        optimizer=type(model.optimizer).__name__))


def keep(model, training, split: Split, outputs) -> Trained:
    """Leave a model that a notebook trained (`memo.fit`) for the stages after it: its `.keras`
    file (the memo's, byte for byte), probabilities, submission, metrics and its history per
    epoch (for `dvc plots`); the same as `load_trained` gives back."""
    name = model.name
    val_probs, _ = predict(model, split.x_val)
    test_probs, images_per_second = predict(model, split.x_test)
    metrics = score_and_submit(name, val_probs, test_probs, split, outputs.model_submission(name))
    fileio.copy(training.model_file, outputs.model(name))
    with fileio.atomic_path(outputs.probabilities(name), suffix=".npz") as tmp:
        np.savez(tmp, val=val_probs, test=test_probs)
    metrics.update(
        seed=training.seed, network=name, precision=model.dtype_policy.name,
        recipe=recipe_of(model, training.batch_size, training.epochs, bool(training.augmenter)),
        **({"augmenter": training.augmenter} if training.augmenter else {}),
        layers=[type(layer).__name__ for layer in model.layers],
        train_seconds=round(training.seconds, 1), trained_at=training.trained_at,
        epochs=training.epochs, parameters=int(model.count_params()),
        test_images_per_second=round(images_per_second), split=split.fingerprint,
        model_file=str(outputs.model(name)))
    fileio.write_json(outputs.history(name), epochs_of(training.history))
    fileio.write_json(outputs.metrics(name), metrics)
    return load_trained(name, outputs, split)


def epochs_of(history: dict[str, list[float]]) -> list[dict]:
    """Keras's history (a list per metric) as one record per epoch, numbered from 1."""
    return [{"epoch": i + 1, **{k: v[i] for k, v in history.items()}}
            for i in range(len(next(iter(history.values()), [])))]


@dataclass
class Trained:
    """What a notebook left of a model: metrics, history, probabilities, the model file."""

    metrics: dict
    epochs: list[dict]
    val_probs: np.ndarray
    test_probs: np.ndarray
    model_file: Path

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras's form: one list per metric."""
        return {k: [e[k] for e in self.epochs] for k in self.epochs[0] if k != "epoch"}

    def load_model(self):
        """The trained network, without its optimizer's state (what a reader looks at)."""
        import keras

        return keras.saving.load_model(self.model_file, compile=False)


def load_trained(name: str, outputs, split: Split | None = None) -> Trained:
    """The trained model `name` as its notebook left it (`keep`); with `split`,
    it must have been validated on that very split."""
    metrics = model_metrics(outputs, name, split)
    probs = np.load(outputs.probabilities(name))
    return Trained(metrics, fileio.read_json(outputs.history(name)), probs["val"], probs["test"],
                   outputs.model(name))


def model_metrics(outputs, name: str, split: Split | None = None) -> dict:
    """The metrics a notebook wrote for `name`; with `split`, they must come from it."""
    path = outputs.metrics(name)
    if not path.is_file():
        raise DigitRecognizerError(f"{path}: not found; run the notebook that trains {name} "
                                   "first (./run_all.sh does)")
    metrics = fileio.read_json(path)
    if split is not None and metrics.get("split") != split.fingerprint:
        raise DigitRecognizerError(
            f"{path}: computed on another validation split (other seed or data); "
            f"rerun the notebook that trains {name}")
    return metrics


def model_table(outputs, models: list[str], split: Split | None = None) -> pd.DataFrame:
    """The metrics of the given models (the inputs of this run, never whatever is on disk).

    With `split`, every model must have been validated on that very split.
    """
    return table_of([model_metrics(outputs, name, split) for name in models])


def table_of(rows: list[dict]) -> pd.DataFrame:
    columns = ["model", "val_accuracy", "val_errors", "local_score", "train_seconds", "epochs",
               "parameters", "members", "tta"]
    return pd.DataFrame(rows).reindex(columns=columns)
