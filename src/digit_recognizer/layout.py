"""Where each artifact lives under outputs/: the only channel between stages.

Every path is derived from one root here; the stage manifest (`pipeline.stages`) says which
stage writes and reads which, so the notebooks, the training commands, the runner and
`dvc.yaml` can never disagree about a file's name. Plain paths: this module imports nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


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

    # Per trained model (the notebook that trains it writes them).
    def model(self, name: str) -> Path:
        return self.root / "models" / f"{name}.keras"

    def metrics(self, name: str) -> Path:
        return self.root / "metrics" / f"{name}.json"

    def probabilities(self, name: str) -> Path:
        return self.root / "probabilities" / f"{name}.npz"

    def model_submission(self, name: str) -> Path:
        return self.root / "submissions" / f"{name}.csv"

    def history(self, name: str) -> Path:
        """Loss and accuracy per epoch, one record an epoch (what `dvc plots` draws)."""
        return self.root / "histories" / f"{name}.json"

    def model_files(self, name: str) -> list[Path]:
        return [self.model(name), self.metrics(name), self.probabilities(name),
                self.model_submission(name), self.history(name)]

    def ensemble_files(self, name: str) -> list[Path]:
        """An average of members: its averaging model, but no history of its own."""
        return [self.model(name), self.metrics(name), self.probabilities(name),
                self.model_submission(name)]

    # Written by the notebook that trains an ensemble: each member's model, probabilities, metrics.
    def members(self, ensemble: str) -> Path:
        return self.root / "members" / ensemble

    # Every run of the controlled experiments, and what 10 made of them.
    @property
    def experiments(self) -> Path:
        return self.root / "experiments"

    @property
    def experiments_summary(self) -> Path:
        return self.root / "experiments_summary.json"

    @property
    def submission(self) -> Path:
        return self.root / "submission.csv"

    @property
    def best_model(self) -> Path:
        return self.root / "models" / "best.keras"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    # Not a product of any stage: every training a notebook did, by a hash of its inputs
    # (`learning.memo`), so that a rerun loads what it would train again.
    @property
    def memo(self) -> Path:
        return self.root / "training-memo"

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


INTERACTIVE = "interactive"


def notebook_outputs(output_dir: str | os.PathLike, write_dir: str | os.PathLike,
                     notebook: str) -> tuple[Outputs, Outputs]:
    """What a notebook reads (the pipeline's outputs, `output_dir`) and where it writes.

    The runner sets `write_dir` to the same folder. A notebook run by hand (in JupyterLab, with
    its parameters cell's defaults: `write_dir` empty) writes under
    `<output_dir>/interactive/<notebook>/` instead, so that trying a change never replaces the
    pipeline's results, which the executed notebooks and `leaderboard.csv` describe.
    """
    reads = Outputs(output_dir)
    return reads, Outputs(write_dir) if write_dir else Outputs(reads.root / INTERACTIVE / notebook)
