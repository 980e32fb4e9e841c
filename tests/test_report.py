"""What the notebooks say of a run is computed from its facts, and true."""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace

import numpy as np
import pytest
from IPython.display import Markdown

from digit_recognizer.layout import Outputs
from digit_recognizer.learning import recipes
from digit_recognizer.presentation import report

SAMPLE = {"source": "sample", "description": "the embedded real-MNIST sample",
          "train_rows": 8000, "test_rows": 2000, "has_answer_key": True}


def split_of(n_train, n_val, n_test):
    return SimpleNamespace(x_train=np.zeros(n_train), x_val=np.zeros(n_val),
                           x_test=np.zeros(n_test))


def test_a_banner_of_fewer_epochs_than_the_full_recipes_says_short_run():
    """Labelled by the epochs trained, never by a profile's name."""
    full = {m: recipes.recipe(m, "full").epochs for m in ("dense", "batchnorm")}
    text = report.banner_text(source=SAMPLE, seed=7, split=split_of(7200, 800, 2000),
                              epochs={"dense": 2, "batchnorm": full["batchnorm"]})
    assert "`sample`" in text and "8,000 training and 2,000 test rows" in text
    assert "7,200 training, 800 validation and 2,000 test images" in text
    assert "seed 7" in text and "trains dense 2 epochs, batchnorm" in text
    assert f"A short run** (epochs: dense 2 of {full['dense']})" in text
    assert "fewer rows" in text and "`full` recipes" in text and "profile `" not in text
    assert "%" not in text  # no accuracy is stated by hand
    at_full = report.banner_text(source={**SAMPLE, "train_rows": 42000}, epochs=full)
    assert "short run" not in at_full and "The `full` recipes' epochs" in at_full


def test_full_banner_and_data_banner():
    full = report.banner_text(source={**SAMPLE, "train_rows": 42000}, profile="full")
    assert "smoke" not in full and "fewer rows" not in full
    small = report.banner_text(source=SAMPLE, profile="full")
    assert "fewer rows" in small
    other = report.banner_text(source=SAMPLE, profile="other")
    assert "`other` profile" in other and "smoke" not in other and "recipes differ" in other
    data_only = report.banner_text(source=SAMPLE, limits={"training": 400, "test": 0})
    assert "first 400 training rows" in data_only and "test rows" not in data_only.split("·")[-1]
    assert "does not depend on the training profile" in data_only
    assert isinstance(report.banner(source=SAMPLE), Markdown)


def test_source_facts_keep_no_paths(tmp_path):
    recorded = {**SAMPLE, "train": "/home/someone/train.csv", "test": "/tmp/test.csv"}
    assert report.source_facts(recorded) == SAMPLE
    assert report.source_facts(None) == {}
    assert report.read_source(Outputs(tmp_path)) is None


def test_shown_path_is_never_absolute(tmp_path):
    outputs = Outputs(tmp_path / "project" / "outputs")
    assert report.shown_path(tmp_path / "project" / "data" / "raw" / "train.csv",
                             outputs) == "data/raw/train.csv"
    inside = report.PACKAGE_DIR / "sample_data" / "train.csv.gz"
    assert report.shown_path(inside, Outputs(tmp_path / "outputs")) == \
        "<package digit_recognizer>/sample_data/train.csv.gz"
    assert report.shown_path("/somewhere/else/mnist/train.csv", outputs) == \
        ".../mnist/train.csv"


