"""The pipeline's stages, declared once: each stage is a notebook with the stages it reads from."""

from __future__ import annotations

from dataclasses import dataclass

from digit_recognizer.errors import DigitRecognizerError


@dataclass(frozen=True)
class Stage:
    name: str  # the notebook's file name without .ipynb
    upstream: tuple[str, ...] = ()  # stages whose products it reads
    models: tuple[str, ...] = ()  # models it trains
    ensembles: tuple[str, ...] = ()  # seed ensembles it trains
    # Every model and ensemble of these stages is a candidate of the final choice (08_submit).
    candidates_from: tuple[str, ...] = ()


STAGES = {s.name: s for s in (
    Stage("01_load"),
    Stage("02_eda", upstream=("01_load",)),
    Stage("03_preprocess", upstream=("01_load",)),
    Stage("04_base_cnn", upstream=("03_preprocess",),
          models=("dense", "simple_cnn", "double_cnn")),
    Stage("05_batchnorm", upstream=("03_preprocess",), models=("batchnorm",)),
    Stage("06_augmentation", upstream=("03_preprocess",), models=("augmentation",)),
    Stage("07_ensemble", upstream=("03_preprocess",), ensembles=("seed_ensemble",)),
    Stage("08_submit", upstream=("01_load", "03_preprocess", "04_base_cnn", "05_batchnorm",
                                 "06_augmentation", "07_ensemble"),
          candidates_from=("04_base_cnn", "05_batchnorm", "06_augmentation", "07_ensemble")),
    Stage("09_own_handwriting", upstream=("03_preprocess", "08_submit")),
    # Not a candidate of 08: what each change of the recipe is worth, measured apart.
    Stage("10_experiments", upstream=("03_preprocess",)),
)}


def stage(name: str) -> Stage:
    if name not in STAGES:
        raise DigitRecognizerError(f"unknown stage {name!r}: choose one of {', '.join(STAGES)}")
    return STAGES[name]


def candidates(name: str) -> list[str]:
    """What a choosing stage compares: the models and ensembles of its `candidates_from`."""
    return [m for s in stage(name).candidates_from
            for m in (*STAGES[s].models, *STAGES[s].ensembles)]


