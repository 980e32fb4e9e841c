"""One ensemble member (or experiment run) as an independent job: a plain description in,
its model, probabilities and metrics out. `executors.run_members` runs a list of them, here or
on a Ray cluster; the same member gives the same probabilities wherever it runs (on the CPU).
"""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digit_recognizer import fileio, stages, train
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.preprocess import Split


@dataclass(frozen=True)
class Member:
    """What to train: a model of the registry (`stages.MODELS`), a seed and a profile."""

    name: str
    stage: str
    seed: int
    profile: str = "quick"
    epochs: int | None = None  # None: the profile's count

    def __post_init__(self):
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise DigitRecognizerError(f"member name {self.name!r}: use a plain file name")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise DigitRecognizerError(f"member {self.name}: seed must be an integer >= 0")
        stages.recipe(self.stage, self.profile, self.epochs)  # unknown model or profile: fail now


def make_members(models: list[str] | str, seeds: list[int] | range, profile: str = "quick",
                 epochs: int | None = None) -> list[Member]:
    """Every model with every seed, named `MODEL_seedN`: an ensemble or a spread experiment."""
    models = [models] if isinstance(models, str) else list(models)
    return [Member(f"{model}_seed{seed}", model, seed, profile, epochs)
            for model in models for seed in seeds]


@dataclass
class MemberResult:
    """A trained member: probabilities, metrics, and the saved `.keras` model as bytes."""

    member: Member
    val_probs: np.ndarray
    test_probs: np.ndarray
    metrics: dict
    model_bytes: bytes
    where: str  # host:pid that trained it

    def load_model(self):
        import keras

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{self.member.name}.keras"
            path.write_bytes(self.model_bytes)
            return keras.saving.load_model(path)

    def save(self, folder: str | os.PathLike) -> dict[str, Path]:
        """Write NAME.keras, NAME.npz (val, test) and NAME.json into `folder`, each atomically."""
        folder = Path(folder)
        name = self.member.name
        paths = {"model": folder / f"{name}.keras", "probabilities": folder / f"{name}.npz",
                 "metrics": folder / f"{name}.json"}
        with fileio.atomic_path(paths["model"], suffix=".keras") as tmp:
            tmp.write_bytes(self.model_bytes)
        with fileio.atomic_path(paths["probabilities"], suffix=".npz") as tmp:
            np.savez(tmp, val=self.val_probs, test=self.test_probs)
        fileio.write_json(paths["metrics"], self.metrics)
        return paths


def train_member(member: Member, split: Split | str | os.PathLike,
                 verbose: int = 0) -> MemberResult:
    """Train one member on `split` (a Split, or the path of a saved one) and score it."""
    from digit_recognizer import evaluate, models, preprocess

    if not isinstance(split, Split):
        split = preprocess.load_split(split)
    model = models.build(member.stage, member.seed)
    augmenter = None
    if stages.recipe(member.stage, member.profile).augment:
        from digit_recognizer import augment

        augmenter = augment.augmenter()
    result = train.fit(model, split, member.stage, member.profile, member.seed, member.epochs,
                       verbose=verbose, augmenter=augmenter)
    val_probs, _ = evaluate.predict(model, split.x_val)
    test_probs, images_per_second = evaluate.predict(model, split.x_test)
    val_pred = val_probs.argmax(axis=1)
    metrics = {
        **asdict(member),
        "val_accuracy": float(np.mean(val_pred == split.val_labels)),
        "val_errors": int(np.sum(val_pred != split.val_labels)),
        "local_score": None if split.answer_key is None
        else float(np.mean(test_probs.argmax(axis=1) == split.answer_key)),
        "train_seconds": round(result.seconds, 1),
        "epochs": result.epochs,
        "parameters": int(model.count_params()),
        "test_images_per_second": round(images_per_second),
        "history": result.history,
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{member.name}.keras"
        model.save(path)
        model_bytes = path.read_bytes()
    return MemberResult(member, val_probs, test_probs, metrics, model_bytes,
                        f"{socket.gethostname()}:{os.getpid()}")


def average(results: list[MemberResult]) -> tuple[np.ndarray, np.ndarray]:
    """The ensemble of `results`: their mean validation and test probabilities."""
    return (np.mean([r.val_probs for r in results], axis=0),
            np.mean([r.test_probs for r in results], axis=0))


def save_average(name: str, results: list[MemberResult], split: Split, outputs: Outputs) -> dict:
    """Score the members' average as the candidate `name`; save its metrics and probabilities."""
    from digit_recognizer import ensemble

    return ensemble.save_average(
        name, [r.member.name for r in results], [r.val_probs for r in results],
        [r.test_probs for r in results], [r.metrics for r in results], split,
        outputs.stage_submission(name), outputs.probabilities(name), outputs.metrics(name))
