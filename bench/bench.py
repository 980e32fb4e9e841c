"""Benchmark on the official MNIST split: our stages and the reference models side by side.

    python bench/bench.py --mnist-dir ../shared/data/mnist

Trains every stage with the `full` profile's recipe on 55,000 of the 60,000 training images
(5,000 are held out, stratified, for every choice), then reports on the 10,000 official test
images, which are used for nothing else. Prints a Markdown table and writes
outputs/bench/<date>.json.
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

from digit_recognizer import augment, data, evaluate, fileio, models, preprocess, stages, train

REFERENCE = stages.STAGES["04_base_cnn"].models
KAGGLE_TEST_ROWS = 28_000


def shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by whole pixels (MNIST's borders are empty, so rolling loses no ink)."""
    return np.roll(x, (dy, dx), axis=(1, 2))


def predict_tta(model, x: np.ndarray) -> np.ndarray:
    """Test-time augmentation: average over the image and its four one-pixel shifts."""
    shifts = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    return np.mean([evaluate.predict(model, shifted(x, *s))[0] for s in shifts], axis=0)


def inference_speed(model, x_test: np.ndarray) -> float:
    """Images per second over 28,000 images, the size of Kaggle's test set (best of two)."""
    images = np.resize(x_test, (KAGGLE_TEST_ROWS, *x_test.shape[1:]))
    model.predict(images[:1024], batch_size=1024, verbose=0)  # warm-up
    return max(evaluate.predict(model, images)[1] for _ in range(2))


def threads() -> int:
    import tensorflow as tf

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    return intra or len(os.sched_getaffinity(0))


def row(name: str, probs: np.ndarray, y_test: np.ndarray, seconds: float, speed: float | None,
        extra: dict | None = None) -> dict:
    accuracy = float(np.mean(probs.argmax(1) == y_test))
    return {"model": name, "test_accuracy": accuracy,
            "test_errors": int(np.sum(probs.argmax(1) != y_test)),
            "train_seconds": round(seconds, 1), "threads": threads(),
            "images_per_second": None if speed is None else round(speed), **(extra or {})}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-dir", default=None, help="the four MNIST *-ubyte.gz files")
    p.add_argument("--stages", default=",".join(stages.MODELS))
    p.add_argument("--extra-seeds", type=int, default=2,
                   help="more augmentation models (other seeds) for the ensemble")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=0, help="override the full profile (testing)")
    p.add_argument("--limit", type=int, default=0, help="use N training images (testing)")
    p.add_argument("--output-dir", default="outputs/bench")
    args = p.parse_args(argv)

    mnist = data.load_mnist(args.mnist_dir)
    labels = mnist["train_labels"]
    images = mnist["train_images"]
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    train_idx, val_idx = preprocess.stratified_split(labels, 5_000 / 60_000, args.seed)
    x = preprocess.normalise(images)
    y = preprocess.one_hot(labels)
    split = preprocess.Split(x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                             preprocess.normalise(mnist["test_images"]),
                             mnist["test_labels"])
    y_test = mnist["test_labels"]
    print(f"train {len(train_idx)}, validation {len(val_idx)}, test {len(y_test)}; "
          f"{threads()} CPU threads", flush=True)

    rows, val_probs, test_probs = [], {}, {}
    started = time.perf_counter()
    runs = [(s, args.seed) for s in args.stages.split(",")]
    runs += [("augmentation", args.seed + i) for i in range(1, args.extra_seeds + 1)]
    for stage, seed in runs:
        name = stage if seed == args.seed else f"{stage} (seed {seed})"
        print(f"--> {name}", flush=True)
        model = models.build(stage, seed)
        augmenter = augment.augmenter() if stages.recipe(stage, "full").augment else None
        result = train.fit(model, split, stage, "full", seed, args.epochs or None, verbose=2,
                           augmenter=augmenter)
        val_probs[name] = evaluate.predict(model, split.x_val)[0]
        test_probs[name] = evaluate.predict(model, split.x_test)[0]
        tta = predict_tta(model, split.x_test)
        extra = {"epochs": result.epochs, "parameters": model.count_params(),
                 "val_accuracy": float(np.mean(val_probs[name].argmax(1) == split.val_labels)),
                 "test_accuracy_tta": float(np.mean(tta.argmax(1) == y_test))}
        rows.append(row(name, test_probs[name], y_test, result.seconds,
                        inference_speed(model, split.x_test), extra))
        test_probs[name + " +TTA"] = tta
        print(json.dumps(rows[-1]), flush=True)

    # The ensemble: every augmentation model plus the batch-norm CNN, with TTA.
    members = [n for n in val_probs if n.startswith(("augmentation", "batchnorm"))]
    if len(members) > 1:
        probs = np.mean([test_probs[n + " +TTA"] for n in members], axis=0)
        seconds = sum(r["train_seconds"] for r in rows if r["model"] in members)
        val = np.mean([val_probs[n] for n in members], axis=0)
        rows.append(row(f"ensemble of {len(members)} + TTA", probs, y_test, seconds, None,
                        {"members": members, "parameters": sum(
                            r["parameters"] for r in rows if r["model"] in members),
                         "val_accuracy": float(np.mean(val.argmax(1) == split.val_labels))}))

    reference_errors = min((r["test_errors"] for r in rows if r["model"] in REFERENCE),
                           default=None)
    for r in rows:
        r["error_ratio_to_best_reference"] = (
            round(r["test_errors"] / reference_errors, 3) if reference_errors else None)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU threads",
        "total_seconds": round(time.perf_counter() - started, 1), "rows": rows,
    }
    out = fileio.write_json(Path(args.output_dir) / f"{time.strftime('%Y-%m-%d')}.json", report)
    print()
    print(markdown_table(rows))
    print(f"\nwrote {out}")
    return 0


def markdown_table(rows: list[dict]) -> str:
    lines = ["| model | test accuracy | errors | with TTA | train time | threads | "
             "images/s (28k) | error ratio to best reference |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tta = r.get("test_accuracy_tta")
        lines.append(
            f"| {r['model']} | {r['test_accuracy']:.2%} | {r['test_errors']} | "
            f"{'' if tta is None else f'{tta:.2%}'} | {r['train_seconds'] / 60:.1f} min | "
            f"{r['threads']} | {r['images_per_second'] or ''} | "
            f"{r['error_ratio_to_best_reference'] or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
