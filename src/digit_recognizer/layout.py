"""Where each artifact lives under outputs/: the only channel between notebooks."""

from __future__ import annotations

import os
from pathlib import Path


class Outputs:
    """Paths of a run's artifacts below one root folder (default `outputs/`)."""

    def __init__(self, root: str | os.PathLike = "outputs"):
        self.root = Path(root)

    # Written by 01_load: the validated images, and which source they came from.
    @property
    def dataset(self) -> Path:
        return self.root / "data" / "dataset.npz"

    @property
    def source_info(self) -> Path:
        return self.root / "data" / "source.json"

    # Written by 03_preprocess: normalised arrays and the train/validation split.
    @property
    def split(self) -> Path:
        return self.root / "preprocess" / "split.npz"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    def figure(self, name: str) -> Path:
        return self.figures / f"{name}.png"

    def model(self, stage: str) -> Path:
        return self.root / "models" / f"{stage}.keras"

    def metrics(self, stage: str) -> Path:
        return self.root / "metrics" / f"{stage}.json"

    def probabilities(self, stage: str) -> Path:
        return self.root / "probabilities" / f"{stage}.npz"

    def stage_submission(self, stage: str) -> Path:
        return self.root / "submissions" / f"{stage}.csv"

    @property
    def submission(self) -> Path:
        return self.root / "submission.csv"

    @property
    def best_model(self) -> Path:
        return self.root / "models" / "best.keras"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard.csv"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def answer_key(self) -> Path:
        return self.root / "data" / "answer_key.csv"
