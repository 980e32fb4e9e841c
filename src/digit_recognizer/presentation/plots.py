"""Every figure the notebooks show; each is also saved as PNG under outputs/figures/."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from digit_recognizer import fileio

DIGITS = list(range(10))


def save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Save a figure as PNG atomically and return its path (the figure stays open to display)."""
    with fileio.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return Path(path)


# ------------------------------------------------------------------ exploration


def label_counts(labels: np.ndarray) -> plt.Figure:
    counts = np.bincount(labels, minlength=10)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(x=DIGITS, y=counts, ax=ax, color="tab:blue")
    ax.bar_label(ax.containers[0], fontsize=8)
    ax.axhline(counts.mean(), color="grey", ls="--", lw=1, label="mean")
    ax.set(xlabel="digit", ylabel="training images", title="Label distribution")
    ax.legend(loc="lower right")
    return fig


def digit_grid(images: np.ndarray, labels: np.ndarray, per_label: int = 8, seed: int = 0,
               title: str = "Sample digits per label") -> plt.Figure:
    """`per_label` random examples of each digit, one row per digit."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(10, per_label, figsize=(per_label * 0.8, 8.4))
    for digit in DIGITS:
        members = np.flatnonzero(labels == digit)
        picks = rng.choice(members, min(per_label, len(members)), replace=False)
        for col, ax in enumerate(axes[digit]):
            ax.axis("off")
            if col < len(picks):
                ax.imshow(images[picks[col]], cmap="gray_r")
        axes[digit][0].set_title(str(digit), loc="left", fontsize=8, x=-0.3, y=0.3)
    fig.suptitle(title)
    return fig


def mean_digits(images: np.ndarray, labels: np.ndarray) -> plt.Figure:
    fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
    for digit, ax in zip(DIGITS, axes, strict=True):
        ax.imshow(images[labels == digit].mean(axis=0), cmap="magma")
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("Mean image of each digit")
    return fig


def pixel_histogram(train: np.ndarray, test: np.ndarray) -> plt.Figure:
    """The share of pixels in each of 64 intensity bins: all pixels, then the inked ones."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, images in (("train", train), ("test", test)):
        _share_histogram(axes[0], images.ravel(), name)
        _share_histogram(axes[1], images[images > 0], name)
    axes[0].set(title="All pixel values (log scale)", xlabel="intensity",
                ylabel="share of all pixels", yscale="log")
    axes[1].set(title="Non-zero pixels only", xlabel="intensity",
                ylabel="share of non-zero pixels")
    for ax in axes:
        ax.legend()
    return fig


def _share_histogram(ax: plt.Axes, values: np.ndarray, label: str, bins: int = 64) -> None:
    counts, edges = np.histogram(values, bins=bins)
    ax.stairs(counts / max(len(values), 1), edges, fill=True, alpha=0.6, label=label)


