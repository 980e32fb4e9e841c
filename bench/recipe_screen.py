"""A screen of cheaper or stronger variants of the augmentation recipe, one training each.

    python bench/recipe_screen.py --mnist-dir ../shared/data/mnist --arch early_pool --epochs 12
    python bench/recipe_screen.py --mnist-dir DIR --arch early_pool --epochs 12 --ema
    python bench/recipe_screen.py --mnist-dir DIR --arch batchnorm_cnn --epochs 7

Each call trains one network on the benchmark's split of the official MNIST (55,000 training
images, 5,000 validation; `bench.load_split`) with the `full` augmentation recipe (batch norm,
warm-up and cosine decay to 0.003, label smoothing 0.1, rotations, zooms and shifts), changed in
one or two things: a cheaper architecture, the epochs, an exponential moving average of the
weights (Keras's own `use_ema`). It appends a row to
`bench/results/recipe-screen-<backend>-cpu.json`.

Elastic distortions are not screened: Keras 3.15's `RandomElasticTransform`, mapped over the
tf.data batches, gives every image of a batch the first image's distortion
(`tests/test_train.py::test_augmented_batches_keep_every_image_its_own` guards our augmenter).

One seed per variant: a screen that shows what is worth the seeds of `bench.py`, not a verdict
(the seed spread of one recipe is about 0.06 points).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
from keras import layers

from bench import accuracy, load_split, machine
from digit_recognizer import fileio
from digit_recognizer.learning import augment, evaluate, models, recipes
from digit_recognizer.learning.models import INPUT_SHAPE, N_CLASSES, _conv_bn
from digit_recognizer.learning.train import fit, seed_everything


def early_pool(name: str = "early_pool") -> keras.Model:
    """`batchnorm_cnn` with one 32-filter convolution before the first pooling instead of two:
    the second one, at 24x24, is about half of the network's multiply-adds."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE), *_conv_bn(32), layers.MaxPooling2D(),
        *_conv_bn(64), *_conv_bn(64), layers.MaxPooling2D(), layers.Dropout(0.25),
        *_conv_bn(128), layers.GlobalAveragePooling2D(), layers.Dropout(0.25),
        layers.Dense(N_CLASSES, activation="softmax", dtype="float32")], name=name)


ARCHITECTURES = {"batchnorm_cnn": models.batchnorm_cnn, "early_pool": early_pool}


def train(arch: str, epochs: int, seed: int, ema: bool, mnist_dir: str) -> dict:
    split = load_split(mnist_dir, 0, 42)
    seed_everything(seed)
    model = ARCHITECTURES[arch]()
    seconds = fit(model, split, recipes.recipe("augmentation", "full", epochs), seed, verbose=2,
                  augmenter=augment.augmenter(),
                  adam_options={"use_ema": True, "ema_momentum": 0.999} if ema else None).seconds
    val = model.predict(split.x_val, batch_size=1024, verbose=0)
    test = model.predict(split.x_test, batch_size=1024, verbose=0)
    return {"arch": arch, "epochs": epochs, "seed": seed, "ema": ema,
            "parameters": model.count_params(), "train_seconds": round(seconds),
            "val_accuracy": accuracy(val, split.y_val.argmax(1)),
            "test_accuracy": accuracy(test, split.answer_key),
            "test_accuracy_tta": accuracy(evaluate.predict_tta(model, split.x_test),
                                          split.answer_key)}


def markdown_table(screen: dict) -> str:
    lines = ["| network | parameters | epochs | EMA | val accuracy | test accuracy | with TTA "
             "| train time |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in screen["rows"]:
        lines.append(f"| `{r['arch']}` | {r['parameters']:,} | {r['epochs']} | "
                     f"{'yes' if r['ema'] else ''} | {r['val_accuracy']:.2%} | "
                     f"{r['test_accuracy']:.2%} | {r['test_accuracy_tta']:.2%} | "
                     f"{r['train_seconds'] / 60:.1f} min |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-dir", default=None, help="the four MNIST *-ubyte.gz files")
    p.add_argument("--arch", choices=ARCHITECTURES, default="early_pool")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ema", action="store_true", help="an exponential moving average (0.999)")
    p.add_argument("--output", default=None, help="the JSON file to append to")
    args = p.parse_args(argv)
    info = machine()
    out = Path(args.output or f"bench/results/recipe-screen-{info['backend']}-cpu.json")
    screen = (fileio.read_json(out) if out.exists() else
              {"machine": info, "split": "official MNIST: 55,000 training, 5,000 validation "
               "(stratified, seed 42), 10,000 test", "rows": []})
    row = train(args.arch, args.epochs, args.seed, args.ema, args.mnist_dir)
    screen["rows"].append(row | {"date": time.strftime("%Y-%m-%d %H:%M")})
    fileio.write_json(out, screen)
    print(markdown_table(screen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
