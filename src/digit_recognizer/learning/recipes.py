"""How each model trains: its builder (a function of `models`) and its recipe per profile.

The models of the pipeline (`MODELS`), the controlled experiments (`EXPERIMENTS`, one change a
step) and the k-fold ensembles (`ENSEMBLES`). The stage manifest (`pipeline.stages`) says which
stage trains which model; this module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning.recipe import Recipe, differences

# quick: minutes on a laptop's CPU; full: the CPU recipe the benchmark measures (bench/);
# gpu: longer training and more ensemble members, for a GPU.
PROFILES = ("quick", "full", "gpu")


@dataclass(frozen=True)
class Model:
    name: str  # names its artifacts: models/<name>.keras, metrics/<name>.json, ...
    title: str
    builder: str  # a function of digit_recognizer.learning.models
    recipes: dict[str, Recipe]  # by profile
    reference: str = ""  # what the reference write-ups report for this model
    # "auto": bfloat16 arithmetic where the hardware has it (`precision`); the reference models
    # stay float32, as the write-ups trained them.
    precision: str = "float32"


_REFERENCE = {"quick": Recipe(2), "full": Recipe(10), "gpu": Recipe(10)}
_BATCHNORM = dict(learning_rate=3e-3, schedule="cosine", jit_compile=False)
_AUGMENTED = dict(_BATCHNORM, label_smoothing=0.1, augment=True)
# On a GPU a step of these small networks costs about the same for 128 or 256 images: bigger
# batches (with a higher peak learning rate) halve the time of an epoch.
_GPU = dict(batch_size=256, learning_rate=4e-3)

MODELS = {m.name: m for m in (
    Model("dense", "dense 784-400-10", "dense", _REFERENCE, "96% (validation)"),
    Model("simple_cnn", "simple CNN", "simple_cnn", _REFERENCE, "97.24%"),
    Model("double_cnn", "double-convolution CNN", "double_cnn", _REFERENCE, "98.64%"),
    Model("batchnorm", "batch norm + cosine schedule", "batchnorm_cnn",
          {"quick": Recipe(6, **_BATCHNORM), "full": Recipe(12, **_BATCHNORM),
           "gpu": Recipe(30, **{**_BATCHNORM, **_GPU})},
          precision="auto"),
    Model("augmentation", "+ augmentation, label smoothing", "batchnorm_cnn",
          {"quick": Recipe(4, **_AUGMENTED), "full": Recipe(18, **_AUGMENTED),
           "gpu": Recipe(30, **{**_AUGMENTED, **_GPU})},
          "99%+ after 30 epochs", precision="auto"),
)}


@dataclass(frozen=True)
class Budget:
    """What every run of the controlled experiments (10_experiments) gets under a profile."""

    epochs: int
    seeds: int = 3
    train_rows: int | None = None  # None: the whole training split
    batch_size: int = 128


@dataclass(frozen=True)
class Step:
    """One controlled experiment: a model that differs from the step before in one thing."""

    model: Model
    change: str  # that one thing, in words


# One budget for every step, so that a step's difference from the one before is its change's
# alone. quick: a smoke test of the chain, as cheap as can be: one seed, and no verdict (one
# epoch of a few thousand rows says nothing about a change's worth at the full budget; it once
# gave augmentation +18 points where the full run measures -0.12). Batch norm's running
# statistics need some 50 steps before the network predicts well (after 32 steps of 128 rows it
# read every digit as one class), so quick takes 56 steps of 64 rows.
EXPERIMENT_BUDGETS = {"quick": Budget(1, seeds=1, train_rows=3_584, batch_size=64),
                      "full": Budget(4), "gpu": Budget(15)}


def _experiment_steps() -> dict[str, Step]:
    chain = (
        ("exp_plain", "compact_cnn", {"jit_compile": "auto"},
         "the start: the compact CNN of 05 without batch norm, Adam at a constant 0.001"),
        ("exp_batch_norm", "batchnorm_cnn", {"jit_compile": False},
         "batch normalisation after every convolution"),
        ("exp_schedule", "batchnorm_cnn", {"learning_rate": 3e-3, "schedule": "cosine"},
         "the learning-rate schedule: a warm-up to 0.003, then a cosine decay to zero"),
        ("exp_label_smoothing", "batchnorm_cnn", {"label_smoothing": 0.1},
         "label smoothing of 0.1"),
        ("exp_augmentation", "batchnorm_cnn", {"augment": True},
         "augmentation: random rotations, zooms and shifts of the training digits"),
    )
    steps, settings = {}, {}
    for name, builder, change, why in chain:
        settings = {**settings, **change}
        recipes = {p: Recipe(b.epochs, b.batch_size, **settings)
                   for p, b in EXPERIMENT_BUDGETS.items()}
        steps[name] = Step(Model(name, why, builder, recipes, precision="auto"), why)
    return steps


EXPERIMENTS = _experiment_steps()


@dataclass(frozen=True)
class KFoldEnsemble:
    """One recipe trained K times, each time on every labelled row but one fold, averaged:
    each member an independent job."""

    name: str
    model: dict[str, str]  # by profile
    folds: dict[str, int]  # by profile


ENSEMBLES = {e.name: e for e in (
    KFoldEnsemble("kfold_ensemble",
                  {"quick": "dense", "full": "augmentation", "gpu": "augmentation"},
                  {"quick": 3, "full": 5, "gpu": 10}),
)}


def kfold_ensemble(name: str, profile: str, folds: int = 0) -> tuple[str, int]:
    """The model and the number of folds of an ensemble under `profile` (`folds` overrides)."""
    recipe(ENSEMBLES[name].model[profile], profile)  # an unknown profile fails here
    if folds < 0 or folds == 1:
        raise DigitRecognizerError(f"folds must be 0 (the profile's) or at least 2, got {folds}")
    return ENSEMBLES[name].model[profile], folds or ENSEMBLES[name].folds[profile]


def model(name: str) -> Model:
    """A model of the stages (`MODELS`) or of the controlled experiments (`EXPERIMENTS`)."""
    if name in MODELS:
        return MODELS[name]
    if name in EXPERIMENTS:
        return EXPERIMENTS[name].model
    raise DigitRecognizerError(f"unknown model {name!r}: choose one of "
                               + ", ".join([*MODELS, *EXPERIMENTS]))


def recipe(model_name: str, profile: str, epochs: int | None = None) -> Recipe:
    """The recipe of a model under `profile`; `epochs` overrides the profile's count."""
    if profile not in PROFILES:
        raise DigitRecognizerError(f"unknown profile {profile!r}: choose one of "
                                   + ", ".join(PROFILES))
    chosen = model(model_name).recipes[profile]
    return replace(chosen, epochs=epochs) if epochs else chosen


def changes(before: str, after: str, profile: str, epochs: int | None = None) -> list[str]:
    """Every difference between two models' training (architecture and recipe)."""
    def spec(name: str) -> dict:
        return {"builder": model(name).builder, "precision": model(name).precision,
                "recipe": asdict(recipe(name, profile, epochs))}

    return differences(spec(before), spec(after))
