"""The stage manifest: every stage of the pipeline, declared once, here.

A *stage* is one step of the DVC graph: a notebook (`notebooks/<name>.ipynb`, run by
papermill) that does its step on the page; 04-07 and 10 build and train their networks there.
What only shows a result (a plot's style, a banner's words) reruns the notebook but trains
nothing: an unchanged training is loaded from the memo (`learning.memo`).

Each stage declares what it reads and writes (paths of `layout`), its figure folders, its own
parameters with their defaults, the run-wide parameters it uses, and the models it trains;
a training notebook's epochs, batch size and learning rate come from the profile's recipe
(`learning.recipes`) as plain values. From this one table come `dvc.yaml` and `params.yaml`
(`graph`), the command line's options and the values papermill injects (`run`,
`stage_runner`). A stage's upstream stages are the writers of what it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs
from digit_recognizer.learning import recipes


@dataclass(frozen=True)
class Param:
    """A parameter with its default; `option` makes it a command-line option of its own."""

    default: object
    help: str = ""
    option: bool = False


# Run-wide parameters: a stage that uses one lists it in `shared`. A training notebook gets the
# profile and the epochs as the values they resolve to (its `training`), not as names.
SHARED = {
    "profile": Param("quick", "quick: minutes on a laptop; full: the benchmark's recipe; "
                     "gpu: longer training, for a GPU", option=True),
    "seed": Param(42, "seed for the split and training", option=True),
    "epochs": Param(0, "override every model's number of epochs (0: the profile's)",
                    option=True),
}

OUT = Outputs("outputs")  # the paths of dvc.yaml, relative to the project's root


@dataclass(frozen=True)
class Stage:
    name: str
    reads: tuple = ()  # paths of layout that earlier stages write
    writes: tuple = ()  # what it hands to later stages
    figures: tuple[str, ...] = ()  # its folders under outputs/figures/
    params: dict[str, Param] = field(default_factory=dict)  # its own, with defaults
    shared: tuple[str, ...] = ()  # the run-wide parameters it uses
    models: tuple[str, ...] = ()  # the models it trains
    candidates: tuple[str, ...] = ()  # what a choosing notebook compares (`candidates`)
    # What it trains with under the run's values (profile, epochs): plain parameters.
    training: Callable[[dict], dict] | None = None
    metrics: tuple = ()  # of `writes`: what `dvc metrics` shows
    plots: tuple = ()  # of `writes`: what `dvc plots` draws (one record per epoch)
    # Committed files it reads, by the notebook parameter that receives their path.
    references: dict[str, str] = field(default_factory=dict)

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.name}.ipynb"


def _recipe(model: str, *extra: str) -> Callable[[dict], dict]:
    """The epochs, batch size and learning rate (and `extra` fields) of `model`'s recipe under
    the run's profile, `--epochs` overriding."""
    def values(run: dict) -> dict:
        r = recipes.recipe(model, run["profile"], run.get("epochs") or None)
        return {"epochs": r.epochs, "batch_size": r.batch_size,
                "learning_rate": r.learning_rate, **{f: getattr(r, f) for f in extra}}

    return values


def _ensemble(run: dict) -> dict:
    model, folds = recipes.kfold_ensemble(KFOLD_ENSEMBLE, run["profile"], run.get("folds", 0))
    epochs = recipes.recipe(model, run["profile"], run.get("epochs") or None).epochs
    return {"member_model": model, "folds": folds, "epochs": epochs}


def _experiments(run: dict) -> dict:
    budget = recipes.EXPERIMENT_BUDGETS[run["profile"]]
    return {"epochs": run.get("epochs") or budget.epochs, "seeds": budget.seeds,
            "train_rows": budget.train_rows or 0, "batch_size": budget.batch_size}


def _trains(name: str, models: tuple[str, ...], training, reads: tuple = ()) -> Stage:
    """A notebook that builds and trains `models`, and hands each one's files on."""
    return Stage(name, reads=(OUT.split, *reads),
                 writes=tuple(p for m in models for p in OUT.model_files(m)), figures=models,
                 shared=("seed",), models=models, training=training,
                 metrics=tuple(OUT.metrics(m) for m in models),
                 plots=tuple(OUT.history(m) for m in models))


