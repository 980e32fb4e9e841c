"""One member as an independent job: a plain description in, probabilities and a model out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digit_recognizer import fileio
from digit_recognizer.datasets import preprocess
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import members, recipes
from digit_recognizer.learning.members import Member
from digit_recognizer.learning.recipe import Recipe
from digit_recognizer.presentation import report, tables


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"name": "../up"}, "use a plain file name"),
    ({"train_rows": 0}, "train_rows must be >= 1"),
])
def test_a_bad_description_fails_at_once(kwargs, message):
    with pytest.raises(DigitRecognizerError, match=message):
        Member(**{"name": "m", "model": "dense", "seed": 0, "recipe": Recipe(1),
                  "builder": "dense", **kwargs})


@pytest.mark.parametrize(("model", "profile", "message"), [
    ("resnet", "quick", "unknown model 'resnet'"), ("dense", "huge", "unknown profile 'huge'")])
def test_an_unknown_model_or_profile_fails_at_once(model, profile, message):
    with pytest.raises(DigitRecognizerError, match=message):
        members.of_models(model, [0], profile)


def test_members_every_model_with_every_seed_and_its_resolved_recipe():
    made = members.of_models(["dense", "batchnorm"], range(2), profile="full", epochs=30)
    assert [m.name for m in made] == ["dense_seed0", "dense_seed1", "batchnorm_seed0",
                                      "batchnorm_seed1"]
    assert made[3] == Member("batchnorm_seed1", "batchnorm", 1,
                             recipes.recipe("batchnorm", "full", 30), "batchnorm_cnn", "auto")


def test_a_members_spec_is_plain_values_and_makes_the_same_member():
    member = members.of_models("augmentation", [3], "quick", train_rows=50)[0]
    spec = member.spec()
    assert json.loads(json.dumps(spec)) == spec
    assert Member.from_spec(member.name, member.seed, spec) == member


@pytest.mark.slow
def test_same_member_same_probabilities_and_a_working_model(tiny_split, tiny_local_results):
    first = tiny_local_results[0]
    again = members.train_member(first.member, tiny_split)  # after another member trained
    assert np.array_equal(again.val_probs, first.val_probs)
    assert np.array_equal(again.test_probs, first.test_probs)
    assert first.val_probs.shape == (100, 10) and first.test_probs.shape == (200, 10)
    m = first.metrics
    assert m["name"] == "dense_seed1" and m["model"] == "dense" and m["seed"] == 1
    assert m["epochs"] == 1 and m["parameters"] == 784 * 400 + 400 + 400 * 10 + 10
    assert m["val_errors"] == round((1 - m["val_accuracy"]) * 100)
    assert 0 <= m["local_score"] <= 1 and m["val_accuracy"] > 0.5  # far better than chance
    model = first.load_model()
    # The batch size of `evaluate.predict`: on some CPUs another one rounds differently.
    assert np.array_equal(model.predict(preprocess.load_split(tiny_split).x_val, verbose=0,
                                        batch_size=1024),
                          first.val_probs)


@pytest.mark.slow
def test_save_writes_whole_files_or_nothing(tmp_path, tiny_local_results, monkeypatch):
    result = tiny_local_results[1]
    paths = result.save(tmp_path / "ok")
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == [
        "simple_cnn_seed2.json", "simple_cnn_seed2.keras", "simple_cnn_seed2.npz"]
    assert json.loads(paths["metrics"].read_text())["name"] == "simple_cnn_seed2"
    assert np.array_equal(np.load(paths["probabilities"])["test"], result.test_probs)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(members.np, "savez", disk_full)
    with pytest.raises(OSError):
        result.save(tmp_path / "full")
    left = sorted(p.name for p in (tmp_path / "full").iterdir())
    assert left == ["simple_cnn_seed2.keras"]  # written whole before the failure
    assert not fileio.remove_partial_files(tmp_path)


def _result(name: str, val: list[int], val_tta: list[int], labels: np.ndarray):
    """A member whose validation predictions are `val` (and `val_tta` with TTA)."""
    def probs(predicted):
        return np.eye(10, dtype=np.float32)[predicted] * 0.9 + 0.01
    accuracy = float(np.mean(np.array(val) == labels))
    return members.MemberResult(Member(name, "dense", 0, Recipe(1), "dense"), probs(val),
                                probs(val), {
        "val_accuracy": accuracy, "val_accuracy_tta": float(np.mean(np.array(val_tta) == labels)),
        "train_seconds": 1.0, "layers": ["Flatten", "Dense", "Dense"]}, b"", "here",
        probs(val_tta), probs(val_tta))


def test_tta_text_counts_the_members_that_tta_lowered_and_says_why_for_dense_networks():
    labels = np.array([1, 2, 3, 4])
    lowered = _result("lowered", [1, 2, 3, 4], [1, 2, 3, 0], labels)
    raised = _result("raised", [1, 2, 0, 4], [1, 2, 3, 4], labels)
    same = _result("same", [1, 2, 3, 0], [1, 2, 3, 0], labels)
    text = report.tta_text([lowered, raised, same])
    assert ("lowered the held-out accuracy of 1 of 3 members (`lowered` 100.00% → 75.00%), "
            "raised it for 1.") in text
    assert "not shift-invariant" in text  # `_result` members are dense networks
    convolutional = _result("cnn", [1, 2, 3, 4], [1, 2, 3, 0], labels)
    convolutional.metrics["layers"] = ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    text = report.tta_text([convolutional])
    assert "of 1 of 1 members" in text and "shift-invariant" not in text
    assert "lowered the held-out accuracy of 0 of 1" in report.tta_text([raised])
    assert "shift-invariant" not in report.tta_text([raised])
    no_tta = members.MemberResult(lowered.member, lowered.val_probs, lowered.test_probs,
                                  {**lowered.metrics, "val_accuracy_tta": None}, b"", "")
    assert report.tta_text([no_tta]) == ""


def test_shown_table_gives_percentages_and_drops_an_empty_tta_column():
    labels = np.array([1, 2, 3, 4])
    a = _result("a", [1, 2, 3, 0], [1, 2, 3, 4], labels)
    a.metrics.update(val_errors=1, val_accuracy_tta=1.0)
    table = tables.members([a])
    assert table.to_dict("records") == [{
        "member": "a", "seed": 0, "validation accuracy": "75.00%",
        "with test-time augmentation": "100.00%", "validation errors": 1, "training": "1 s"}]
    a.metrics["val_accuracy_tta"] = None
    assert "with test-time augmentation" not in tables.members([a])
