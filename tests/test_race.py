"""The benchmark's race: the published networks ported as published, the budget fitted, and
the project's networks as its notebooks build them."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import ROOT
from test_bench import fake_mnist  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def race():
    spec = importlib.util.spec_from_file_location("race", ROOT / "bench" / "race.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["race"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_each_port_builds_the_published_network(race):
    """The layers and the weight counts of the write-ups' model summaries."""
    keras_io = race.keras_io_network()
    assert keras_io.count_params() == 34_826
    assert kinds(keras_io) == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                               "Dropout", "Dense"]
    ghouzam = race.ghouzam_network()
    assert ghouzam.count_params() == 887_530
    assert kinds(ghouzam) == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Conv2D", "Conv2D",
                              "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    deotte = race.deotte_network()
    assert deotte.count_params() == 327_242
    conv_bn = ["Conv2D", "BatchNormalization"]
    assert kinds(deotte) == [*conv_bn * 3, "Dropout", *conv_bn * 3, "Dropout", *conv_bn,
                             "Flatten", "Dropout", "Dense"]
    assert [layer.output.shape[1] for layer in deotte.layers
            if type(layer).__name__ == "Conv2D"] == [26, 24, 12, 10, 8, 4, 1]


def test_the_projects_entrants_are_the_notebooks_networks(race):
    from digit_recognizer.learning import models

    network = race.notebook_network(seed=1)
    assert network.name == "batchnorm"
    assert network.count_params() == models.batchnorm_cnn().count_params() == 141_098
    assert kinds(race.notebook_augmenter()) == ["RandomRotation", "RandomZoom",
                                                "RandomTranslation"]


def test_the_budget_fits_whole_epochs_and_the_schedule_stretches_to_them(race):
    assert race.fitted_epochs(600, 59.0) == 10
    assert race.fitted_epochs(600, 61.0) == 9
    assert race.fitted_epochs(600, 900.0) == 1  # never none
    rate = race.deotte_rate(10)
    assert rate(0) == pytest.approx(1e-3)
    assert rate(9) == pytest.approx(1e-3 * 0.95 ** 44)  # the published last epoch's
    assert race.deotte_rate(45)(44) == pytest.approx(1e-3 * 0.95 ** 44)


def test_flops_count_the_convolutions_and_dense_layers(race):
    assert race.forward_flops(race.keras_io_network()) == (
        2 * 9 * 1 * 32 * 26 * 26 + 2 * 9 * 32 * 64 * 11 * 11 + 2 * 1600 * 10)


@pytest.mark.slow
def test_a_small_race_writes_its_record(race, fake_mnist, tmp_path):  # noqa: F811
    out = tmp_path / "race.json"
    assert race.main(["--mnist-dir", str(fake_mnist), "--entrants", "keras_io,augmentation",
                      "--seeds", "2", "--budget-minutes", "0.02", "--ensemble-minutes", "0.04",
                      "--ensemble-members", "2", "--ensemble-entrants", "keras_io",
                      "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"cpu", "bfloat16_units", "threads", "backend", "peak_gflops_float32"} <= set(
        report["host"])
    assert [s["entrant"] for s in report["singles"]] == ["keras_io", "augmentation"]
    assert all(s["seeds"] == [42, 43] and min(s["epochs"]) >= 1 for s in report["singles"])
    assert report["ensembles"][0]["members"] == 2
    assert set(report["seconds_per_epoch"]) == {"keras_io", "augmentation"}
    assert race.markdown_table(report).count("\n") == 4


def test_the_bench_readme_quotes_every_committed_race(race):
    readme = (ROOT / "bench" / "README.md").read_text()
    for path in sorted((ROOT / "bench" / "results").glob("race-*.json")):
        report = json.loads(path.read_text())
        assert race.markdown_table(report) in readme, path.name
        assert report["command"] in readme, path.name
