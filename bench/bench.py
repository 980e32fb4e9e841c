"""Benchmark a profile on the official MNIST split, on whichever Keras backend and device.

    python bench/bench.py --mnist-dir ../shared/data/mnist --profile full
    KERAS_BACKEND=jax python bench/bench.py --mnist-dir DIR --profile gpu      # on a GPU
    python bench/bench.py --mnist-dir DIR --quick                              # minutes

Trains the profile's models (`recipes.MODELS`, each with its recipe) on 55,000 of the 60,000
training images; the other 5,000 (stratified) are the validation split on which every choice
is made: the single recipe that gets more seeds, and whether test-time augmentation (TTA) is
used. The profile's k-fold ensemble trains its members on folds of all 60,000 and is measured
out of fold on every one of them. The 10,000 official test images are used for this report
only (`--models ''` benchmarks the ensemble alone). Writes
bench/results/<profile>-<backend>-<device>.json (`--quick`: outputs/bench/) and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from digit_recognizer import fileio
from digit_recognizer.datasets import data, preprocess
from digit_recognizer.learning import ensemble, evaluate, members, precision, recipes
from digit_recognizer.pipeline import stages

REFERENCE = stages.STAGES["04_base_cnn"].models
KAGGLE_TEST_ROWS = 28_000
VALIDATION_ROWS = 5_000


def load_split(mnist_dir: str | None, limit: int, seed: int) -> preprocess.Split:
    mnist = data.load_mnist(mnist_dir)
    images, labels = mnist["train_images"], mnist["train_labels"]
    if limit:
        images, labels = images[:limit], labels[:limit]
    train_idx, val_idx = preprocess.stratified_split(labels, VALIDATION_ROWS / 60_000, seed)
    x, y = preprocess.normalise(images), preprocess.one_hot(labels)
    return preprocess.Split(x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                            preprocess.normalise(mnist["test_images"]), mnist["test_labels"])


def inference_speed(model, x_test: np.ndarray) -> float:
    """Images per second over 28,000 images, the size of Kaggle's test set (best of two)."""
    images = np.resize(x_test, (KAGGLE_TEST_ROWS, *x_test.shape[1:]))
    evaluate.predict(model, images[:1024])  # warm-up
    return max(evaluate.predict(model, images)[1] for _ in range(2))


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probs.argmax(1) == labels))


def train_one(model_name: str, seed: int, profile: str, split: preprocess.Split,
              epochs: int | None) -> dict:
    """Train one model with one seed (as an ensemble member is trained) and measure it."""
    [member] = members.of_models(model_name, [seed], profile, epochs)
    result = members.train_member(member, split, verbose=2)
    model = result.load_model()
    m = result.metrics
    probs = {"val": result.val_probs, "test": result.test_probs, "val_tta": result.val_tta,
             "test_tta": result.test_tta}
    return {
        "model": model_name, "seed": seed, "epochs": m["epochs"],
        "precision": model.dtype_policy.name, "parameters": m["parameters"],
        "train_seconds": m["train_seconds"],
        "train_images_per_second": round(len(split.x_train) * m["epochs"] / m["train_seconds"]),
        "val_accuracy": m["val_accuracy"], "val_accuracy_tta": m["val_accuracy_tta"],
        "test_accuracy": accuracy(probs["test"], split.answer_key),
        "test_errors": int(np.sum(probs["test"].argmax(1) != split.answer_key)),
        "test_accuracy_tta": accuracy(probs["test_tta"], split.answer_key),
        "test_images_per_second": round(inference_speed(model, split.x_test)),
        "probs": probs,
    }