def pixel_stats_table(train: np.ndarray, test: np.ndarray) -> pd.DataFrame:
    """Train vs test, a row each: do the two files look alike? Counts stay integers (a column
    per statistic keeps its own type), shares are percentages."""
    rows = {}
    for name, images in (("train", train), ("test", test)):
        flat = images.reshape(len(images), -1)
        rows[name] = {
            "images": len(images),
            "mean intensity": round(float(flat.mean()), 1),
            "std intensity": round(float(flat.std()), 1),
            "empty pixels (%)": round(100 * float((flat == 0).mean()), 1),
            "ink pixels per image": round(float((flat > 0).sum(axis=1).mean()), 1),
            "min": flat.min().item(),
            "max": flat.max().item(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# ------------------------------------------------------------------ evaluation


def training_curves(history: dict[str, list[float]], title: str,
                    learning_rates: np.ndarray | None = None,
                    steps_per_epoch: int | None = None) -> plt.Figure:
    """Loss and accuracy per epoch, and beside them the learning rate of every step when it is
    given (`schedules.learning_rates`)."""
    panels = 3 if learning_rates is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=False):
        ax.plot(epochs, history[metric], "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{title}: {metric}")
        _whole_epochs(ax, len(epochs))
        ax.legend()
    if learning_rates is not None:
        ax = axes[2]
        per_epoch = steps_per_epoch or max(1, len(learning_rates) // max(1, len(epochs)))
        # Epoch e spans e - 1 .. e, so its curves' points (measured at its end) sit at its end.
        # Each step's rate holds until the next step; the last one until the end of training.
        steps = np.arange(len(learning_rates) + 1) / per_epoch
        ax.plot(steps, np.append(learning_rates, learning_rates[-1]), color="tab:red",
                drawstyle="steps-post")
        ax.set(xlabel="epoch", ylabel="learning rate", title=f"{title}: learning rate per step",
               ylim=(0, max(float(np.max(learning_rates)), 1e-12) * 1.1))
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        _whole_epochs(ax, len(epochs), first=0)
        if np.ptp(learning_rates) == 0:  # a flat line: say that it is meant to be
            ax.text(0.5, 0.5, f"constant {learning_rates[0]:g}", transform=ax.transAxes,
                    ha="center", va="center", color="tab:red")
    fig.tight_layout()
    return fig


def _whole_epochs(ax: plt.Axes, last: int, first: int = 1) -> None:
    from matplotlib.ticker import MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(max(1, int(np.ceil(last / 10)))))
    ax.set_xlim(first - 0.3, last + 0.3)


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Rows: true digit, columns: predicted digit."""
    return pd.crosstab(pd.Categorical(y_true, DIGITS), pd.Categorical(y_pred, DIGITS),
                       dropna=False).rename_axis(index="true", columns="predicted")


def most_confused(y_true: np.ndarray, y_pred: np.ndarray, n: int | None = 8) -> pd.DataFrame:
    """The `n` (None: all) most frequent (true, predicted) pairs among the mistakes, most
    frequent first."""
    matrix = confusion_counts(y_true, y_pred).to_numpy()
    pairs = [(int(t), int(p), int(matrix[t, p])) for t in DIGITS for p in DIGITS
             if t != p and matrix[t, p] > 0]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return pd.DataFrame(pairs[:n], columns=["true", "predicted", "count"])


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, title: str) -> plt.Figure:
    """The mistakes only (the correct diagonal is masked and given per digit on the left),
    and beside them the most confused pairs."""
    matrix = confusion_counts(y_true, y_pred)
    errors = int(np.sum(np.asarray(y_true) != np.asarray(y_pred)))
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.8), width_ratios=(1.4, 1))
    mask = np.eye(10, dtype=bool) | (matrix.to_numpy() == 0)  # empty: no such mistake
    sns.heatmap(matrix, mask=mask, annot=True, fmt="d", cmap="Reds", cbar=False, ax=ax,
                annot_kws={"fontsize": 7}, vmin=0, linewidths=0.3, linecolor="0.9")
    correct = np.diag(matrix.to_numpy())
    ax.set_yticklabels([f"{d} ({c} ok)" for d, c in zip(DIGITS, correct, strict=True)],
                       rotation=0, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true (correct predictions)",
           title=f"{title}: mistakes ({errors} of {len(y_true)}; diagonal masked)")
    ax.set_facecolor("white")
    confused_pairs(bars, most_confused(y_true, y_pred, None))
    fig.tight_layout()
    return fig


def confused_pairs(ax: plt.Axes, pairs: pd.DataFrame, n: int = 8) -> None:
    """The (at most `n`) pairs confused more than once as bars, the pairs confused once
    counted in the title; in words when no pair repeats (a chart of equal bars ranks nothing)."""
    repeated, once = pairs[pairs["count"] > 1][:n], int((pairs["count"] == 1).sum())
    if not len(repeated):
        ax.axis("off")
        errors = int(pairs["count"].sum())
        ax.text(0.5, 0.5, "no mistakes" if not errors else
                f"no pair is confused more than once:\neach of the {errors} mistakes\n"
                "is a different (true, read) pair", ha="center", va="center")
        return
    labels = [f"{t} read as {p}" for t, p in zip(repeated["true"], repeated["predicted"],
                                                  strict=True)]
    ax.barh(labels[::-1], repeated["count"].to_numpy()[::-1], color="tab:red")
    ax.bar_label(ax.containers[0], fontsize=8)
    shown = len(repeated)
    ax.set_ylim(shown - 0.5 - max(shown, n // 2), shown - 0.5)  # few bars: thin, at the top
    others = len(pairs) - len(repeated) - once  # repeated pairs beyond the first n
    note = [f"{others} more pairs confused more than once"] if others else []
    note += [f"{once} pair{'s' * (once != 1)} confused once each"] if once else []
    ax.set(xlabel="mistakes", title="pairs confused more than once"
           + (f"\n(not shown: {'; '.join(note)})" if note else ""))
    ax.xaxis.get_major_locator().set_params(integer=True)


def worst_mistakes(images: np.ndarray, y_true: np.ndarray, probs: np.ndarray, title: str,
                   n: int = 15) -> plt.Figure:
    """The worst mistakes: ranked by p(predicted) - p(true), both shown on each tile."""
    y_true = np.asarray(y_true)
    y_pred = probs.argmax(axis=1)
    rows_ = np.arange(len(y_true))
    margin = probs[rows_, y_pred] - probs[rows_, y_true]
    wrong = np.flatnonzero(y_pred != y_true)
    wrong = wrong[np.argsort(-margin[wrong], kind="stable")][:n]
    cols = 5
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.8, rows * 2.2), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong, strict=False):
        ax.imshow(images[i].squeeze(), cmap="gray_r")
        ax.set_title(f"true {y_true[i]}: p={probs[i, y_true[i]]:.2f}\n"
                     f"read {y_pred[i]}: p={probs[i, y_pred[i]]:.2f}", fontsize=8)
    n_wrong = len(np.flatnonzero(y_pred != y_true))
    fig.suptitle(f"{title}: worst mistakes, by p(read) - p(true) ({n_wrong} of {len(y_true)} "
                 "validation digits wrong)")
    return fig


def model_comparison(table: pd.DataFrame) -> plt.Figure:
    """Validation errors (bars from zero, labelled with the accuracy) and training time of
    every model, side by side; an average that trained nothing of its own has no time bar."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.barplot(data=table, x="model", y="val_errors", ax=axes[0], color="tab:green")
    axes[0].set(title="Validation errors (and accuracy); fewer is better", xlabel="",
                ylabel="validation digits read wrong")
    axes[0].bar_label(axes[0].containers[0], fontsize=8, labels=[
        f"{e:.0f}\n({a:.2%})" for e, a in zip(table["val_errors"], table["val_accuracy"],
                                              strict=True)])
    axes[0].set_ylim(0, 1.25 * max(float(table["val_errors"].max()), 1))  # room for labels
    sns.barplot(data=table, x="model", y="train_seconds", ax=axes[1], color="tab:orange")
    axes[1].set(title="Training time", xlabel="", ylabel="training time (s)")
    for x in np.flatnonzero(table["train_seconds"].isna().to_numpy()):
        axes[1].text(x, 0, "no training\nof its own", ha="center", va="bottom", fontsize=8)
    for ax in axes:
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def fold_accuracies(names: list[str], accuracies: list[float], rows: list[int],
                    out_of_fold: float) -> plt.Figure:
    """Each k-fold member's accuracy on the fold it never saw, and all folds together."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    errors = [round((1 - a) * n) for a, n in zip(accuracies, rows, strict=True)]
    bars = ax.bar(names, errors, color="tab:blue")
    ax.bar_label(bars, fontsize=8, labels=[f"{e}\n({a:.2%})" for e, a in
                                           zip(errors, accuracies, strict=True)])
    ax.set(title=f"Errors on each held-out fold; all {sum(rows):,} rows out of fold: "
                 f"{out_of_fold:.2%}", ylabel="held-out digits read wrong")
    ax.set_ylim(0, 1.3 * max(max(errors), 1))
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def paired_choice(choice) -> plt.Figure:
    """Per challenger (`choice.Choice`): the validation rows only it reads right (right of zero)
    and only the default reads right (left), starred where it wins beyond the noise."""
    rows = choice.comparisons
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.4))
    names = [c.challenger for c in rows]
    ax.barh(names, [c.wins for c in rows], color="tab:green", label="only the challenger right")
    ax.barh(names, [-c.losses for c in rows], color="tab:red",
            label=f"only {choice.default} right")
    for y, c in enumerate(rows):
        ax.text(c.wins, y, f" {c.wins}{' *' if c.beyond_noise else ''}", va="center", fontsize=8)
        ax.text(-c.losses, y, f"{c.losses} ", va="center", ha="right", fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    reach = max([c.wins for c in rows] + [c.losses for c in rows] + [1])
    ax.set_xlim(-1.3 * reach, 1.3 * reach)
    ax.set(title=f"Each candidate against {choice.default}, on the same validation rows",
           xlabel="validation rows where exactly one of the two is right "
                  "(*: beyond the noise)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    fig.tight_layout()
    return fig


def augmented_samples(images: np.ndarray, augmenter, n_digits: int = 4, variants: int = 8,
                      seed: int = 0) -> plt.Figure:
    """Each row: one training digit, then `variants` random augmentations of it."""
    rng = np.random.default_rng(seed)
    picks = images[rng.choice(len(images), n_digits, replace=False)]
    fig, axes = plt.subplots(n_digits, variants + 1, figsize=((variants + 1) * 0.9, n_digits))
    for row, digit in enumerate(picks):
        batch = np.repeat(digit[np.newaxis], variants, axis=0)
        augmented = np.asarray(augmenter(batch, training=True))
        for col, image in enumerate([digit, *augmented]):
            axes[row, col].imshow(image.squeeze(), cmap="gray_r")
            axes[row, col].axis("off")
        axes[row, 0].set_title("original" if row == 0 else "", fontsize=8)
    fig.suptitle("Augmented training digits (rotation, zoom, shift)")
    return fig


def experiment_accuracies(rows: list[dict], measured_on: str) -> plt.Figure:
    """Each controlled experiment's accuracy: a dot per seed, the mean and its spread."""
    fig, ax = plt.subplots(figsize=(1.3 * len(rows) + 2, 3.8))
    for x, row in enumerate(rows):
        values = 100 * np.asarray(row["accuracies"])
        ax.plot(np.full(len(values), x), values, "o", color="tab:blue", alpha=0.6,
                label="one seed" if x == 0 else None)
        ax.errorbar(x + 0.15, values.mean(), yerr=100 * row["std"] or None, fmt="s",
                    color="black", capsize=4, label="mean ± std" if x == 0 else None)
    ax.set_xticks(range(len(rows)), [row["step"] for row in rows], rotation=20, ha="right")
    ax.set(ylabel="accuracy (%)", title=f"One change per step, measured on the {measured_on}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def experiment_curves(steps: list[tuple[str, list[list[float]]]]) -> plt.Figure:
    """Validation accuracy per epoch of every trained step, the mean of its seeds."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    last = 1
    for name, curves in steps:
        mean = 100 * np.mean(curves, axis=0)
        epochs = np.arange(1, len(mean) + 1)
        ax.plot(epochs, mean, "o-", label=name)
        last = max(last, len(mean))
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)",
           title="Validation accuracy per epoch (mean of the seeds)")
    _whole_epochs(ax, last)
    ax.legend()
    fig.tight_layout()
    return fig


def model_figures(trained, split, figures: Path) -> None:
    """Show (and save under `figures`) a trained model's training curves, confusion matrix and
    worst mistakes on the validation rows (`trained`: `evaluate.Trained`)."""
    from digit_recognizer.learning import schedules
    from digit_recognizer.learning.recipe import Recipe

    name, recipe, rows = trained.metrics["model"], Recipe(**trained.metrics["recipe"]), \
        len(split.x_train)
    save(training_curves(trained.history, name, schedules.learning_rates(recipe, rows),
                         schedules.steps_per_epoch(recipe, rows)), figures / "curves.png")
    predicted = trained.val_probs.argmax(1)
    save(confusion_matrix(split.val_labels, predicted, name), figures / "confusion.png")
    save(worst_mistakes(split.x_val, split.val_labels, trained.val_probs, name),
         figures / "mistakes.png")
