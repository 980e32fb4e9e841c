"""A race at equal wall-clock budgets: the project's networks against three published recipes,
trained on the same rows of the same host, in one run.

    python bench/race.py --mnist-dir ../shared/data/mnist                 # issue 33's race
    python bench/race.py --mnist-dir DIR --budget-minutes 1 --seeds 1 --ensemble-minutes 0

Every entrant trains on the official training images less 5,000 held out for validation (the
plateau schedule of Ghouzam's recipe watches them), with the same budget of wall-clock
training time: one epoch of it, timed first, gives its seconds per epoch, and its epoch count
is what fits, its schedule fitted to that length (every seed the same count). It is scored on
the official 10,000 test images (mean and spread over the seeds), with its images per second
and the GFLOP/s they amount to against this host's measured peak in its number format. The
ensemble race gives each entrant's averaged members the same larger budget, split evenly
between them (Deotte's protocol of averaged CNNs). The JSON records the host: CPU model,
bfloat16 units, threads, backend.

The entrants, ported as published (architecture, optimiser, schedule, batch size,
augmentation; `fill_mode` and the like as Keras 3's layers spell what ImageDataGenerator did):

- `keras_io`: fchollet's "Simple MNIST convnet",
  https://keras.io/examples/vision/mnist_convnet/ (34,826 weights; Adam, batch 128, 15 epochs).
- `ghouzam`: Yassine Ghouzam's "Introduction to CNN Keras - 0.997 (top 6%)",
  https://www.kaggle.com/code/yassineghouzam/introduction-to-cnn-keras-0-997-top-6 (887,530
  weights; RMSprop, plateau halving, batch 86, 30 epochs, augmented).
- `deotte`: Chris Deotte's single CNN of "25 Million Images! [0.99757] MNIST",
  https://www.kaggle.com/code/cdeotte/25-million-images-0-99757-mnist, as chosen in "How to
  choose CNN Architecture MNIST" (327,242 weights; Adam annealed by 0.95 an epoch, batch 64,
  45 epochs, augmented).
- `batchnorm`, `augmentation`: the project's, the network as notebook 05 builds it (its cell
  run here) and, for `augmentation`, the augmenter as notebook 06 defines it, each with the
  catalogue's `full` recipe (`learning/recipes.py`, the compile call of those notebooks).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VALIDATION_ROWS = 5_000


@dataclass(frozen=True)
class Entrant:
    name: str
    source: str
    batch_size: int
    epochs: int  # as published
    augmented: bool
    ours: bool = False


ENTRANTS = {e.name: e for e in (
    Entrant("keras_io", "keras-io mnist_convnet", 128, 15, False),
    Entrant("ghouzam", "Ghouzam, Introduction to CNN Keras", 86, 30, True),
    Entrant("deotte", "Deotte, 25 Million Images (one CNN)", 64, 45, True),
    Entrant("batchnorm", "this project, notebook 05", 128, 12, False, ours=True),
    Entrant("augmentation", "this project, notebooks 05 and 06", 128, 18, True, ours=True),
)}


def keras_io_network():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ], name="keras_io")


def ghouzam_network():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 5, padding="same", activation="relu"),
        layers.Conv2D(32, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, strides=2), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="ghouzam")


def deotte_network():
    import keras
    from keras import layers

    def conv(filters, size, **options):
        return [layers.Conv2D(filters, size, activation="relu", **options),
                layers.BatchNormalization()]

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        *conv(32, 3), *conv(32, 3), *conv(32, 5, strides=2, padding="same"), layers.Dropout(0.4),
        *conv(64, 3), *conv(64, 3), *conv(64, 5, strides=2, padding="same"), layers.Dropout(0.4),
        *conv(128, 4), layers.Flatten(), layers.Dropout(0.4),
        layers.Dense(10, activation="softmax"),
    ], name="deotte")


def notebook_cell(notebook: str, marker: str) -> str:
    """The one code cell of `notebooks/<notebook>.ipynb` that contains `marker`."""
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    [source] = ["".join(c["source"]) for c in cells
                if c["cell_type"] == "code" and marker in "".join(c["source"])]
    return source


def notebook_network(seed: int):
    """05's network, its cell run here as the notebook runs it (the number format included)."""
    import keras
    from keras import layers

    from digit_recognizer.learning import precision

    code = notebook_cell("05_batchnorm", "keras.Sequential([").replace("model.summary()", "")
    namespace = {"keras": keras, "layers": layers, "precision": precision, "seed": seed}
    exec(compile(code, "notebooks/05_batchnorm.ipynb", "exec"), namespace)
    return namespace["model"]


