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

from digit_recognizer.datasets.data import N_CLASSES
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
                model: str = "", trains: str = "") -> str:
    """The run in one paragraph. A notebook that trains gives `epochs`, how many each of its
    models trains, and is told whether that is a short run by the `full` recipe's epochs
    (never by a parameter's name); a notebook that only reads gives the run's `profile`."""
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
    if epochs:
        facts.append(f"trains {_epochs(epochs)}")
    if trains:
        facts.append(f"trains {trains}")
    elif profile is not None:
        facts.append(f"profile `{profile}`")
    text = "**This run** · " + " · ".join(facts) if facts else "**This run**"
    if epochs:
        return text + "\n\n" + _budget_box(epochs, _is_small(source, split))
    if trains:
        return text
    if profile is None and not model:
        text += ("\n\nThis notebook does not depend on the training profile: it is the same in a "
                 "`quick` and a `full` run.")
    elif profile == "quick":
        text += ("\n\n> **A smoke run.** The `quick` profile trains few epochs"
                 + (" on few rows" if _is_small(source, split) else "")
                 + ", so that every step of the chain runs in minutes. Its accuracies show that "
                 "the chain works, not what the methods reach: the README's *Results* and "
                 "bench/README.md's tables measure the `full` profile "
                 f"(`{FULL_COMMAND}`).")
    elif profile != "full":
        text += (f"\n\n> The `{profile}` profile. The README's *Results* and "
                 "bench/README.md's tables measure the `full` profile: compare with them "
                 "knowing the recipes differ.")
    else:
        text += ("\n\n> The `full` profile: the recipes that the README's *Results* and "
                 "bench/README.md's tables measure"
                 + (", here on fewer rows than those tables (the local competition's 42,000 "
                    "training rows), so expect lower accuracies" if _is_small(source, split)
                    else "") + ".")
    return text


def _budget_box(epochs: Mapping[str, int], small: bool) -> str:
    """Whether the epochs a notebook trains are the `full` recipe's, whose results the README
    tables give."""
    from digit_recognizer.learning import recipes

    full = {m: recipes.recipe(m, "full").epochs for m in epochs if m in recipes.MODELS}
    short = [f"{m} {n} of {full[m]}" for m, n in epochs.items() if m in full and n < full[m]]
    rows = (", on fewer rows than those tables (the local competition's 42,000 training "
            "rows)") if small else ""
    if short:
        return ("> **A short run** (epochs: " + ", ".join(short) + f"){rows}. Its accuracies "
                "show that the chain works, not what the methods reach: the README's *Results* "
                f"and bench/README.md's tables measure the `full` recipes (`{FULL_COMMAND}`).")
    return ("> The `full` recipes' epochs, whose results the README's *Results* and "
            f"bench/README.md's tables give{rows}"
            + (", so expect lower accuracies" if small else "") + ".")


def _is_small(source: Mapping | None, split) -> bool:
    if split is not None:
        return len(split.x_train) + len(split.x_val) < 42_000
    return bool(source) and (source.get("train_rows") or 0) < 42_000


def banner(**facts) -> Markdown:
    """`banner_text` rendered: the first output of every notebook."""
    return Markdown(banner_text(**facts))


# ------------------------------------------------------------------ noise of the validation set


def _pct(value: float, decimals: int = 1) -> str:
    return f"{100 * value:.{decimals}f}%"


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
    epochs = metrics["epochs"]
    return (f"{r.get('optimizer', 'Adam')} with {rate}; batches of {r['batch_size']}; "
            f"{epochs} epoch{'s' * (epochs != 1)}"
            + "".join(f"; {e}" for e in extras)
            + f"; `{metrics['precision']}` arithmetic; seed {metrics['seed']}")