def test_wilson_interval_known_values():
    low, high = report.wilson(776, 800)
    assert low == pytest.approx(0.95575, abs=1e-4) and high == pytest.approx(0.97976, abs=1e-4)
    assert report.wilson(0, 10)[0] == 0.0 and report.wilson(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        report.wilson(0, 0)


def test_difference_beyond_noise_depends_on_the_number_of_rows():
    # 98% vs 97%: noise on 800 validation rows, a real difference on 42,000.
    assert not report.beyond_noise(0.98, 0.97, 800)
    assert report.beyond_noise(0.98, 0.97, 42000)
    low, high = report.difference_interval(0.98, 0.97, 800)
    assert low < 0.01 < high
    assert "cannot tell them apart" in report.difference_text("a", 0.98, "b", 0.97, 800)
    assert "larger than" in report.difference_text("a", 0.98, "b", 0.90, 800)
    assert "score the same" in report.difference_text("a", 0.98, "b", 0.98, 800)
    assert report.noise_points(0.97, 800) == pytest.approx(1.7, abs=0.1)


def test_model_summary_reads_the_history():
    metrics = {"model": "batchnorm", "val_accuracy": 0.97, "val_errors": 24,
               "local_score": 0.965}
    fitting = {"accuracy": [0.9, 0.999], "val_accuracy": [0.9, 0.97]}
    text = report.model_summary_text(metrics, 800, fitting)
    assert "97.0% (95% interval 95.6%–98.0%)" in text and "24 wrong" in text
    assert "over-fitting" in text and "96.5%" in text
    assert "no sign of over-fitting" in report.model_summary_text(
        metrics, 800, {"accuracy": [0.97], "val_accuracy": [0.97]})


def test_comparison_names_the_best_and_the_noise():
    rows = [{"model": "dense", "val_accuracy": 0.90}, {"model": "simple_cnn", "val_accuracy": 0.97},
            {"model": "double_cnn", "val_accuracy": 0.975}]
    text = report.comparison_text(rows, 800)
    assert text.index("Best on validation: `double_cnn`") < text.index("`simple_cnn`")
    assert "`simple_cnn` is 0.5 points below `double_cnn`, within the noise" in text
    assert "`dense` is 7.5 points below `double_cnn`, larger than" in text
    assert "cannot tell it from `simple_cnn`:" in text
    assert "not settled" not in report.comparison_text(rows[:1], 800)


def test_the_kfold_text_gives_the_folds_the_out_of_fold_accuracy_and_the_tta_choice():
    members = [{"val_accuracy": 0.96}, {"val_accuracy": 0.95}, {"val_accuracy": 0.955}]
    average = {"oof_rows": 4_000, "oof_accuracy": 0.9551, "oof_accuracy_plain": 0.9551,
               "oof_accuracy_tta": 0.9502, "tta": False}
    text = report.kfold_text(average, members)
    assert "3 members, each trained on 2 of 3 folds of all 4,000 labelled rows" in text
    assert "95.0%–96.0%" in text and "95.5% (95% interval" in text
    assert ("95.51% without, 95.02% with, out of fold (20 fewer of the 4,000 rows read right), "
            "so the ensemble does not use it") in text
    # A gain that one decimal would hide is shown, with the rows it amounts to.
    close = report.kfold_text({**average, "oof_rows": 42_000, "oof_accuracy_plain": 0.995,
                               "oof_accuracy_tta": 0.9951666, "tta": True}, members)
    assert ("99.50% without, 99.52% with, out of fold (7 more of the 42,000 rows read right), "
            "so the ensemble uses it") in close
    no_tta = report.kfold_text({**average, "oof_accuracy_tta": None}, members)
    assert "Test-time augmentation" not in no_tta


def test_recipe_changes_list_every_difference():
    # With the epochs fixed, what differs is the method; the recipes' epochs are listed too.
    precision = [f"precision: {recipes.MODELS[a].precision} → {recipes.MODELS[b].precision}"
                 .replace("→ auto", "→ auto (bfloat16 where the hardware has it)")
                 for a, b in [("double_cnn", "batchnorm")]
                 if getattr(recipes.MODELS[a], "precision", None) !=
                 getattr(recipes.MODELS[b], "precision", None)]  # where the registry has it
    assert recipes.changes("double_cnn", "batchnorm", "quick", epochs=5) == [
        "architecture: `double_cnn` → `batchnorm_cnn`", *precision,
        "learning rate: 0.001 → 0.003", "schedule: constant → cosine"]
    assert recipes.changes("batchnorm", "augmentation", "full", epochs=5) == [
        "label smoothing: 0.0 → 0.1", "augment: False → True"]
    before, after = (recipes.recipe(m, "quick").epochs for m in ("batchnorm", "augmentation"))
    epochs = f"epochs: {before} → {after}"
    assert (epochs in recipes.changes("batchnorm", "augmentation", "quick")) == \
        (before != after)


LAYERS = {"dense": ["Flatten", "Dense", "Dense"],
          "double_cnn": ["Conv2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"],
          "batchnorm": ["Conv2D", "BatchNormalization", "ReLU", "Dropout", "Dense"],
          "augmentation": ["Conv2D", "BatchNormalization", "ReLU", "Dropout", "Dense"]}


def trained(name: str) -> dict:
    """What a model's metrics say of its training."""
    return {"model": name, "network": name, "precision": recipes.model(name).precision,
            "recipe": asdict(recipes.recipe(name, "quick")), "layers": LAYERS[name]}


def test_changes_text_compares_what_was_trained():
    text = report.changes_text(trained("double_cnn"), trained("batchnorm"))
    assert "architecture: `double_cnn` → `batchnorm`" in text and "these changes together" in text
    assert "exactly as" in report.changes_text(trained("dense"), trained("dense"))


def test_training_text_gives_when_the_recipe_and_every_epoch():
    metrics = {**trained("batchnorm"), "seed": 42, "epochs": 2, "train_seconds": 61.2,
               "trained_at": "2026-12-07 20:15 UTC"}
    epochs = [{"epoch": 1, "loss": 0.9, "accuracy": 0.7, "val_loss": 0.5, "val_accuracy": 0.9},
              {"epoch": 2, "loss": 0.4, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": 0.95}]
    text = report.training_text(metrics, epochs)
    assert "`batchnorm` trained on 2026-12-07 20:15 UTC in 61 s: Adam with" in text
    assert "dvc" not in text and "stage" not in text
    member = report.training_text(metrics, epochs, "batchnorm_fold0")
    assert member.startswith("`batchnorm_fold0` trained on")
    assert "a warm-up to 0.003, then a cosine decay" in text and "seed 42" in text
    assert "| 2 | 0.4000 | 90.0% | 0.2000 | 95.0% |" in text


def _metrics(model, accuracy, errors, epochs, local=None):
    return {"model": model, "val_accuracy": accuracy, "val_errors": errors, "epochs": epochs,
            "local_score": local}


def test_a_step_says_what_it_gained_in_points_and_errors_and_when_budgets_differ():
    text = report.step_gain_text(_metrics("double_cnn", 0.956, 35, 2, 0.953),
                                 _metrics("batchnorm", 0.9875, 10, 6, 0.983), 800, "04")
    assert "**What changed from `double_cnn` (04).**" in text
    assert "3.2 points above" in text and "35 → 10 errors of 800" in text
    assert "95.3% → 98.3%" in text and "trained 2 epochs and `batchnorm` 6" in text
    same = report.step_gain_text(_metrics("a", 0.95, 40, 4), _metrics("b", 0.951, 39, 4), 800, "x")
    assert "epochs" not in same and "cannot tell them apart" in same


def test_a_comparison_warns_when_the_models_trained_for_different_epochs():
    rows = [_metrics("dense", 0.92, 60, 2), _metrics("batchnorm", 0.98, 10, 6),
            {**_metrics("kfold_ensemble", 0.93, 56, None), "members": ["a", "b"]}]
    text = report.budgets_text(rows)
    assert "2 epochs: `dense`; 6 epochs: `batchnorm`" in text and "kfold_ensemble" not in text
    assert report.budgets_text(rows[:1] + [_metrics("x", 0.9, 80, 2.0)]) == ""


def test_the_eda_conclusion_is_computed_from_the_images():
    rng = np.random.default_rng(0)
    images = np.where(rng.random((100, 28, 28)) < 0.2, 255, 0).astype(np.uint8)
    labels = np.arange(100) % 10
    text = report.eda_conclusion_text(labels, images, images[:50], missing=0)
    assert "100% of the most common" in text and "balanced enough" in text
    assert "100% is saturated" in text and "other 0% is grey" in text and "they look alike" in text
    assert "no missing values" in text
    darker = report.eda_conclusion_text(labels, images, images[:50] // 2, missing=3)
    assert "may not carry over" in darker and "3 missing values" in darker


def test_the_split_conclusion_states_sizes_range_and_stratification():
    from types import SimpleNamespace

    labels = np.arange(100) % 10
    split = SimpleNamespace(x_train=np.zeros((90, 28, 28, 1), np.float32),
                            x_val=np.ones((10, 28, 28, 1), np.float32), val_labels=labels[:10])
    text = report.split_conclusion_text(split, labels)
    assert "90 training and 10 validation digits" in text and "within 0.00 points" in text


def test_a_cheaper_ensemble_says_why_it_is_not_the_full_profiles():
    text = report.ensemble_family_text("dense", "augmentation")
    assert "`dense` networks" in text and "`augmentation` CNN" in text
    assert report.ensemble_family_text("augmentation", "augmentation") == ""


def test_a_run_by_hand_writes_under_interactive_and_says_so(tmp_path, capsys):
    from digit_recognizer import layout

    reads, writes = layout.notebook_outputs(tmp_path / "outputs", "", "08_submit")
    assert writes.submission == tmp_path / "outputs" / "interactive" / "08_submit" / \
        "submission.csv"
    report.announce_writes(reads, writes)
    assert "interactive/08_submit/" in capsys.readouterr().out
    reads, writes = layout.notebook_outputs(tmp_path / "outputs", tmp_path / "outputs", "x")
    report.announce_writes(reads, writes)
    assert writes.submission == reads.submission and capsys.readouterr().out == ""

def cross_entropy(target: np.ndarray, predicted: np.ndarray) -> float:
    return float(-(target * np.log(predicted)).sum())


def test_label_smoothing_floor_is_the_least_loss_a_model_can_reach():
    true, other = report.smoothed_target(0.1)
    assert (true, other) == pytest.approx((0.91, 0.01))
    target = np.array([true] + [other] * 9)
    floor = report.smoothing_floor(0.1)
    assert floor == pytest.approx(cross_entropy(target, target)) and floor == pytest.approx(
        0.5003, abs=1e-4)
    rng = np.random.default_rng(0)
    for predicted in rng.dirichlet(np.ones(10), 50):  # any other prediction loses more
        assert cross_entropy(target, predicted) > floor
    assert report.smoothing_floor(0.0) == 0.0


def test_training_text_explains_the_loss_floor_of_label_smoothing():
    metrics = {**trained("augmentation"), "seed": 42, "epochs": 1, "train_seconds": 9.0}
    epochs = [{"epoch": 1, "loss": 0.682, "accuracy": 0.96, "val_loss": 0.628,
               "val_accuracy": 0.98}]
    text = report.training_text(metrics, epochs)
    assert "91% on the true digit and 1% on each of the 9 others" in text
    assert "entropy, 0.500" in text and "0.6820 is 0.182 above" in text and "0.128 above" in text
    plain = report.training_text({**trained("batchnorm"), "seed": 42, "epochs": 1,
                                  "train_seconds": 9.0}, epochs)
    assert "entropy" not in plain


@pytest.mark.parametrize(("name", "dropout", "augmented"), [
    ("dense", False, False), ("batchnorm", True, False), ("augmentation", True, True)])
def test_training_below_validation_gives_only_this_models_reasons(name, dropout, augmented):
    metrics = {**trained(name), "val_accuracy": 0.93, "val_errors": 56}
    rising = {"accuracy": [0.81, 0.915], "val_accuracy": [0.896, 0.926]}
    text = report.model_summary_text(metrics, 800, rising)
    assert "validation is higher (within the noise)" in text and "running average" in text
    assert "rose from 89.6% to 92.6%" in text
    assert ("dropout" in text) == dropout and ("augmented digits" in text) == augmented
    flat = report.model_summary_text(metrics, 800, {"accuracy": [0.9, 0.91],
                                                    "val_accuracy": [0.93, 0.92]})
    assert "running average" in flat and "rose" not in flat
    above = report.model_summary_text(metrics, 800, {"accuracy": [0.93], "val_accuracy": [0.92]})
    assert "running average" not in above and "no sign of over-fitting" in above
