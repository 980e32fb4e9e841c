"""The stage manifest: every stage of the pipeline, declared once, here.

A *stage* is one step of the DVC graph. Most are notebooks (`notebooks/<name>.ipynb`, run by
papermill), which tell the story; the training of each model is a stage of its own
(`train_<model>`: a command), so that what only shows a result (a plot's style, a banner's
words) never retrains a network. A *model* is a network with its recipe (`learning.recipes`).

Each stage declares what it reads and writes (paths of `layout`), its figure folders, its own
parameters with their defaults, the run-wide parameters it uses, and the models it trains or
shows. From this one table come `dvc.yaml` and `params.yaml` (`graph`), the command line's
options and the values papermill injects (`run`, `stage_runner`). A stage's upstream stages
are the writers of what it reads.
"""

from __future__ import annotations

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


# Run-wide parameters: a stage that uses one lists it in `shared`. The training stages get the
# profile and the epochs as the recipes they resolve to (`training_members`), not as names.
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
    models: tuple[str, ...] = ()  # the models it trains or shows (a notebook's `models`)
    candidates: tuple[str, ...] = ()  # what a choosing notebook compares (`candidates`)
    trains: str = ""  # a training stage: "model", "ensemble" or "experiments"; "": a notebook
    metrics: tuple = ()  # of `writes`: what `dvc metrics` shows
    plots: tuple = ()  # of `writes`: what `dvc plots` draws (one record per epoch)
    # Committed files it reads, by the notebook parameter that receives their path.
    references: dict[str, str] = field(default_factory=dict)

    @property
    def notebook(self) -> str | None:
        return None if self.trains else f"notebooks/{self.name}.ipynb"


def _train_model(model: str) -> Stage:
    return Stage(f"train_{model}", reads=(OUT.split,), writes=tuple(OUT.model_files(model)),
                 shared=("seed",), models=(model,), trains="model",
                 metrics=(OUT.metrics(model),), plots=(OUT.history(model),))


def _show_models(name: str, models: tuple[str, ...], compared_with: str = "") -> Stage:
    """A notebook that shows trained models (and what changed from the model before)."""
    earlier = (OUT.metrics(compared_with),) if compared_with else ()
    return Stage(name, reads=(OUT.split, *[p for m in models for p in OUT.model_files(m)],
                              *earlier),
                 figures=models, shared=("profile",), models=models)


BASE_MODELS = ("dense", "simple_cnn", "double_cnn")
KFOLD_ENSEMBLE = "kfold_ensemble"
CANDIDATES = (*BASE_MODELS, "batchnorm", "augmentation", KFOLD_ENSEMBLE)

STAGES = {s.name: s for s in (
    Stage("01_load", reads=(OUT.resolved_source,), writes=(OUT.data,), params={
        "limit_train": Param(0, "use only the first N training rows (0: all)", option=True),
        "limit_test": Param(0, "use only the first N test rows (0: all)", option=True)}),
    Stage("02_eda", reads=(OUT.data,), figures=("eda",)),
    Stage("03_preprocess", reads=(OUT.data,), writes=(OUT.split,), figures=("preprocess",),
          params={"val_fraction": Param(0.1, "share of the training rows held out")},
          shared=("seed",)),
    *[_train_model(m) for m in (*BASE_MODELS, "batchnorm", "augmentation")],
    _show_models("04_base_cnn", BASE_MODELS),
    _show_models("05_batchnorm", ("batchnorm",), compared_with="double_cnn"),
    _show_models("06_augmentation", ("augmentation",), compared_with="batchnorm"),
    Stage(f"train_{KFOLD_ENSEMBLE}", reads=(OUT.split,),
          writes=(*OUT.ensemble_files(KFOLD_ENSEMBLE), OUT.members(KFOLD_ENSEMBLE)),
          params={"folds": Param(0, "folds of the k-fold ensemble, one member each "
                                    "(0: the profile's)")},
          shared=("seed",), models=(KFOLD_ENSEMBLE,), trains="ensemble",
          metrics=(OUT.metrics(KFOLD_ENSEMBLE),)),
    Stage("07_ensemble", reads=(OUT.split, *OUT.ensemble_files(KFOLD_ENSEMBLE),
                                OUT.members(KFOLD_ENSEMBLE)),
          figures=("ensemble",), shared=("profile", "seed"), models=(KFOLD_ENSEMBLE,)),
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
    Stage("train_experiments", reads=(OUT.split,), writes=(OUT.experiments,),
          shared=("seed",), models=tuple(recipes.EXPERIMENTS), trains="experiments"),
    Stage("10_experiments", reads=(OUT.split, OUT.experiments),
          writes=(OUT.experiments_summary,), figures=("experiments",), shared=("profile",),
          references={"full_run": "bench/results/experiments-full-tensorflow-cpu.json"}),
)}


def stage(name: str) -> Stage:
    if name not in STAGES:
        raise DigitRecognizerError(f"unknown stage {name!r}: choose one of {', '.join(STAGES)}")
    return STAGES[name]


def notebooks(stages: dict[str, Stage] | None = None) -> list[str]:
    return [s.name for s in (stages or STAGES).values() if s.notebook]


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


def training_members(s: Stage, run: dict) -> dict[str, dict]:
    """What a training stage trains under the run's values: each member's seed and spec
    (network, precision, recipe), by member name. Only these reach its parameters, so another
    profile's recipe, or the profile's name, changes nothing of it."""
    profile, seed, epochs = run["profile"], run["seed"], run.get("epochs") or None
    if s.trains == "model":
        [member] = recipes.members(s.models[0], [seed], profile, epochs, tta=False)
        team = {s.models[0]: member}
    elif s.trains == "ensemble":
        model, k = recipes.kfold_ensemble(s.models[0], profile, run.get("folds", 0))
        team = {m.name: m for m in recipes.fold_members(model, k, seed, profile, epochs)}
    else:
        from digit_recognizer.learning import experiments

        team = {m.name: m for m in experiments.plan(profile, seed, epochs)}
    return {name: {"seed": m.seed, **m.spec()} for name, m in team.items()}
