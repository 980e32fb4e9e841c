"""The record of a finished `./run_all.sh` run, and the README's Results table made from it.

    python bench/run_record.py --write bench/results/run-full-tensorflow-cpu.json \\
        --command "./run_all.sh --source mnist --mnist-dir ../shared/data/mnist --profile full"
    python bench/run_record.py bench/results/run-full-tensorflow-cpu.json   # print the table

`--write` copies what the run left under outputs/ (its summary, each model's metrics and the
ensemble members' scores) into one JSON file, so that the table the README quotes can be
checked against the run after outputs/ is gone (`tests/test_run_record.py`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digit_recognizer import fileio, layout
from digit_recognizer.learning import recipes

TITLES = {name: model.title for name, model in recipes.MODELS.items()} | {
    "kfold_ensemble": "k-fold ensemble (07)"}
MODEL_FIELDS = ("model", "val_accuracy", "val_errors", "local_score", "epochs", "parameters",
                "train_seconds", "folds", "oof_accuracy", "oof_accuracy_plain", "oof_rows", "tta")
MEMBER_FIELDS = ("name", "seed", "epochs", "val_accuracy", "val_errors", "local_score",
                 "train_seconds")


def record(outputs: layout.Outputs, command: str) -> dict:
    summary = fileio.read_json(outputs.summary)
    models = []
    for row in summary["rows"]:
        metrics = fileio.read_json(outputs.metrics(row["model"]))
        entry = {k: metrics[k] for k in MODEL_FIELDS if metrics.get(k) is not None}
        if "members" in metrics:
            entry["members"] = [
                {k: member[k] for k in MEMBER_FIELDS if k in member}
                for member in (fileio.read_json(outputs.members(row["model"]) / f"{name}.json")
                               for name in metrics["members"])]
        models.append(entry)
    return {"command": command, "run_id": summary["run_id"], "profile": summary["profile"],
            "source": summary["source"], "seed": summary["seed"], "chosen": summary["model"],
            "submitted_local_score": summary["local_score"], "choice": summary["choice"],
            "models": models}


def training(model: dict) -> str:
    if "folds" not in model:
        return (f"{model['epochs']} epochs, {model['train_seconds']:.0f} s, "
                f"{model['parameters']:,} parameters")
    epochs = {m["epochs"] for m in model["members"]}
    return (f"{model['folds']} members of {'/'.join(map(str, sorted(epochs)))} epochs, "
            f"{model['train_seconds'] / 60:.0f} min; out of fold {model['oof_accuracy']:.2%} "
            f"on {model['oof_rows']:,} rows{', with TTA' if model.get('tta') else ''}")


def markdown_table(run: dict) -> str:
    lines = ["| stage | validation accuracy | validation errors | local score | training |",
             "| --- | --- | --- | --- | --- |"]
    for m in run["models"]:
        title = TITLES.get(m["model"], m["model"])
        if m["model"] == run["chosen"]:
            title = f"**{title}: submitted**"
        lines.append(f"| {title} | {m['val_accuracy']:.2%} | {m['val_errors']} | "
                     f"{m['local_score']:.2%} | {training(m)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("record", nargs="?", help="a record to print as the README's table")
    p.add_argument("--write", metavar="PATH", help="write the record of the run in --outputs")
    p.add_argument("--outputs", default="outputs", help="the run's outputs folder")
    p.add_argument("--command", default="./run_all.sh", help="the command that made the run")
    args = p.parse_args(argv)
    if args.write:
        run = record(layout.Outputs(args.outputs), args.command)
        fileio.write_json(Path(args.write), run)
    elif args.record:
        run = fileio.read_json(args.record)
    else:
        p.error("give a record to print, or --write PATH")
    print(markdown_table(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
