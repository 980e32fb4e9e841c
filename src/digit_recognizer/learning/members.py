"""One ensemble member (or experiment run) as an independent job: a plain description in,
its model, probabilities and metrics out. `executors.run_members` runs a list of them, here or
on a Ray cluster; the same member gives the same probabilities wherever it runs (on the CPU).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from digit_recognizer import fileio
from digit_recognizer.datasets.preprocess import Split
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import train
from digit_recognizer.learning.recipe import Recipe


@dataclass(frozen=True)
class Member:
    """What to train: a network (`builder`, a function of `models`, in `precision`), its recipe
    and a seed. `model` names what it is an instance of (`of_models` makes them)."""

    name: str
    model: str
    seed: int
    recipe: Recipe
    builder: str
    precision: str = "float32"
    train_rows: int | None = None  # None: the whole training split, else its first N rows
    tta: bool = True  # also predict with test-time augmentation (5 passes more)
    # A k-fold member: it trains on every labelled row (training and validation) but those of
    # fold `fold` of `folds` (`preprocess.fold_split`, seeded by `fold_seed`), and validates
    # on those. folds = 0: the split as it is.
    folds: int = 0
    fold: int = 0
    fold_seed: int = 0
    # The network as a saved model's architecture (`model.to_json()`: what a notebook built);
    # "": the function `builder` of `models`. Likewise the augmentation's layers ("": the
    # helper's `augment.augmenter()`).
    network: str = ""
    augmenter: str = ""

    def __post_init__(self):
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise DigitRecognizerError(f"member name {self.name!r}: use a plain file name")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise DigitRecognizerError(f"member {self.name}: seed must be an integer >= 0")
        if self.train_rows is not None and self.train_rows < 1:
            raise DigitRecognizerError(f"member {self.name}: train_rows must be >= 1")
        if self.folds and not (self.folds >= 2 and 0 <= self.fold < self.folds):
            raise DigitRecognizerError(f"member {self.name}: fold {self.fold} of {self.folds}: "
                                       "need at least 2 folds, and a fold between 0 and folds-1")

    def spec(self) -> dict:
        """Everything but the name and seed, as plain values (a stage's parameters)."""
        return {"model": self.model, "builder": self.builder, "precision": self.precision,
                **asdict(self.recipe), "train_rows": self.train_rows, "tta": self.tta,
                **({"folds": self.folds, "fold": self.fold, "fold_seed": self.fold_seed}
                   if self.folds else {}),
                **({"network": self.network} if self.network else {}),
                **({"augmenter": self.augmenter} if self.augmenter else {})}

    @classmethod
    def from_spec(cls, name: str, seed: int, spec: dict) -> Member:
        spec = dict(spec)
        recipe = Recipe(**{f: spec.pop(f) for f in Recipe.__dataclass_fields__ if f in spec})
        return cls(name, spec.pop("model"), seed, recipe, **spec)


@dataclass
class MemberResult:
    """A trained member: probabilities, metrics, and the saved `.keras` model as bytes."""

    member: Member
    val_probs: np.ndarray
    test_probs: np.ndarray
    metrics: dict
    model_bytes: bytes
    where: str  # host:pid that trained it
    # The same with test-time augmentation (`evaluate.predict_tta`).
    val_tta: np.ndarray | None = None
    test_tta: np.ndarray | None = None
    loaded: bool = False  # from a memo (`executors.run_members`), not trained in this run

    def probabilities(self, tta: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Validation and test probabilities, plain or with TTA."""
        return (self.val_tta, self.test_tta) if tta else (self.val_probs, self.test_probs)

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
        tta = {} if self.val_tta is None else {"val_tta": self.val_tta, "test_tta": self.test_tta}
        with fileio.atomic_path(paths["probabilities"], suffix=".npz") as tmp:
            np.savez(tmp, val=self.val_probs, test=self.test_probs, **tta)
        fileio.write_json(paths["metrics"], self.metrics)
        return paths


def load_result(folder: str | os.PathLike, name: str) -> MemberResult:
    """A member's result as `MemberResult.save` left it in `folder`."""
    folder = Path(folder)
    metrics = fileio.read_json(folder / f"{name}.json")
    member = Member(name, metrics["model"], metrics["seed"], Recipe(**metrics["recipe"]),
                    metrics["builder"], metrics["precision"], metrics["train_rows"],
                    metrics["tta"], **metrics.get("fold", {}),
                    network=metrics.get("network", ""), augmenter=metrics.get("augmenter", ""))
    probs = np.load(folder / f"{name}.npz")
    tta = "val_tta" in probs
    return MemberResult(member, probs["val"], probs["test"], metrics,
                        (folder / f"{name}.keras").read_bytes(), "",
                        probs["val_tta"] if tta else None, probs["test_tta"] if tta else None)


RUNS = "runs.json"  # the names of a folder's members, in their order


def save_runs(folder: str | os.PathLike, results: list[MemberResult]) -> None:
    fileio.write_json(Path(folder) / RUNS, [r.member.name for r in results])


def load_results(folder: str | os.PathLike) -> list[MemberResult]:
    """Every member that a notebook left in `folder` (`save_runs`), in its order."""
    return [load_result(folder, name) for name in fileio.read_json(Path(folder) / RUNS)]


def train_member(member: Member, split: Split | str | os.PathLike, verbose: int = 0,
                 callbacks: list | None = None) -> MemberResult:
    """Train one member on `split` (a Split, or the path of a saved one) and score it."""
    from digit_recognizer.datasets import preprocess
    from digit_recognizer.learning import evaluate, models

    if not isinstance(split, Split):
        split = preprocess.load_split(split)
    if member.folds:
        split = preprocess.fold_split(split, member.folds, member.fold, member.fold_seed)
    if member.train_rows is not None:
        split = replace(split, x_train=split.x_train[:member.train_rows],
                        y_train=split.y_train[:member.train_rows])
    if member.network:
        model = train.from_json(member.network, member.seed, member.model)
    else:
        model = models.build(member.builder, member.seed, member.precision, member.model)
    augmenter = None
    if member.recipe.augment and member.augmenter:
        import keras

        augmenter = keras.models.model_from_json(member.augmenter)
    elif member.recipe.augment:
        from digit_recognizer.learning import augment

        augmenter = augment.augmenter()
    result = train.fit(model, split, member.recipe, member.seed, verbose, augmenter, callbacks)
    trained_at = time.strftime("%Y-%m-%d %H:%M %Z")
    val_probs, _ = evaluate.predict(model, split.x_val)
    test_probs, images_per_second = evaluate.predict(model, split.x_test)
    val_tta = evaluate.predict_tta(model, split.x_val) if member.tta else None
    test_tta = evaluate.predict_tta(model, split.x_test) if member.tta else None
    val_pred = val_probs.argmax(axis=1)
    metrics = {
        "name": member.name, "model": member.model, "seed": member.seed,
        "builder": member.builder, "precision": model.dtype_policy.name,
        "recipe": asdict(member.recipe),
        "train_rows": member.train_rows, "tta": member.tta,
        "fold": {"folds": member.folds, "fold": member.fold, "fold_seed": member.fold_seed}
        if member.folds else {},
        **({"network": member.network} if member.network else {}),
        **({"augmenter": member.augmenter} if member.augmenter else {}),
        "layers": [type(layer).__name__ for layer in model.layers],
        "val_accuracy": float(np.mean(val_pred == split.val_labels)),
        "val_errors": int(np.sum(val_pred != split.val_labels)),
        "val_accuracy_tta": None if val_tta is None else accuracy(val_tta, split.val_labels),
        "local_score": None if split.answer_key is None
        else accuracy(test_probs, split.answer_key),
        "train_seconds": round(result.seconds, 1),
        "trained_at": trained_at,
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
                        f"{socket.gethostname()}:{os.getpid()}", val_tta, test_tta)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """The share of rows whose most probable digit is the label."""
    return float(np.mean(probs.argmax(axis=1) == labels))


def average(results: list[MemberResult], tta: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ensemble of `results`: their mean validation and test probabilities."""
    val, test = zip(*[r.probabilities(tta) for r in results], strict=True)
    return np.mean(val, axis=0), np.mean(test, axis=0)


def of_models(models: list[str] | str, seeds: list[int] | range, profile: str,
              epochs: int | None = None, **options) -> list[Member]:
    """Every model of the catalogue (`recipes`) with every seed, named `MODEL_seedN`, with the
    profile's recipe: an ensemble or a spread experiment. `options` are further `Member`
    fields (`train_rows`, `tta`)."""
    from digit_recognizer.learning import recipes

    models = [models] if isinstance(models, str) else list(models)
    return [Member(f"{name}_seed{seed}", name, seed, recipes.recipe(name, profile, epochs),
                   recipes.model(name).builder, recipes.model(name).precision, **options)
            for name in models for seed in seeds]


def fold_members(model_name: str, folds: int, seed: int, profile: str,
                 epochs: int | None = None) -> list[Member]:
    """A k-fold ensemble's members of a catalogue model, `MODEL_foldI`: fold I is held out of
    member I's training; the folds are seeded by `seed`, member I by `seed + 1 + I`. (The
    notebooks use `ensemble.fold_members`, of a model they trained.)"""
    return [replace(member, name=f"{model_name}_fold{i}", folds=folds, fold=i, fold_seed=seed)
            for i, member in enumerate(of_models(model_name, range(seed + 1, seed + 1 + folds),
                                                 profile, epochs))]