def kfold_row(model_name: str, folds: int, seed: int, profile: str, split: preprocess.Split,
              epochs: int | None) -> dict:
    """The k-fold ensemble over every labelled row (training and validation): its members, its
    out-of-fold accuracy on all of them, and the test accuracy of the members' average (with
    TTA when TTA helps out of fold; the test set decides nothing)."""
    results = []
    for member in members.fold_members(model_name, folds, seed, profile, epochs):
        print(f"--> {member.name} (seed {member.seed})", flush=True)
        results.append(members.train_member(member, split, verbose=2))
        m = results[-1].metrics
        print(json.dumps({"member": member.name, "fold_accuracy": m["val_accuracy"],
                          "train_seconds": m["train_seconds"]}), flush=True)
    labelled_rows = len(ensemble.labelled_digits(split))
    found = ensemble.scores(results, split)
    tta = ensemble.use_tta(found)
    test = {t: np.mean([r.probabilities(t)[1] for r in results], axis=0) for t in (False, True)}
    return {
        "model": f"{model_name} {folds}-fold", "folds": folds, "fold_seed": seed,
        "labelled_rows": labelled_rows, "tta": tta,
        "train_seconds": round(sum(r.metrics["train_seconds"] for r in results), 1),
        "oof_accuracy": found[tta], "oof_accuracy_plain": found[False],
        "oof_accuracy_tta": found[True],
        "test_accuracy": accuracy(test[tta], split.answer_key),
        "test_errors": int(np.sum(test[tta].argmax(1) != split.answer_key)),
        "test_accuracy_plain": accuracy(test[False], split.answer_key),
        "test_accuracy_tta": accuracy(test[True], split.answer_key),
        "members": [{"name": r.member.name, "seed": r.member.seed, "fold": r.member.fold,
                     "train_rows": labelled_rows - len(r.val_probs),
                     "fold_accuracy": r.metrics["val_accuracy"],
                     "fold_accuracy_tta": r.metrics["val_accuracy_tta"],
                     "test_accuracy": accuracy(r.test_probs, split.answer_key),
                     "test_accuracy_tta": accuracy(r.test_tta, split.answer_key),
                     "train_seconds": r.metrics["train_seconds"], "epochs": r.metrics["epochs"]}
                    for r in results],
    }


def spread(runs: list[dict]) -> dict:
    """Mean, standard deviation, min and max over seeds of one recipe, plain and with TTA."""
    out = {"model": runs[0]["model"], "seeds": [r["seed"] for r in runs]}
    for key in ("test_accuracy", "test_accuracy_tta", "val_accuracy", "train_seconds"):
        values = np.array([r[key] for r in runs], dtype=float)
        out[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))
                    if len(values) > 1 else 0.0, "min": float(values.min()),
                    "max": float(values.max())}
    return out


