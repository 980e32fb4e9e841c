"""Training that a rerun does not repeat: the same inputs load what they trained before.

`fit` trains a compiled model as a notebook built it, or loads the weights and the per-epoch
log that the very same training left in the memo folder. DVC reruns a notebook when anything
in it changed (a plot, a sentence); this memo makes such a rerun train only what changed.

The key is a hash of everything that decides the trained weights, read from the objects
themselves rather than from names:
- the network: its config (every layer with its settings and number format) and its weights
  before training (so the seed and the initialisers);
- the recipe: the compile config (optimizer with its learning-rate schedule, loss, metrics);
- the data: the training and validation arrays, the batch size, the shuffling seed and the
  augmentation's config;
- the number of epochs, and any callback that can change training;
- the training code: the source of this module and of the helper modules that feed and fit;
- Keras's, the backend's and NumPy's versions.
Not in it: how much is printed, where results are written, the notebook's other cells.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digit_recognizer import fileio

# The modules whose code can change what a notebook's training computes (its own cells reach
# the key through the model they build and compile), and what an ensemble member's does.
TRAINING_CODE = ("memo", "train", "batches")
MEMBER_CODE = (*TRAINING_CODE, "members", "augment", "models")
ENTRY_FILES = ("model.keras", "history.json", "record.json")


def hash_value(digest, value) -> None:
    if isinstance(value, np.ndarray):
        digest.update(str((value.dtype, value.shape)).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        for array in value:
            hash_value(digest, array)
    else:
        digest.update(json.dumps(value, sort_keys=True, default=repr).encode())


def training_code(modules: tuple[str, ...] = TRAINING_CODE) -> dict[str, str]:
    """The hash of each training module's source."""
    folder = Path(__file__).parent
    return {name: hashlib.sha256((folder / f"{name}.py").read_bytes()).hexdigest()[:16]
            for name in modules}


def versions() -> dict[str, str]:
    import keras

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    found = {"keras": keras.__version__, "numpy": np.__version__, "backend": backend,
             "python": platform.python_version()}
    if module:
        found[module] = __import__(module).__version__
    return found


def without_names(config):
    """`config` with every name (of a layer, a model, an optimizer) replaced by its order of
    appearance: Keras numbers a layer's default name by how many such layers the session has
    built, so rerunning a cell renames its layers without changing the network. (A model's own
    name is left out: it may equal a layer's.)"""
    names: dict[str, str] = {}
    if isinstance(config.get("config"), dict):
        config = {**config, "config": {**config["config"], "name": None}}

    def collect(value):
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names.setdefault(value["name"], f"#{len(names)}")
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    def rename(value):
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    collect(config)
    return rename(config)


def callback_settings(callbacks: Iterable) -> list:
    """What of each callback can change training: its kind and its plain settings."""
    return [[type(c).__qualname__,
             {k: v for k, v in sorted(vars(c).items())
              if isinstance(v, (int, float, str, bool)) and not k.startswith("_")}]
            for c in callbacks]


def key(model, split, *, epochs: int, batch_size: int, seed: int, augmenter=None,
        callbacks: Iterable = ()) -> str:
    digest = hashlib.sha256()
    for value in (
        without_names(json.loads(model.to_json())),
        [np.asarray(w) for w in model.get_weights()],
        without_names(model.get_compile_config()),
        split.x_train, split.y_train, split.x_val, split.y_val,
        {"epochs": epochs, "batch_size": batch_size, "seed": seed,
         "augmenter": None if augmenter is None else without_names(
             json.loads(augmenter.to_json())),
         "callbacks": callback_settings(callbacks)},
        training_code(), versions(),
    ):
        hash_value(digest, value)
    return digest.hexdigest()[:20]