def notebook_augmenter():
    """06's augmenter, its cell run here up to the figure of samples."""
    import keras
    from keras import layers

    code = notebook_cell("06_augmentation", "augmenter = keras.Sequential(")
    namespace = {"keras": keras, "layers": layers}
    exec(compile(code.split("\nsamples =")[0], "notebooks/06_augmentation.ipynb", "exec"),
         namespace)
    return namespace["augmenter"]


def fitted_epochs(budget_seconds: float, seconds_per_epoch: float) -> int:
    """As many whole epochs as fit in the budget, at least one."""
    return max(1, math.floor(budget_seconds / seconds_per_epoch))


def deotte_rate(epochs: int):
    """Deotte's annealing, 1e-3 x 0.95 per epoch over 45 epochs, stretched over `epochs`: the
    same first and last rate."""
    published = ENTRANTS["deotte"].epochs
    return lambda epoch: 1e-3 * 0.95 ** (epoch * (published - 1) / max(1, epochs - 1))


def build(entrant: Entrant, seed: int, epochs: int, steps_per_epoch: int):
    """The entrant's network, compiled with its recipe for `epochs`; its callbacks."""
    import keras

    from digit_recognizer.learning import recipes, train

    train.seed_everything(seed)
    if entrant.ours:
        model = notebook_network(seed)
        r = replace(recipes.recipe(entrant.name, "full"), epochs=epochs)
        steps = steps_per_epoch * epochs
        warmup = max(1, steps // 10)
        rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps - warmup, warmup_target=r.learning_rate, warmup_steps=warmup)
        model.compile(optimizer=keras.optimizers.Adam(rate),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=r.label_smoothing),
                      metrics=["accuracy"], jit_compile=r.jit_compile)
        return model, []
    keras.config.set_dtype_policy("float32")  # as the write-ups trained them
    model = {"keras_io": keras_io_network, "ghouzam": ghouzam_network,
             "deotte": deotte_network}[entrant.name]()
    callbacks = []
    if entrant.name == "ghouzam":
        optimizer = keras.optimizers.RMSprop(1e-3, rho=0.9, epsilon=1e-8)
        callbacks = [keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy", patience=3, factor=0.5, min_lr=1e-5)]
    elif entrant.name == "deotte":
        optimizer = keras.optimizers.Adam(1e-3)
        callbacks = [keras.callbacks.LearningRateScheduler(deotte_rate(epochs))]
    else:
        optimizer = keras.optimizers.Adam()
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model, callbacks


def batches(entrant: Entrant, split, seed: int):
    from digit_recognizer.learning import augment, train

    augmenter = None
    if entrant.augmented:
        # Ghouzam's and Deotte's ImageDataGenerator: rotations of 10 degrees, zooms and shifts
        # of 10%; the project's augmenter as notebook 06 defines it.
        augmenter = notebook_augmenter() if entrant.ours else augment.augmenter(10, 0.1, 0.1)
    return train.dataset(split.x_train, split.y_train, entrant.batch_size, seed, augmenter)


def _fit(entrant: Entrant, split, seed: int, epochs: int):
    """The entrant's network trained `epochs` long, and the seconds `fit` took."""
    steps_per_epoch = math.ceil(len(split.x_train) / entrant.batch_size)
    model, callbacks = build(entrant, seed, epochs, steps_per_epoch)
    start = time.perf_counter()
    model.fit(batches(entrant, split, seed), validation_data=(split.x_val, split.y_val),
              epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)
    return model, time.perf_counter() - start


def seconds_per_epoch(entrant: Entrant, split, seed: int) -> float:
    """One epoch of the entrant's training, timed as `fit` runs it (its batches, augmentation,
    network and validation; the tracing of a new network's steps included, which makes the
    estimate err on the safe side)."""
    return _fit(entrant, split, seed, 1)[1]


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one image's forward pass, from the convolutions and dense layers."""
    from keras import layers

    flops = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            flops += 2 * kh * kw * layer.input.shape[-1] * c_out * h * w
        elif isinstance(layer, layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return flops


def peak_gflops(dtype: str = "float32", seconds: float = 3.0, n: int = 2048) -> float:
    """This host's matrix-multiply throughput, measured: the ceiling a network could reach."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    (a @ a).numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        (a @ a).numpy()
        count += 1
    return 2 * n ** 3 * count / (time.perf_counter() - start) / 1e9


def host() -> dict:
    import keras

    from digit_recognizer.learning import precision

    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "bfloat16_units": precision.fast_bfloat16(),
            "threads": len(os.sched_getaffinity(0)), "backend": keras.backend.backend(),
            "keras": keras.__version__, "device": precision.device(),
            "platform": f"{platform.system()} {platform.machine()}"}


def train_one(entrant: Entrant, split, seed: int, epochs: int) -> dict:
    """One network of the entrant, `epochs` long: its test probabilities and figures."""
    model, seconds = _fit(entrant, split, seed, epochs)
    probs = np.asarray(model.predict(split.x_test, batch_size=512, verbose=0), np.float64)
    images_per_second = len(split.x_train) * epochs / seconds
    return {"entrant": entrant.name, "seed": seed, "epochs": epochs,
            "train_seconds": round(seconds, 1),
            "test_accuracy": float(np.mean(probs.argmax(1) == split.answer_key)),
            "test_errors": int(np.sum(probs.argmax(1) != split.answer_key)),
            "weights": model.count_params(), "dtype": model.dtype_policy.name,
            "train_images_per_second": round(images_per_second),
            "train_gflops": round(images_per_second * 3 * forward_flops(model) / 1e9, 1),
            "probs": probs}


def summary(entrant: str, runs: list[dict]) -> dict:
    accuracies = [r["test_accuracy"] for r in runs]
    return {"entrant": entrant, "seeds": [r["seed"] for r in runs],
            "epochs": [r["epochs"] for r in runs],
            "train_seconds": [r["train_seconds"] for r in runs],
            "test_accuracy_mean": float(np.mean(accuracies)),
            "test_accuracy_std": float(np.std(accuracies)),
            "test_errors_mean": float(np.mean([r["test_errors"] for r in runs])),
            "train_images_per_second": round(float(np.mean(
                [r["train_images_per_second"] for r in runs]))),
            "train_gflops": round(float(np.mean([r["train_gflops"] for r in runs])), 1),
            "dtype": "bfloat16" if "bfloat16" in runs[0]["dtype"] else "float32"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-dir", default=None, help="the four MNIST *-ubyte.gz files")
    p.add_argument("--entrants", default=",".join(ENTRANTS),
                   help="comma-separated, of: " + ", ".join(ENTRANTS))
    p.add_argument("--budget-minutes", type=float, default=10.0,
                   help="training time of each single network (default 10)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--ensemble-minutes", type=float, default=60.0,
                   help="training time of each entrant's ensemble (0: no ensemble race)")
    p.add_argument("--ensemble-members", type=int, default=5,
                   help="networks an ensemble averages, each with an even share of the time")
    p.add_argument("--ensemble-entrants", default="deotte,augmentation")
    p.add_argument("--limit", type=int, default=0, help="use N training images (a smoke run)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", default=None, help="the JSON file to write")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT / "bench"))
    import bench  # the benchmark's split: 55,000 / 5,000 / the official 10,000
    from digit_recognizer import fileio

    unknown = {*args.entrants.split(","), *args.ensemble_entrants.split(",")} - {"", *ENTRANTS}
    if unknown:
        p.error(f"unknown entrants: {', '.join(sorted(unknown))}")
    split = bench.load_split(args.mnist_dir, args.limit, args.seed)
    info = {**host(), "peak_gflops_float32": round(peak_gflops("float32"), 1)}
    if info["bfloat16_units"]:
        info["peak_gflops_bfloat16"] = round(peak_gflops("bfloat16"), 1)
    print(f"train {len(split.x_train)}, test {len(split.x_test)}; {info}", flush=True)
    started = time.perf_counter()
    singles, ensembles, probes = [], [], {}

    def epochs_within(name: str, budget_seconds: float) -> int:
        if name not in probes:
            probes[name] = round(seconds_per_epoch(ENTRANTS[name], split, args.seed), 1)
            print(f"{name}: an epoch takes {probes[name]} s", flush=True)
        return fitted_epochs(budget_seconds, probes[name])

    for name in filter(None, args.entrants.split(",")):
        epochs = epochs_within(name, args.budget_minutes * 60)
        runs = []
        for seed in range(args.seed, args.seed + args.seeds):
            runs.append(train_one(ENTRANTS[name], split, seed, epochs))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "probs"}), flush=True)
        singles.append(summary(name, runs))
    if args.ensemble_minutes > 0:
        share = args.ensemble_minutes * 60 / args.ensemble_members
        for name in filter(None, args.ensemble_entrants.split(",")):
            epochs = epochs_within(name, share)
            members = [train_one(ENTRANTS[name], split, args.seed + 100 + i, epochs)
                       for i in range(args.ensemble_members)]
            average = np.mean([m["probs"] for m in members], axis=0)
            ensembles.append({
                "entrant": name, "members": len(members), "epochs": [epochs] * len(members),
                "train_seconds": round(sum(m["train_seconds"] for m in members), 1),
                "test_accuracy": float(np.mean(average.argmax(1) == split.answer_key)),
                "test_errors": int(np.sum(average.argmax(1) != split.answer_key))})
            print(json.dumps(ensembles[-1]), flush=True)
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "host": info,
              "command": " ".join(["python", "bench/race.py", *(argv or sys.argv[1:])]),
              "budget_minutes": args.budget_minutes, "ensemble_minutes": args.ensemble_minutes,
              "train_images": len(split.x_train), "test_images": len(split.x_test),
              "seconds_per_epoch": probes,
              "total_seconds": round(time.perf_counter() - started, 1),
              "singles": singles, "ensembles": ensembles}
    out = Path(args.output) if args.output else \
        ROOT / "bench" / "results" / f"race-{info['backend']}-{info['device'].split()[0]}.json"
    fileio.write_json(out, report)
    print("\n" + markdown_table(report) + f"\n\nwrote {out}")
    return 0


def markdown_table(report: dict) -> str:
    lines = ["| entrant | seeds | epochs in the budget | test accuracy | errors | images/s | "
             "GFLOP/s (share of the peak in its number format) |", "|" + " --- |" * 7]
    for s in report["singles"]:
        peak = report["host"][f"peak_gflops_{s['dtype']}"]
        lines.append(
            f"| {s['entrant']} | {len(s['seeds'])} | {', '.join(map(str, s['epochs']))} | "
            f"{s['test_accuracy_mean']:.2%} ± {s['test_accuracy_std']:.2%} | "
            f"{s['test_errors_mean']:.1f} | {s['train_images_per_second']:,} | "
            f"{s['train_gflops']} ({s['train_gflops'] / peak:.0%}) |")
    for e in report["ensembles"]:
        lines.append(f"| {e['entrant']} ensemble of {e['members']} | | "
                     f"{', '.join(map(str, e['epochs']))} | {e['test_accuracy']:.2%} | "
                     f"{e['test_errors']} | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
