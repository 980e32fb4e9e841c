"""The k-fold ensemble: K networks, each trained on every labelled row but those of one fold.

Every labelled row is predicted once by the member that never saw it (out of fold), so the
ensemble is measured on all of them; the test images are read by one saved Keras model that
averages the members (with test-time augmentation when it helps out of fold), the file that
`best.keras`, `digit-recognizer predict` and 09 use when the average is chosen.
"""

from __future__ import annotations

import numpy as np

from digit_recognizer import fileio
from digit_recognizer.datasets import preprocess
from digit_recognizer.datasets.preprocess import Split
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import evaluate
from digit_recognizer.learning.members import Member, MemberResult, accuracy
from digit_recognizer.learning.recipe import Recipe


def fold_members(source, folds: int, seed: int, epochs: int) -> list[Member]:
    """K members of a model that a notebook trained (`evaluate.Trained`): its network, read from
    its saved file, and its recipe, with `epochs` each. Member I is `MODEL_foldI`: fold I is
    held out of its training; the folds are cut with `seed`, member I starts from
    `seed + 1 + I` (so none repeats the model trained alone with `seed`)."""
    if folds < 2:
        raise DigitRecognizerError(f"folds must be at least 2, got {folds}")
    if epochs < 1:
        raise DigitRecognizerError(f"epochs must be at least 1, got {epochs}")
    m = source.metrics
    recipe = Recipe(**{**m["recipe"], "epochs": epochs})
    network = source.load_model().to_json()
    return [Member(f"{m['model']}_fold{i}", m["model"], seed + 1 + i, recipe, m["model"],
                   m["precision"], network=network, augmenter=m.get("augmenter", ""),
                   folds=folds, fold=i, fold_seed=seed)
            for i in range(folds)]


def check_folds(results: list[MemberResult]) -> tuple[int, int]:
    """The members' (folds, fold seed): one member per fold, all of the same folds."""
    kinds = {(r.member.folds, r.member.fold_seed) for r in results}
    if len(kinds) != 1 or not next(iter(kinds))[0]:
        raise DigitRecognizerError("the members of a k-fold ensemble must share their folds "
                                   f"and fold seed; got (folds, fold seed) {sorted(kinds)}")
    [(k, seed)] = kinds
    if sorted(r.member.fold for r in results) != list(range(k)):
        raise DigitRecognizerError(f"a {k}-fold ensemble needs one member per fold 0..{k - 1}; "
                                   f"got folds {sorted(r.member.fold for r in results)}")
    return k, seed


def labelled_digits(split: Split) -> np.ndarray:
    """The digit of every labelled row, in `preprocess.labelled` order (no copy of the images)."""
    return np.concatenate([split.y_train, split.y_val]).argmax(axis=1)


def out_of_fold(results: list[MemberResult], split: Split, tta: bool = False) -> np.ndarray:
    """Probabilities for every labelled row (`preprocess.labelled` order), each from the member
    whose fold held it out."""
    k, seed = check_folds(results)
    labels = labelled_digits(split)
    folds = preprocess.stratified_folds(labels, k, seed)
    oof = np.zeros((len(labels), results[0].val_probs.shape[1]), dtype=np.float32)
    for r in results:
        oof[folds[r.member.fold]] = r.probabilities(tta)[0]
    return oof


def scores(results: list[MemberResult], split: Split) -> dict[bool, float]:
    """Out-of-fold accuracy on every labelled row (ten times the validation split), without
    test-time augmentation (False) and, when every member has it, with it (True)."""
    labels = labelled_digits(split)
    views = (False, True) if all(r.val_tta is not None for r in results) else (False,)
    return {tta: accuracy(out_of_fold(results, split, tta), labels) for tta in views}


def use_tta(found: dict[bool, float]) -> bool:
    """Test-time augmentation when it reads more rows right out of fold (`scores`)."""
    return found.get(True, 0.0) > found[False]


def averaging_model(models: list, tta: bool = False, name: str = "kfold_ensemble"):
    """One Keras model that returns the mean probabilities of `models` (of each image and, with
    `tta`, its four one-pixel shifts, as `evaluate.predict_tta`): built from Keras's own layers
    only, so `keras.saving.load_model` reads its file without this package."""
    import keras
    from keras import layers

    image = keras.Input(models[0].input_shape[1:], name="image")
    views = [image]
    if tta:
        padded = layers.ZeroPadding2D(1, name="pad")(image)
        views = [layers.Cropping2D(((1 - dy, 1 + dy), (1 - dx, 1 + dx)), name=f"shift_{i}")(padded)
                 for i, (dy, dx) in enumerate(evaluate.SHIFTS)]
    outputs = []
    for i, model in enumerate(models):
        member = keras.Model(model.inputs[0], model.outputs[0], name=f"member_{i}")
        outputs += [member(view) for view in views]
    mean = layers.Average(name="average")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(image, mean, name=name)


def build(name: str, results: list[MemberResult], split: Split, outputs) -> dict:
    """Average the members into `outputs.model(name)`, predict the test images with that very
    file's model, and write the ensemble's submission, probabilities (validation rows out of
    fold, test, every labelled row out of fold) and metrics."""
    results = sorted(results, key=lambda r: r.member.fold)
    k, seed = check_folds(results)
    found = scores(results, split)
    tta = use_tta(found)
    oof = out_of_fold(results, split, tta)
    model = averaging_model([r.load_model() for r in results], tta, name)
    evaluate.save_model(model, outputs.model(name))
    test, images_per_second = evaluate.predict(model, split.x_test)
    val = oof[len(split.x_train):]  # the validation rows: comparable with every other model
    metrics = evaluate.score_and_submit(name, val, test, split, outputs.model_submission(name))
    metrics.update({
        "members": [r.member.name for r in results],
        "folds": k, "fold_seed": seed,
        "oof_accuracy": found[tta], "oof_rows": len(oof),
        "oof_accuracy_plain": found[False], "oof_accuracy_tta": found.get(True),
        "train_rows": len(oof),
        "split": split.fingerprint,
        "train_seconds": round(sum(r.metrics["train_seconds"] for r in results), 1),
        "epochs": None,
        "parameters": int(sum(r.metrics["parameters"] for r in results)),
        "tta": tta,
        "test_images_per_second": round(images_per_second),
        "model_file": str(outputs.model(name)),
    })
    with fileio.atomic_path(outputs.probabilities(name), suffix=".npz") as tmp:
        np.savez(tmp, val=val, test=test, oof=oof)
    fileio.write_json(outputs.metrics(name), metrics)
    return metrics