def training_text(metrics: Mapping, epochs: Sequence[Mapping], name: str = "") -> str:
    """How a network was trained, read from the trained model, with its log: one row per
    epoch. `name` (default: the metrics' model) for an ensemble's member."""
    name = name or metrics["model"]
    when = f" on {metrics['trained_at']}" if metrics.get("trained_at") else ""
    text = (f"`{name}` trained{when} in {metrics['train_seconds']:.0f} s: "
            f"{_recipe_line(metrics)}.\n\n"
            "| epoch | loss | accuracy | validation loss | validation accuracy |\n"
            "| ---: | ---: | ---: | ---: | ---: |\n")
    for e in epochs:
        text += (f"| {e['epoch']} | {e['loss']:.4f} | {_pct(e['accuracy'])} | "
                 f"{e['val_loss']:.4f} | {_pct(e['val_accuracy'])} |\n")
    smoothing = metrics["recipe"].get("label_smoothing") or 0
    if smoothing and epochs:
        text += "\n" + smoothing_text(smoothing, epochs[-1]) + "\n"
    return text


def smoothed_target(smoothing: float, classes: int = N_CLASSES) -> tuple[float, float]:
    """What label smoothing trains towards: (the true digit's share, each other digit's)."""
    return 1 - smoothing + smoothing / classes, smoothing / classes


def smoothing_floor(smoothing: float, classes: int = N_CLASSES) -> float:
    """The least cross-entropy a model can reach against smoothed targets: the targets' own
    entropy (in nats, as Keras computes the loss), reached by predicting the target itself."""
    true, other = smoothed_target(smoothing, classes)
    return -true * math.log(true) - (classes - 1) * other * math.log(other) if other else 0.0


def smoothing_text(smoothing: float, last: Mapping) -> str:
    """Why the loss of a model trained with label smoothing stays well above 0."""
    true, other = smoothed_target(smoothing)
    floor = smoothing_floor(smoothing)
    return (f"With label smoothing {smoothing:g} the target is {true:.0%} on the true digit and "
            f"{other:.0%} on each of the {N_CLASSES - 1} others, so even a perfect model's loss is "
            f"that target's entropy, {floor:.3f}, not 0 (the validation loss is smoothed too). "
            f"The last epoch's loss {last['loss']:.4f} is {last['loss'] - floor:.3f} above "
            f"that floor, its validation loss {last['val_loss']:.4f} "
            f"{last['val_loss'] - floor:.3f} above it.")


def training(metrics: Mapping, epochs: Sequence[Mapping], name: str = "") -> Markdown:
    return Markdown(training_text(metrics, epochs, name))


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
    return "Dropout" in metrics.get("layers", ())


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
    return Markdown(comparison_text(rows, n_val) + budgets_text(rows))


def _budget(row: Mapping) -> str | None:
    members = row.get("members")
    if isinstance(members, list):
        return None  # an average trains nothing of its own
    epochs = row.get("epochs")
    return None if epochs is None or epochs != epochs else f"{int(epochs)} epochs"


def budgets_text(rows: Sequence[Mapping]) -> str:
    """A warning when the compared models trained for different numbers of epochs: a gap
    between them is then not their architecture's or recipe's alone ("" when they match)."""
    by_budget: dict[str, list[str]] = {}
    for row in rows:
        if budget := _budget(row):
            by_budget.setdefault(budget, []).append(_title(row["model"]))
    if len(by_budget) < 2:
        return ""
    groups = "; ".join(f"{budget}: {', '.join(names)}" for budget, names in by_budget.items())
    return (f"\n\n**The training budgets differ** ({groups}), so each gap above mixes the "
            "models' differences with how long each trained. A comparison at one budget is "
            "`10_experiments`.")


def step_gain_text(before: Mapping, after: Mapping, n_val: int, where: str) -> str:
    """What a notebook's model gained over the model of the notebook before (`where`), in
    points and errors, with the noise, and whether their budgets differ."""
    text = (f"**What changed from {_title(before['model'])} ({where}).** "
            + difference_text(_title(after["model"]), after["val_accuracy"],
                              _title(before["model"]), before["val_accuracy"], n_val)
            + f": {_pct(before['val_accuracy'])} → {_pct(after['val_accuracy'])}, "
            f"{before['val_errors']} → {after['val_errors']} errors of {n_val:,}.")
    if before.get("local_score") is not None and after.get("local_score") is not None:
        text += (f" On the hidden test rows: {_pct(before['local_score'])} → "
                 f"{_pct(after['local_score'])}.")
    if before.get("epochs") != after.get("epochs"):
        text += (f" {_title(before['model'])} trained {before['epochs']} epochs and "
                 f"{_title(after['model'])} {after['epochs']}: part of the difference is the "
                 "longer or shorter training.")
    return text