BASE_MODELS = ("dense", "simple_cnn", "double_cnn")
SINGLE_MODELS = (*BASE_MODELS, "batchnorm", "augmentation")
KFOLD_ENSEMBLE = "kfold_ensemble"
CANDIDATES = (*SINGLE_MODELS, KFOLD_ENSEMBLE)

STAGES = {s.name: s for s in (
    Stage("01_load", reads=(OUT.resolved_source,), writes=(OUT.data,), params={
        "limit_train": Param(0, "use only the first N training rows (0: all)", option=True),
        "limit_test": Param(0, "use only the first N test rows (0: all)", option=True)}),
    Stage("02_eda", reads=(OUT.data,), figures=("eda",)),
    Stage("03_preprocess", reads=(OUT.data,), writes=(OUT.split,), figures=("preprocess",),
          params={"val_fraction": Param(0.1, "share of the training rows held out")},
          shared=("seed",)),
    _trains("04_base_cnn", BASE_MODELS, _recipe("dense")),
    _trains("05_batchnorm", ("batchnorm",), _recipe("batchnorm"),
            reads=(OUT.metrics("double_cnn"),)),
    _trains("06_augmentation", ("augmentation",), _recipe("augmentation", "label_smoothing"),
            reads=(OUT.model("batchnorm"), OUT.metrics("batchnorm"))),
    # Its members train the network and recipe of one model of 04-06 (the profile's).
    Stage("07_ensemble", reads=(OUT.split, *[p for m in SINGLE_MODELS
                                             for p in OUT.model_files(m)]),
          writes=(*OUT.ensemble_files(KFOLD_ENSEMBLE), OUT.members(KFOLD_ENSEMBLE)),
          figures=("ensemble",),
          params={"folds": Param(0, "folds of the k-fold ensemble, one member each "
                                    "(0: the profile's)")},
          shared=("seed",), models=(KFOLD_ENSEMBLE,), training=_ensemble,
          metrics=(OUT.metrics(KFOLD_ENSEMBLE),)),
    Stage("08_submit", reads=(OUT.data, OUT.split,
                              *[p for m in CANDIDATES for p in (OUT.metrics(m),
                                                                OUT.probabilities(m),
                                                                OUT.model_submission(m),
                                                                OUT.model(m))]),
          writes=(OUT.submission, OUT.best_model, OUT.summary),
          figures=("submit",), shared=("profile", "seed"), candidates=CANDIDATES,
          metrics=(OUT.summary,)),
    Stage("09_own_handwriting", reads=(OUT.split, OUT.best_model), figures=("own_handwriting",),
          params={"images": Param("", "comma-separated picture paths (empty: the examples)"),
                  "model_path": Param("", "a model of your own (empty: models/best.keras)")},
          shared=("profile",)),
    Stage("10_experiments", reads=(OUT.split, *OUT.model_files("batchnorm")),
          writes=(OUT.experiments, OUT.experiments_summary), figures=("experiments",),
          shared=("seed",), models=tuple(recipes.EXPERIMENTS), training=_experiments,
          references={"full_run": "bench/results/experiments-full-tensorflow-cpu.json"}),
)}


def stage(name: str) -> Stage:
    if name not in STAGES:
        raise DigitRecognizerError(f"unknown stage {name!r}: choose one of {', '.join(STAGES)}")
    return STAGES[name]


def notebooks(stages: dict[str, Stage] | None = None) -> list[str]:
    return list(stages or STAGES)


def writer(stages: dict[str, Stage]) -> dict[str, str]:
    """Which stage writes each path."""
    written = {}
    for s in stages.values():
        for path in s.writes:
            if str(path) in written:
                raise DigitRecognizerError(f"{path} is written by {written[str(path)]} and "
                                           f"{s.name}")
            written[str(path)] = s.name
    return written


def upstream(name: str, stages: dict[str, Stage] | None = None) -> list[str]:
    """The stages whose products `name` reads, in the manifest's order."""
    stages = stages or STAGES
    written = writer(stages)
    found = {written[str(p)] for p in stages[name].reads if str(p) in written}
    return [s for s in stages if s in found]