def machine() -> dict:
    import keras

    return {"platform": f"{platform.system()} {platform.machine()}",
            "cpu_threads": len(os.sched_getaffinity(0)), "backend": keras.backend.backend(),
            "keras": keras.__version__, "device": precision.device(),
            "bfloat16_units": precision.fast_bfloat16(), "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-dir", default=None, help="the four MNIST *-ubyte.gz files")
    p.add_argument("--profile", choices=recipes.PROFILES, default="full")
    p.add_argument("--models", default=",".join(recipes.MODELS),
                   help="comma-separated models of the registry (default: all; '': none)")
    p.add_argument("--seeds", type=int, default=3,
                   help="seeds of the recipe chosen on validation (its spread)")
    p.add_argument("--folds", type=int, default=0,
                   help="folds of the k-fold ensemble (default: the profile's; -1: none)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true",
                   help="a few minutes: the first 11,000 training images, 2 epochs each")
    p.add_argument("--epochs", type=int, default=0, help="override the profile's epochs")
    p.add_argument("--limit", type=int, default=0, help="use N training images")
    p.add_argument("--output", default=None, help="the JSON file to write")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit = args.epochs or 2, args.limit or 11_000

    split = load_split(args.mnist_dir, args.limit, args.seed)
    info = machine()
    print(f"{args.profile} profile; train {len(split.x_train)}, validation {len(split.x_val)}, "
          f"test {len(split.x_test)}; {info}", flush=True)

    started = time.perf_counter()
    runs: list[dict] = []

    def run(model_name: str, seed: int) -> dict:
        for r in runs:
            if (r["model"], r["seed"]) == (model_name, seed):
                return r
        print(f"--> {model_name} seed {seed}", flush=True)
        runs.append(train_one(model_name, seed, args.profile, split, args.epochs or None))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "probs"}), flush=True)
        return runs[-1]

    names = [n for n in args.models.split(",") if n]
    for name in names:
        run(name, args.seed)
    # The single recipe with the best validation accuracy gets more seeds: its spread.
    candidates = [r for r in runs if r["model"] not in REFERENCE] or runs
    chosen = max(candidates, key=lambda r: r["val_accuracy"])["model"] if runs else None
    seeds = [run(chosen, args.seed + i) for i in range(args.seeds)] if chosen else []
    # The profile's k-fold ensemble over all 60,000 labelled images.
    ensembles = []
    if args.folds >= 0:
        member_model, folds = recipes.kfold_ensemble("kfold_ensemble", args.profile, args.folds)
        ensembles.append(kfold_row(member_model, folds, args.seed, args.profile, split,
                                   args.epochs or None))

    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "profile": args.profile,
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "machine": info, "train_images": len(split.x_train),
        "validation_images": len(split.x_val), "test_images": len(split.x_test),
        "total_seconds": round(time.perf_counter() - started, 1),
        "chosen_single_recipe": chosen, "seed_spread": spread(seeds) if seeds else None,
        "rows": [{k: v for k, v in r.items() if k != "probs"} for r in runs],
        "ensembles": ensembles,
    }
    device = "gpu" if info["device"].startswith("GPU") else "cpu"
    default = (Path("outputs/bench/quick.json") if args.quick else
               Path("bench/results") / f"{args.profile}-{info['backend']}-{device}.json")
    out = fileio.write_json(Path(args.output) if args.output else default, report)
    print()
    print(markdown_table(report))
    print(f"\nwrote {out}")
    return 0


def markdown_table(report: dict) -> str:
    lines = ["| model | seed | val accuracy | test accuracy | errors | with TTA | train time | "
             "train images/s | test images/s |", "|" + " --- |" * 9]
    for r in report["rows"]:
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['val_accuracy']:.2%} | {r['test_accuracy']:.2%} "
            f"| {r['test_errors']} | {r['test_accuracy_tta']:.2%} | "
            f"{r['train_seconds'] / 60:.1f} min | {r['train_images_per_second']:,} | "
            f"{r['test_images_per_second']:,} |")
    for e in report["ensembles"]:
        if "oof_accuracy" not in e:  # a seed ensemble of an earlier benchmark
            lines.append(
                f"| ensemble: {e['model']}{' + TTA' if e['tta'] else ''} | | "
                f"{e['val_accuracy']:.2%} | {e['test_accuracy']:.2%} | {e['test_errors']} | | "
                f"{e['train_seconds'] / 60:.1f} min | | |")
            continue
        lines.append(
            f"| ensemble: {e['model']}{' + TTA' if e['tta'] else ''} | {e['fold_seed']} | "
            f"{e['oof_accuracy']:.2%} out of fold ({e['labelled_rows']:,} rows) | "
            f"{e['test_accuracy']:.2%} | {e['test_errors']} | {e['test_accuracy_tta']:.2%} | "
            f"{e['train_seconds'] / 60:.1f} min | | |")
    s = report["seed_spread"]
    if s:
        lines.append(
            f"\n{s['model']} over seeds {s['seeds']}: test accuracy "
            f"{s['test_accuracy']['mean']:.2%} ± {s['test_accuracy']['std']:.2%} "
            f"({s['test_accuracy']['min']:.2%}-{s['test_accuracy']['max']:.2%}), with TTA "
            f"{s['test_accuracy_tta']['mean']:.2%} ± {s['test_accuracy_tta']['std']:.2%}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