def step_gain(before: Mapping, after: Mapping, n_val: int, where: str) -> Markdown:
    return Markdown(step_gain_text(before, after, n_val, where))


def kfold_text(average: Mapping, members: Sequence[Mapping]) -> str:
    """What the k-fold ensemble's out-of-fold predictions measure, and its use of TTA."""
    rows = average["oof_rows"]
    accs = [m["val_accuracy"] for m in members]
    text = (f"**What this shows.** {len(members)} members, each trained on {len(members) - 1} "
            f"of {len(members)} folds of all {rows:,} labelled rows, read the fold they never "
            f"saw with {_pct(min(accs))}–{_pct(max(accs))}. Together every labelled row is read "
            f"once by a network that never saw it: "
            f"{_with_interval(average['oof_accuracy'], rows)} out of fold. That measures one "
            "member at a time; the submission averages all of them.")
    if average.get("oof_accuracy_tta") is not None:
        plain, shifted = average["oof_accuracy_plain"], average["oof_accuracy_tta"]
        gained = round((shifted - plain) * rows)
        change = (f"{abs(gained):,} {'more' if gained > 0 else 'fewer'} of the {rows:,} rows "
                  "read right" if gained else "as many rows read right")
        text += (f" Test-time augmentation: {_pct(plain, 2)} without, {_pct(shifted, 2)} "
                 f"with, out of fold ({change}), so the ensemble "
                 f"{'uses' if average['tta'] else 'does not use'} it.")
    return text


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


# ------------------------------------------------------------------ conclusions


def eda_conclusion_text(labels, images, test_images, missing: int) -> str:
    """What 02's looks add up to, computed from the images (Markdown)."""
    import numpy as np

    counts = np.bincount(labels, minlength=N_CLASSES)
    ratio = counts.min() / counts.max()
    ink = images[images > 0]
    train_ink, test_ink = float(np.mean(images > 0)), float(np.mean(test_images > 0))
    brightness = float(test_images.mean() / images.mean() - 1)
    alike = abs(brightness) < 0.05 and abs(test_ink / train_ink - 1) < 0.05
    return (
        f"**What this shows.** The rarest digit has {ratio:.0%} of the most common one's rows, "
        + ("so the classes are balanced enough for plain accuracy to be a fair score. "
           if ratio > 0.7 else "so plain accuracy would favour the common digits. ")
        + f"A digit is ink on empty paper: {1 - train_ink:.0%} of the training pixels are 0; of "
        f"the ink, {np.mean(ink >= 250):.0%} is saturated (>= 250) and the other "
        f"{np.mean(ink < 250):.0%} is grey: the anti-aliased edges and fainter parts of the "
        "strokes. "
        + f"The test images carry ink on {test_ink:.1%} of their pixels against {train_ink:.1%} "
        f"in training, and their mean brightness differs by {brightness:+.1%}: "
        + ("they look alike, so validation accuracy should carry over to the test set. "
           if alike else "they differ, so validation accuracy may not carry over. ")
        + (f"The raw files have {missing} missing values. " if missing else
           "The raw files have no missing values. ")
        + "So the data needs no cleaning or rebalancing: `03_preprocess` only scales it and "
        "holds out a stratified validation split.")


def eda_conclusion(labels, images, test_images, missing: int) -> Markdown:
    return Markdown(eda_conclusion_text(labels, images, test_images, missing))