@dataclass
class Training:
    """What `fit` gives back: the log per epoch (Keras's form), the time training took, the
    saved model (the memo's file: copy it, never write it) and whether it was loaded."""

    name: str
    history: dict[str, list[float]]
    seconds: float
    epochs: int
    batch_size: int
    seed: int
    augmenter: str  # the augmentation's layers (`to_json()`), "" without
    model_file: Path
    loaded: bool
    trained_at: str
    key: str


def epoch_lines(name: str, epochs: int):
    """A Keras callback printing one line per epoch."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"{name}: epoch {epoch + 1}/{epochs}, {time.perf_counter() - self.start:.0f} s, "
                  f"loss {logs.get('loss', float('nan')):.4f}, "
                  f"validation accuracy {logs.get('val_accuracy', float('nan')):.2%}", flush=True)

    return Progress()


def _load(model, entry: Path, digest: str, **facts) -> Training:
    import keras

    record = fileio.read_json(entry / "record.json")
    trained = keras.saving.load_model(entry / "model.keras", compile=False)
    model.set_weights(trained.get_weights())
    epochs = f"{record['epochs']} epoch{'s' * (record['epochs'] != 1)}"
    print(f"{model.name}: not trained again: loaded what the same network, weights at the start, "
          f"recipe, data and training code gave on {record['trained_at']} ({epochs} in "
          f"{record['seconds']:.0f} s), kept in {entry}", flush=True)
    return Training(model.name, fileio.read_json(entry / "history.json"), record["seconds"],
                    record["epochs"], model_file=entry / "model.keras", loaded=True,
                    trained_at=record["trained_at"], key=digest, **facts)


def fit(model, split, *, epochs: int, batch_size: int, seed: int, store: str | os.PathLike,
        augmenter=None, callbacks: list | None = None, verbose: int = 0) -> Training:
    """Train the compiled `model` on the split's training rows, validating on its validation
    rows (shuffled batches from `seed`, augmented by `augmenter` if given), or load the weights
    that the same training left in `store`. One line per epoch (or Keras's own lines with
    `verbose`)."""
    from digit_recognizer.learning import train

    callbacks = list(callbacks or [])
    digest = key(model, split, epochs=epochs, batch_size=batch_size, seed=seed,
                 augmenter=augmenter, callbacks=callbacks)
    entry = Path(store) / digest
    facts = {"batch_size": batch_size, "seed": seed,
             "augmenter": "" if augmenter is None else augmenter.to_json()}
    if all((entry / f).is_file() for f in ENTRY_FILES):
        return _load(model, entry, digest, **facts)
    train.seed_everything(seed)
    data = train.dataset(split.x_train, split.y_train, batch_size, seed, augmenter)
    progress = [] if verbose else [epoch_lines(model.name, epochs)]
    start = time.perf_counter()
    history = model.fit(data, validation_data=(split.x_val, split.y_val), epochs=epochs,
                        verbose=verbose, callbacks=callbacks + progress, shuffle=False)
    seconds = time.perf_counter() - start
    log = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    trained_at = time.strftime("%Y-%m-%d %H:%M %Z")
    record = {"name": model.name, "trained_at": trained_at, "seconds": round(seconds, 1),
              "epochs": epochs}
    keep(entry, lambda folder: _write(folder, model, log, record))
    print(f"{model.name}: trained in {seconds:.0f} s; kept in {entry} for an unchanged rerun",
          flush=True)
    return Training(model.name, log, seconds, epochs, model_file=entry / "model.keras",
                    loaded=False, trained_at=trained_at, key=digest, **facts)


def keep(entry: Path, write) -> None:
    """Write a memo entry whole or not at all: `write(folder)` fills a folder beside it, which
    is then renamed."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}-"))
    try:
        write(folder)
        if entry.exists():
            shutil.rmtree(entry)
        folder.rename(entry)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write(folder: Path, model, history: dict, record: dict) -> None:
    model.save(folder / "model.keras")
    fileio.write_json(folder / "history.json", history)
    fileio.write_json(folder / "record.json", record)
