"""The benchmark on a tiny fake MNIST: every model measured, the seed spread, the k-fold
ensemble."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from conftest import ROOT, write_idx

pytestmark = pytest.mark.slow


@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (600, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(600) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (100, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(100) % 10)
    return folder


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_reports_models_seeds_and_ensembles(fake_mnist, tmp_path, capsys):
    out = tmp_path / "result.json"
    assert load_bench().main([
        "--mnist-dir", str(fake_mnist), "--profile", "quick", "--models", "dense,batchnorm",
        "--seeds", "2", "--folds", "2", "--epochs", "1", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["profile"] == "quick" and report["machine"]["backend"] == "tensorflow"
    assert report["machine"]["device"] == "CPU" and "--seeds 2" in report["command"]
    assert (report["train_images"], report["test_images"]) == (550, 100)
    trained = [(r["model"], r["seed"]) for r in report["rows"]]
    # batchnorm is the only non-reference model, so it is the chosen recipe: a second seed.
    assert report["chosen_single_recipe"] == "batchnorm"
    assert trained == [("dense", 42), ("batchnorm", 42), ("batchnorm", 43)]
    assert report["seed_spread"]["seeds"] == [42, 43]
    for r in report["rows"]:
        assert 0 <= r["test_accuracy"] <= 1 and r["train_seconds"] > 0
        assert r["test_errors"] == round((1 - r["test_accuracy"]) * 100)
    # The quick k-fold ensemble is dense networks over all 600 labelled images, in 2 folds.
    [kfold] = report["ensembles"]
    assert [(m["name"], m["seed"], m["fold"]) for m in kfold["members"]] == [
        ("dense_fold0", 43, 0), ("dense_fold1", 44, 1)]
    assert kfold["labelled_rows"] == 600 and [m["train_rows"] for m in kfold["members"]] == [
        300, 300]
    assert 0 <= kfold["oof_accuracy"] <= 1 and 0 <= kfold["test_accuracy"] <= 1
    assert "| ensemble: dense 2-fold" in capsys.readouterr().out


def test_the_bench_readme_quotes_every_committed_result():
    """Each benchmark result under bench/results/ appears in bench/README.md as the bench
    prints it."""
    bench = load_bench()
    readme = (ROOT / "bench" / "README.md").read_text()
    results = [json.loads(p.read_text()) for p in sorted((ROOT / "bench" / "results").glob(
        "*.json"))]
    profiles = [r for r in results if "profile" in r and "rows" in r]
    assert profiles, "no profile benchmark committed under bench/results/"
    for report in profiles:
        for line in bench.markdown_table(report).splitlines():
            assert line in readme, f"bench/README.md lacks a line of {report['profile']}: {line}"


def test_the_bench_readme_quotes_the_committed_recipe_screen(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("recipe_screen",
                                                  ROOT / "bench" / "recipe_screen.py")
    screen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screen)
    readme = (ROOT / "bench" / "README.md").read_text()
    paths = sorted((ROOT / "bench" / "results").glob("recipe-screen-*.json"))
    assert paths, "the recipe screen is committed under bench/results/"
    for path in paths:
        table = screen.markdown_table(json.loads(path.read_text()))
        assert table in readme, path.name