def split_conclusion_text(split, all_labels) -> str:
    """What 03 hands on, computed from the split (Markdown)."""
    import numpy as np

    share_all = np.bincount(all_labels, minlength=N_CLASSES) / len(all_labels)
    share_val = np.bincount(split.val_labels, minlength=N_CLASSES) / len(split.val_labels)
    drift = 100 * float(np.max(np.abs(share_val - share_all)))
    n_val = len(split.x_val)
    return (f"**What this shows.** {len(split.x_train):,} training and {n_val:,} validation "
            f"digits, {split.x_train.dtype} in [{split.x_train.min():g}, "
            f"{split.x_train.max():g}], shaped {split.x_train.shape[1:]}. Each digit's share "
            f"of the validation part is within {drift:.2f} points of its share of all rows "
            "(stratified). Every model stage trains on this same split and is scored on the "
            f"same {n_val:,} held-out digits, so their scores compare; with {n_val:,} of them, "
            f"an accuracy near 98% is known to about ±{noise_points(0.98, n_val):.1f} points.")


def split_conclusion(split, all_labels) -> Markdown:
    return Markdown(split_conclusion_text(split, all_labels))


def ensemble_family_text(model: str, full_model: str) -> str:
    """Why an ensemble averages another network than the one the `full` recipes average
    ("" when it is the same)."""
    if model == full_model:
        return ""
    return (f"The members are `{model}` networks, not the `{full_model}` CNN that the `full` "
            "profile averages: several trainings of that CNN would take most of a run meant to "
            "take minutes. So this ensemble shows the method, and its accuracy is not "
            "comparable with the CNNs of 05 and 06.")


# ------------------------------------------------------------------ where a notebook writes


def announce_writes(reads: Outputs, writes: Outputs) -> None:
    """Say so when a notebook run by hand writes elsewhere than the pipeline's results
    (`layout.notebook_outputs`); the runner's runs write in place and print nothing."""
    if Path(writes.root) != Path(reads.root):
        print(f"A run of your own: this notebook reads the pipeline's results in {reads.root}/ "
              f"and writes what it makes under {writes.root}/, so the pipeline's files stay "
              "as ./run_all.sh left them.")


def describe(metrics: dict) -> str:
    """One line for the notebook: how the model did."""
    line = (f"{metrics['model']}: validation accuracy {metrics['val_accuracy']:.2%} "
            f"({metrics['val_errors']} errors)")
    if metrics.get("oof_accuracy") is not None:
        line = (f"{metrics['model']}: out-of-fold accuracy {metrics['oof_accuracy']:.2%} on "
                f"all {metrics['oof_rows']:,} labelled rows, {metrics['val_accuracy']:.2%} "
                f"({metrics['val_errors']} errors) on the validation rows")
    if metrics.get("members"):
        line += f", the average of {', '.join(metrics['members'])}"
        line += " with test-time augmentation" if metrics.get("tta") else ""
    else:
        line += f", {metrics['parameters']:,} parameters"
    if metrics.get("train_seconds") is not None:
        line += f", trained in {metrics['train_seconds']:.0f} s"
    if metrics.get("local_score") is not None:
        line += f"; local test score {metrics['local_score']:.2%}"
    return line


def tta_text(results: Sequence) -> str:
    """For how many members test-time augmentation lowered the accuracy on their validation
    rows (a k-fold member's: its held-out fold), and why it can where the networks say so
    ('' when the members were not predicted with it)."""
    if not results or any(r.metrics.get("val_accuracy_tta") is None for r in results):
        return ""
    plain = {r.member.name: r.metrics["val_accuracy"] for r in results}
    shifted = {r.member.name: r.metrics["val_accuracy_tta"] for r in results}
    lowered = [r for r in results if shifted[r.member.name] < plain[r.member.name]]
    raised = sum(shifted[name] > plain[name] for name in plain)
    text = (f"Test-time augmentation (each image averaged with its four one-pixel shifts) "
            f"lowered the held-out accuracy of {len(lowered)} of {len(results)} members"
            + "".join(f"{', ' if i else ' ('}`{r.member.name}` {plain[r.member.name]:.2%} → "
                      f"{shifted[r.member.name]:.2%}" for i, r in enumerate(lowered))
            + (")" if lowered else "") + f", raised it for {raised}.")
    if lowered and not any("Conv2D" in r.metrics.get("layers", ()) for r in lowered):
        text += (" Those networks have no convolution: every pixel position has weights of its "
                 "own, so a digit moved by one pixel meets other weights (they are not "
                 "shift-invariant).")
    return text
