"""The training memo: its key covers every input of a training and nothing else, and a hit
loads exactly what the training gave."""

from __future__ import annotations

import numpy as np

from digit_recognizer.datasets import preprocess
from digit_recognizer.learning import executors, members, memo
from digit_recognizer.learning.recipe import Recipe


def tiny_split(seed: int = 0) -> preprocess.Split:
    rng = np.random.default_rng(seed)
    x = rng.random((96, 28, 28, 1), dtype=np.float32)
    y = preprocess.one_hot(np.arange(96) % 10)
    return preprocess.Split(x[:64], y[:64], x[64:], y[64:], x[64:], None)


def network(seed: int = 1, units: int = 16, rate: float = 1e-3, smoothing: float = 0.0):
    """A small network built and compiled as a notebook's cells do."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                              layers.Dense(units, activation="relu"),
                              layers.Dense(10, activation="softmax")], name="tiny")
    model.compile(optimizer=keras.optimizers.Adam(rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing),
                  metrics=["accuracy"])
    return model


def key(model=None, split=None, **fit):
    options = {"epochs": 2, "batch_size": 32, "seed": 1, **fit}
    return memo.key(model or network(), split or tiny_split(), **options)


def test_the_key_changes_with_every_input_of_training(monkeypatch):
    import keras
    from keras import layers

    base = key()
    changed = {
        "a layer": key(network(units=17)),
        "the initial weights (seed)": key(network(seed=2)),
        "the learning rate": key(network(rate=2e-3)),
        "the loss": key(network(smoothing=0.1)),
        "the epochs": key(epochs=3),
        "the batch size": key(batch_size=16),
        "the shuffling seed": key(seed=2),
        "the data": key(split=tiny_split(1)),
        "the augmentation": key(augmenter=keras.Sequential([layers.RandomRotation(0.1)])),
        "a callback that stops early": key(callbacks=[keras.callbacks.EarlyStopping(
            patience=1)]),
    }
    assert base not in changed.values() and len(set(changed.values())) == len(changed)
    monkeypatch.setattr(memo, "training_code", lambda modules=memo.TRAINING_CODE: {"x": "y"})
    assert key() != base, "the training code"


def test_the_key_ignores_layer_names_that_a_rerun_of_the_cell_changes():
    """Keras numbers default layer names per session: running a cell again renames its layers
    (dense_1 -> dense_3) and its optimizer (adam -> adam_1) without changing the network."""
    first, second = network(), network()
    assert [x.name for x in first.layers] != [x.name for x in second.layers]
    assert key(first) == key(second)


def test_a_hit_loads_the_trained_weights_and_log_without_training(tmp_path, capsys):
    split = tiny_split()
    trained = memo.fit(network(), split, epochs=2, batch_size=32, seed=1, store=tmp_path)
    said = capsys.readouterr().out
    assert "tiny: epoch 2/2" in said and "trained in" in said and not trained.loaded
    again = network()
    loaded = memo.fit(again, split, epochs=2, batch_size=32, seed=1, store=tmp_path, verbose=0)
    said = capsys.readouterr().out
    assert loaded.loaded and "epoch" not in said.split("not trained again")[0]
    assert "tiny: not trained again" in said and trained.trained_at in said
    assert loaded.history == trained.history and loaded.model_file == trained.model_file
    fresh = network()
    memo.fit(fresh, split, epochs=2, batch_size=32, seed=1, store=tmp_path / "elsewhere")
    for a, b in zip(again.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # what was loaded is what training gives
    assert sorted(p.name for p in tmp_path.iterdir()) == [loaded.key, "elsewhere"]


def test_members_are_loaded_from_the_memo_and_a_changed_one_trains(tiny_split, tmp_path,
                                                                    capsys):
    team = members.of_models("dense", [1, 2], "quick", epochs=1)
    first = executors.run_members(team, tiny_split, memo=tmp_path)
    capsys.readouterr()
    changed = [team[0], members.Member("dense_seed2", "dense", 3, Recipe(1), "dense")]
    second = executors.run_members(changed, tiny_split, memo=tmp_path)
    said = capsys.readouterr().out
    assert "dense_seed1: not trained again" in said and "dense_seed2: not trained" not in said
    assert second[0].loaded and not second[1].loaded
    np.testing.assert_array_equal(first[0].test_probs, second[0].test_probs)
    assert not np.array_equal(first[1].test_probs, second[1].test_probs)


def test_run_members_without_a_memo_keeps_nothing(tiny_split, tmp_path):
    team = members.of_models("dense", [1], "quick", epochs=1)
    executors.run_members(team, tiny_split, out_dir=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
