"""Where each artifact lives under outputs/: the only channel between notebooks.

Every path is derived from one root here, and each stage's products (what the DVC graph
declares as its outputs) are listed by `stage_products`, so the notebooks, the runner and
`dvc.yaml` can never disagree about a file's name.
"""

from __future__ import annotations

import os
from pathlib import Path

from digit_recognizer.pipeline.stages import STAGES


class Outputs:
    """Paths of a run's artifacts below one root folder (default `outputs/`)."""

    def __init__(self, root: str | os.PathLike = "outputs"):
        self.root = Path(root)

    # Written by 01_load: the validated images, which source they came from, the answer key.
    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def dataset(self) -> Path:
        return self.data / "dataset.npz"

    @property
    def source_info(self) -> Path:
        return self.data / "source.json"

    @property
    def answer_key(self) -> Path:
        return self.data / "answer_key.csv"

    # Written by 03_preprocess: the train/validation split, ready for the networks.
    @property
    def split(self) -> Path:
        return self.root / "preprocess" / "split.npz"

    # Figures: one folder per model or notebook (eda, preprocess, submit, own_handwriting).
    def figures(self, owner: str) -> Path:
        return self.root / "figures" / owner

    def figure(self, owner: str, name: str) -> Path:
        return self.figures(owner) / f"{name}.png"

    # Per trained model.
    def model(self, name: str) -> Path:
        return self.root / "models" / f"{name}.keras"

    def metrics(self, name: str) -> Path:
        return self.root / "metrics" / f"{name}.json"

    def probabilities(self, name: str) -> Path:
        return self.root / "probabilities" / f"{name}.npz"

    def stage_submission(self, name: str) -> Path:
        return self.root / "submissions" / f"{name}.csv"

    # Written by 07_ensemble: each member's model, probabilities and metrics.
    def members(self, ensemble: str) -> Path:
        return self.root / "members" / ensemble

    # Written by 10_experiments: every run of the controlled experiments, and their summary.
    @property
    def experiments(self) -> Path:
        return self.root / "experiments"

    @property
    def experiments_summary(self) -> Path:
        return self.experiments / "summary.json"

    # Written by 08_submit: the ensemble's metrics, probabilities and submission, when it made one.
    @property
    def ensemble(self) -> Path:
        return self.root / "ensemble"

    @property
    def submission(self) -> Path:
        return self.root / "submission.csv"

    @property
    def best_model(self) -> Path:
        return self.root / "models" / "best.keras"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    # Not a product of any stage: the runner's records, kept across runs.
    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard.csv"

    @property
    def resolved_source(self) -> Path:
        """The concrete data source of the run, with content hashes (written by the runner)."""
        return self.root / "resolved_source.json"

    @property
    def timings(self) -> Path:
        return self.root / ".timings.jsonl"

    # Every stage's executed copy and its HTML export.
    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    def executed(self, stage: str) -> Path:
        return self.notebooks / f"{stage}.ipynb"

    def html(self, stage: str) -> Path:
        return self.root / "html" / f"{stage}.html"


_FIGURE_OWNERS = {"02_eda": "eda", "03_preprocess": "preprocess", "08_submit": "submit",
                  "09_own_handwriting": "own_handwriting", "10_experiments": "experiments"}


def model_products(outputs: Outputs, name: str) -> list[Path]:
    return [outputs.model(name), outputs.metrics(name), outputs.probabilities(name),
            outputs.stage_submission(name)]


def stage_products(outputs: Outputs, stage: str) -> list[Path]:
    """What a stage hands to later stages (its DVC outputs besides figures and reports)."""
    if stage == "01_load":
        return [outputs.data]
    if stage == "03_preprocess":
        return [outputs.split]
    if stage == "08_submit":
        return [outputs.submission, outputs.best_model, outputs.summary, outputs.ensemble]
    if stage == "10_experiments":
        return [outputs.experiments]
    ensembles = [p for name in STAGES[stage].ensembles for p in (
        outputs.metrics(name), outputs.probabilities(name), outputs.stage_submission(name),
        outputs.members(name))]
    return [p for model in STAGES[stage].models for p in model_products(outputs, model)] + \
        ensembles


def stage_inputs(outputs: Outputs, stage: str) -> list[Path]:
    """What a stage reads of earlier stages: their products (09 reads only the best model and
    the split, whose held-out rows it writes as pictures)."""
    if stage == "09_own_handwriting":
        return [outputs.split, outputs.best_model]
    return [p for up in STAGES[stage].upstream for p in stage_products(outputs, up)]


def stage_reports(outputs: Outputs, stage: str) -> list[Path]:
    """What a stage writes for people to look at: figures, the executed notebook, its HTML."""
    owners = [_FIGURE_OWNERS[stage]] if stage in _FIGURE_OWNERS else []
    owners += list(STAGES[stage].models)
    return [*(outputs.figures(o) for o in owners), outputs.executed(stage), outputs.html(stage)]
