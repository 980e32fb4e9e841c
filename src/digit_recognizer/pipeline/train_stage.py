"""Train what a training stage declares: the command of each `train_*` stage in `dvc.yaml`.

    python -m digit_recognizer.pipeline.train_stage model train_dense
    python -m digit_recognizer.pipeline.train_stage ensemble train_kfold_ensemble
    python -m digit_recognizer.pipeline.train_stage experiments train_experiments

What to train comes from the stage's section of `params.yaml` alone: each member's seed,
network and resolved recipe (the manifest wrote them there). So this module imports neither
the manifest nor the recipes of other profiles, and its DVC dependencies are the training code
only. Where members train (here, or on Ray) and how much is printed come from the runner's
environment: neither changes what is computed. One line per epoch, or per member.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.layout import Outputs

RUN_ID_ENV = "DIGIT_RECOGNIZER_RUN_ID"
WORKERS_ENV = "DIGIT_RECOGNIZER_WORKERS"
RAY_ADDRESS_ENV = "DIGIT_RECOGNIZER_RAY_ADDRESS"
VERBOSE_ENV = "DIGIT_RECOGNIZER_VERBOSE"  # Keras's own progress lines instead of ours
KINDS = ("model", "ensemble", "experiments")


def section(root: Path, name: str) -> dict:
    """The stage's section of `params.yaml` (the notebooks' runner reads it here too)."""
    import yaml

    path = root / "params.yaml"
    if not path.is_file():
        raise DigitRecognizerError(f"{path} not found: run ./run_all.sh (it writes it)")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if name not in values:
        raise DigitRecognizerError(f"{path} has no section {name}: run ./run_all.sh")
    return values[name]


def team(values: dict):
    from digit_recognizer.learning.members import Member

    return [Member.from_spec(name, spec["seed"], {k: v for k, v in spec.items() if k != "seed"})
            for name, spec in values["members"].items()]


def epoch_lines(name: str, epochs: int):
    """A Keras callback printing one line per epoch: the stage's progress in the terminal."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"    {name}: epoch {epoch + 1}/{epochs}, "
                  f"{time.perf_counter() - self.start:.0f} s, "
                  f"validation accuracy {logs.get('val_accuracy', float('nan')):.2%}",
                  flush=True)

    return Progress()


def train_model(outputs: Outputs, values: dict, verbose: bool) -> None:
    from digit_recognizer.datasets import preprocess
    from digit_recognizer.learning import evaluate, members

    [member] = team(values)
    split = preprocess.load_split(outputs.split)
    result = members.train_member(
        member, split, verbose=2 if verbose else 0,
        callbacks=None if verbose else [epoch_lines(member.name, member.recipe.epochs)])
    metrics = evaluate.save_trained(result, split, outputs)
    print(f"    {evaluate.describe(metrics)}", flush=True)


def train_members(outputs: Outputs, values: dict, folder: Path):
    from digit_recognizer.learning import executors, members

    results = executors.run_members(
        team(values), outputs.split, executor=os.environ.get(WORKERS_ENV) or "local",
        address=os.environ.get(RAY_ADDRESS_ENV) or None, on_done=executors.print_progress,
        out_dir=folder, callbacks_for=lambda m: [epoch_lines(m.name, m.recipe.epochs)])
    members.save_runs(folder, results)
    return results


def train_ensemble(outputs: Outputs, name: str, values: dict) -> None:
    """Every fold's member, then their average as one model (`ensemble.build`)."""
    from digit_recognizer.datasets import preprocess
    from digit_recognizer.learning import ensemble, evaluate

    name = name.removeprefix("train_")
    results = train_members(outputs, values, outputs.members(name))
    metrics = ensemble.build(name, results, preprocess.load_split(outputs.split), outputs)
    print(f"    {evaluate.describe(metrics)}", flush=True)


def train_experiments(outputs: Outputs, values: dict) -> None:
    train_members(outputs, values, outputs.experiments)


def run(root: Path, kind: str, name: str) -> None:
    # Relative to the project (DVC runs the command there): the metrics name no folder of this
    # machine, so two runs compare on any machine.
    outputs = Outputs(Path(os.path.relpath(root / "outputs")))
    values = section(root, name)
    verbose = os.environ.get(VERBOSE_ENV) == "1"
    if kind == "model":
        train_model(outputs, values, verbose)
    elif kind == "ensemble":
        train_ensemble(outputs, name, values)
    else:
        train_experiments(outputs, values)


def main(argv: list[str] | None = None) -> int:
    fileio.unwind_on_sigterm()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in KINDS:
        print(f"usage: python -m {__spec__.name} {{{','.join(KINDS)}}} STAGE", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        run(Path.cwd(), *args)
    except DigitRecognizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    wall = round(time.perf_counter() - start, 1)
    with open(Outputs(Path.cwd() / "outputs").timings, "a", encoding="utf-8") as log:
        log.write(json.dumps({"stage": args[1], "wall_seconds": wall}) + "\n")
    print(f"    {wall:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
