"""What the notebooks say about a run, computed from the run's own facts and numbers.

Every function returns rendered Markdown (`IPython.display.Markdown`) for a notebook cell, or
the plain text it is made of, so no notebook states a figure or a claim by hand. This module
imports nothing heavy.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from IPython.display import Markdown

from digit_recognizer.layout import Outputs
from digit_recognizer.learning.intervals import (  # noqa: F401 (also read as report.*)
    Z95,
    beyond_noise,
    difference_interval,
    interval,
    noise_points,
    wilson,
)
from digit_recognizer.learning.recipe import differences

PACKAGE_DIR = Path(__file__).resolve().parent
FULL_COMMAND = "./run_all.sh --source mnist --mnist-dir ../shared/data/mnist --profile full"


# ------------------------------------------------------------------ the run's facts


def read_source(outputs: Outputs) -> dict | None:
    """What `01_load` recorded of the data (`outputs/data/source.json`), or None before it ran."""
    path = outputs.source_info
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def shown_path(path: str | os.PathLike, outputs: Outputs) -> str:
    """`path` as a notebook may print it: relative to the project (the folder of `outputs/`),
    inside the package, or by its last two parts, never as an absolute path of this machine."""
    path = Path(path).resolve()
    for base, prefix in ((Path(outputs.root).resolve().parent, ""),
                         (PACKAGE_DIR, "<package digit_recognizer>/")):
        if path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return ".../" + "/".join(path.parts[-2:])


SOURCE_FACTS = ("source", "description", "train_rows", "test_rows", "has_answer_key")


def source_facts(source: Mapping | None) -> dict:
    """What a split keeps of 01_load's record: the facts, not the files' paths."""
    return {k: source[k] for k in SOURCE_FACTS if k in source} if source else {}


def _rows(source: Mapping) -> str:
    parts = []
    for key, what in (("train_rows", "training"), ("test_rows", "test")):
        if source.get(key) is not None:
            parts.append(f"{source[key]:,} {what}")
    return " and ".join(parts) + " rows used" if parts else ""


def _epochs(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    if len(set(counts.values())) == 1:
        n = next(iter(counts.values()))
        return f"{n} epoch{'s' * (n != 1)} per model"
    return ", ".join(f"{m} {n} epochs" for m, n in counts.items())


def banner_text(*, source: Mapping | None = None, profile: str | None = None,
                seed: int | None = None, split=None, epochs: Mapping[str, int] | None = None,
                limits: Mapping[str, int] | None = None,
                model: str = "") -> str:
    """The run in one paragraph, and for the `quick` profile that it is a smoke run. `epochs`:
    how many epochs each model shown was trained for (its metrics say)."""
    facts = [f"model: {model}"] if model else []
    if source:
        rows = _rows(source)
        described = f", {source['description']}" if source.get("description") else ""
        facts.append(f"data: `{source.get('source')}`{described}" + (f"; {rows}" if rows else ""))
    for name, value in (limits or {}).items():
        if value:
            facts.append(f"limited to the first {value:,} {name} rows")
    if split is not None:
        facts.append(f"split: {len(split.x_train):,} training, {len(split.x_val):,} validation "
                     f"and {len(split.x_test):,} test images")
    if seed is not None:
        facts.append(f"seed {seed}")
    if profile is not None:
        trained = _epochs(epochs or {})
        facts.append(f"profile `{profile}`" + (f" ({trained})" if trained else ""))
    text = "**This run** · " + " · ".join(facts) if facts else "**This run**"
    if profile is None and not model:
        text += ("\n\nThis notebook does not depend on the training profile: it is the same in a "
                 "`quick` and a `full` run.")
    elif profile == "quick":
        text += ("\n\n> **A smoke run.** The `quick` profile trains few epochs"
                 + (" on few rows" if _is_small(source, split) else "")
                 + ", so that every step of the chain runs in minutes. Its accuracies show that "
                 "the chain works, not what the methods reach: the README's *Results* and "
                 "*Benchmark* tables measure the `full` profile "
                 f"(`{FULL_COMMAND}`).")
    elif profile != "full":
        text += (f"\n\n> The `{profile}` profile. The README's *Results* and *Benchmark* "
                 "tables measure the `full` profile: compare with them knowing the recipes "
                 "differ.")
    else:
        text += ("\n\n> The `full` profile: the recipes that the README's *Results* and "
                 "*Benchmark* tables measure"
                 + (", here on fewer rows than those tables (the local competition's 42,000 "
                    "training rows), so expect lower accuracies" if _is_small(source, split)
                    else "") + ".")
    return text


def _is_small(source: Mapping | None, split) -> bool:
    if split is not None:
        return len(split.x_train) + len(split.x_val) < 42_000
    return bool(source) and (source.get("train_rows") or 0) < 42_000


def banner(**facts) -> Markdown:
    """`banner_text` rendered: the first output of every notebook."""
    return Markdown(banner_text(**facts))


# ------------------------------------------------------------------ noise of the validation set


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _with_interval(accuracy: float, n: int) -> str:
    low, high = interval(accuracy, n)
    return f"{_pct(accuracy)} (95% interval {_pct(low)}–{_pct(high)})"


def difference_text(name_a: str, a: float, name_b: str, b: float, n: int,
                    rows: str = "validation") -> str:
    """One sentence: how `a` compares with `b`, and whether that is more than noise; `rows`
    names the digits both were measured on."""
    points = 100 * (a - b)
    if round(points, 1) == 0:
        return f"{name_a} and {name_b} score the same on {rows}"
    direction = "above" if points > 0 else "below"
    verdict = (f"larger than the {rows} set's noise" if beyond_noise(a, b, n) else
               f"within the noise of {n:,} {rows} digits: this run cannot tell them apart")
    return f"{name_a} is {abs(points):.1f} points {direction} {name_b}, {verdict}"


# ------------------------------------------------------------------ what a result shows


def _title(name: str) -> str:
    return f"`{name}`"


def _recipe_line(metrics: Mapping) -> str:
    r = metrics["recipe"]
    rate = (f"a warm-up to {r['learning_rate']:g}, then a cosine decay" if r["schedule"] == "cosine"
            else f"a constant {r['learning_rate']:g}")
    extras = [f"label smoothing {r['label_smoothing']:g}"] if r["label_smoothing"] else []
    extras += ["augmented digits"] if r["augment"] else []
    return (f"Adam with {rate}; batches of {r['batch_size']}; {metrics['epochs']} epochs"
            + "".join(f"; {e}" for e in extras)
            + f"; `{metrics['precision']}` arithmetic; seed {metrics['seed']}")


def training_text(metrics: Mapping, epochs: Sequence[Mapping], name: str = "",
                  stage: str = "") -> str:
    """How a network was trained and by which command, with its log: one row per epoch.
    `name` (default: the metrics' model) and `stage` (default: `train_<model>`) for an
    ensemble's member."""
    name, stage = name or metrics["model"], stage or f"train_{metrics['model']}"
    text = (f"`{name}` was trained by the stage `{stage}` of this run (`dvc repro {stage}`, "
            f"which `./run_all.sh` runs when it is out of date), in "
            f"{metrics['train_seconds']:.0f} s: {_recipe_line(metrics)}. Its recipe is in the "
            f"section `{stage}` of `params.yaml`.\n\n"
            "| epoch | loss | accuracy | validation loss | validation accuracy |\n"
            "| ---: | ---: | ---: | ---: | ---: |\n")
    for e in epochs:
        text += (f"| {e['epoch']} | {e['loss']:.4f} | {_pct(e['accuracy'])} | "
                 f"{e['val_loss']:.4f} | {_pct(e['val_accuracy'])} |\n")
    smoothing = metrics["recipe"].get("label_smoothing") or 0
    if smoothing and epochs:
        text += "\n" + smoothing_text(smoothing, epochs[-1]) + "\n"
    return text


CLASSES = 10  # the digits


def smoothed_target(smoothing: float, classes: int = CLASSES) -> tuple[float, float]:
    """What label smoothing trains towards: (the true digit's share, each other digit's)."""
    return 1 - smoothing + smoothing / classes, smoothing / classes


def smoothing_floor(smoothing: float, classes: int = CLASSES) -> float:
    """The least cross-entropy a model can reach against smoothed targets: the targets' own
    entropy (in nats, as Keras computes the loss), reached by predicting the target itself."""
    true, other = smoothed_target(smoothing, classes)
    return -true * math.log(true) - (classes - 1) * other * math.log(other) if other else 0.0


def smoothing_text(smoothing: float, last: Mapping) -> str:
    """Why the loss of a model trained with label smoothing stays well above 0."""
    true, other = smoothed_target(smoothing)
    floor = smoothing_floor(smoothing)
    return (f"With label smoothing {smoothing:g} the target is {true:.0%} on the true digit and "
            f"{other:.0%} on each of the {CLASSES - 1} others, so even a perfect model's loss is "
            f"that target's entropy, {floor:.3f}, not 0 (the validation loss is smoothed too). "
            f"The last epoch's loss {last['loss']:.4f} is {last['loss'] - floor:.3f} above "
            f"that floor, its validation loss {last['val_loss']:.4f} "
            f"{last['val_loss'] - floor:.3f} above it.")


def training(metrics: Mapping, epochs: Sequence[Mapping], name: str = "",
             stage: str = "") -> Markdown:
    return Markdown(training_text(metrics, epochs, name, stage))


def model_summary_text(metrics: Mapping, n_val: int, history: Mapping | None = None) -> str:
    """What one trained model shows: its accuracy with the noise, and its last epoch."""
    name = metrics["model"]
    text = (f"**What this shows.** {_title(name)} reads "
            f"{_with_interval(metrics['val_accuracy'], n_val)} of the {n_val:,} validation "
            f"digits right ({metrics['val_errors']} wrong).")
    noise = noise_points(metrics["val_accuracy"], n_val)
    text += (f" With {n_val:,} validation digits, two models near this accuracy must differ by "
             f"more than about {noise:.1f} points before the difference is more than noise.")
    if history and history.get("accuracy") and history.get("val_accuracy"):
        text += " " + fit_text(metrics, history, noise)
    if metrics.get("local_score") is not None:
        text += f" On the hidden test rows (answer key): {_pct(metrics['local_score'])}."
    return text


def fit_text(metrics: Mapping, history: Mapping, noise: float) -> str:
    """The last epoch's training against validation accuracy, and what the gap means;
    `noise`: the validation set's noise, in points."""
    train, val = history["accuracy"][-1], history["val_accuracy"][-1]
    text = f"In the last epoch, training accuracy {_pct(train)} vs validation {_pct(val)}: "
    if 100 * (train - val) > noise:
        return text + ("the model fits its training digits clearly better than new ones "
                       "(over-fitting).")
    if round(100 * (val - train), 1) <= 0:
        return text + "no gap beyond the noise, so no sign of over-fitting."
    beyond = "beyond" if 100 * (val - train) > noise else "within"
    return text + f"validation is higher ({beyond} the noise). " + \
        training_below_validation(metrics, history)


def training_below_validation(metrics: Mapping, history: Mapping) -> str:
    """Why training accuracy can be below validation: the reasons that hold for this model."""
    text = ("Keras's training accuracy is the running average over the epoch's batches, taken "
            "while the weights still improve")
    accuracies = history["val_accuracy"]
    if len(accuracies) > 1 and accuracies[-1] > accuracies[-2]:
        text += (f" (validation accuracy rose from {_pct(accuracies[-2])} to "
                 f"{_pct(accuracies[-1])} over that epoch)")
    conditions = ["with this network's dropout on"] if _has_dropout(metrics) else []
    if (metrics.get("recipe") or {}).get("augment"):
        conditions.append("on augmented digits")
    if conditions:
        text += ", " + " and ".join(conditions)
    return text + "; validation accuracy is measured after the epoch, with its final weights."


def _has_dropout(metrics: Mapping) -> bool:
    if not metrics.get("builder"):
        return False
    from digit_recognizer.learning import models  # Keras: only where a builder is asked about

    return "Dropout" in models.layer_kinds(metrics["builder"])


def model_summary(metrics: Mapping, n_val: int, history: Mapping | None = None) -> Markdown:
    return Markdown(model_summary_text(metrics, n_val, history))


def comparison_text(rows: Sequence[Mapping], n_val: int) -> str:
    """What a comparison shows: the best model and how far each other one is from it."""
    ranked = sorted(rows, key=lambda r: -r["val_accuracy"])
    best = ranked[0]
    text = (f"**What this shows.** Best on validation: {_title(best['model'])}, "
            f"{_with_interval(best['val_accuracy'], n_val)}.")
    for row in ranked[1:]:
        text += "\n- " + difference_text(_title(row["model"]), row["val_accuracy"],
                                         _title(best["model"]), best["val_accuracy"], n_val) + "."
    tied = [r["model"] for r in ranked[1:]
            if not beyond_noise(r["val_accuracy"], best["val_accuracy"], n_val)]
    if tied:
        text += (f"\n\nSo {_title(best['model'])} ranks first, but this validation set cannot "
                 f"tell it from {', '.join(map(_title, tied))}: which of them is better is not "
                 "settled by this run.")
    return text


def comparison(rows: Sequence[Mapping], n_val: int) -> Markdown:
    return Markdown(comparison_text(rows, n_val))


def ensemble_text(average: Mapping, members: Sequence[Mapping], n_val: int) -> str:
    """Whether the average of the members beat its best member, on validation."""
    best = max(members, key=lambda m: m["val_accuracy"])
    accs = [m["val_accuracy"] for m in members]
    spread = f"{_pct(min(accs))}–{_pct(max(accs))}"
    text = (f"**What this shows.** {len(members)} members of one recipe, from different seeds, "
            f"score {spread} on validation; their average scores "
            f"{_with_interval(average['val_accuracy'], n_val)}. ")
    text += difference_text("The average", average["val_accuracy"],
                            f"its best member (seed {best.get('seed', '?')})",
                            best["val_accuracy"], n_val) + "."
    if average["val_accuracy"] <= best["val_accuracy"]:
        text += (" In this run, averaging did not beat the best member on validation; an "
                 "ensemble earns its cost only where it does.")
    return text


def ensemble(average: Mapping, members: Sequence[Mapping], n_val: int) -> Markdown:
    return Markdown(ensemble_text(average, members, n_val))


# ------------------------------------------------------------------ what a step changes


def changes_text(before: Mapping, after: Mapping) -> str:
    """What a model's training changes from another's, from the two models' metrics (what was
    trained in this run, not what a recipe says)."""
    changes = differences(before, after)
    if not changes:
        return f"{_title(after['model'])} trains exactly as {_title(before['model'])}."
    text = (f"Compared with {_title(before['model'])}, this step changes {len(changes)} "
            f"thing{'s' * (len(changes) != 1)}:\n"
            + "".join(f"\n- {change}" for change in changes))
    if len(changes) > 1:
        text += ("\n\nA difference in accuracy comes from these changes together; this notebook "
                 "does not measure which of them made it. `10_experiments` does: it adds them "
                 "one at a time, from several seeds each.")
    return text


def changes(before: Mapping, after: Mapping) -> Markdown:
    return Markdown(changes_text(before, after))
