"""The record of a finished run and the README's Results table made from it."""

from __future__ import annotations

import importlib.util

from conftest import ROOT

from digit_recognizer import fileio, layout


def load_run_record():
    spec = importlib.util.spec_from_file_location("run_record", ROOT / "bench" / "run_record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_record_copies_the_run_and_marks_what_was_submitted(tmp_path):
    outputs = layout.Outputs(tmp_path)
    fileio.write_json(outputs.summary, {
        "run_id": "r1", "profile": "full", "source": "mnist", "seed": 42,
        "model": "kfold_ensemble", "local_score": 0.995, "choice": ["kept the ensemble"],
        "rows": [{"model": "dense"}, {"model": "kfold_ensemble"}]})
    fileio.write_json(outputs.metrics("dense"), {
        "model": "dense", "val_accuracy": 0.97, "val_errors": 3, "local_score": 0.96,
        "epochs": 10, "parameters": 318010, "train_seconds": 37.7, "recipe": {"epochs": 10}})
    fileio.write_json(outputs.metrics("kfold_ensemble"), {
        "model": "kfold_ensemble", "val_accuracy": 0.99, "val_errors": 1, "local_score": 0.995,
        "epochs": None, "train_seconds": 600.0, "folds": 2, "oof_accuracy": 0.9912,
        "oof_rows": 1000, "tta": True, "members": ["a_fold0", "a_fold1"]})
    for fold in (0, 1):
        fileio.write_json(outputs.members("kfold_ensemble") / f"a_fold{fold}.json", {
            "name": f"a_fold{fold}", "seed": 43 + fold, "epochs": 18, "val_accuracy": 0.99,
            "val_errors": 1, "local_score": 0.99, "train_seconds": 300.0, "history": [1]})
    run_record = load_run_record()

    run = run_record.record(outputs, "./run_all.sh --profile full")

    assert run["command"] == "./run_all.sh --profile full" and run["chosen"] == "kfold_ensemble"
    assert "recipe" not in run["models"][0] and "epochs" not in run["models"][1]
    assert [m["seed"] for m in run["models"][1]["members"]] == [43, 44]
    assert run_record.markdown_table(run).splitlines()[2:] == [
        "| dense 784-400-10 | 97.00% | 3 | 96.00% | 10 epochs, 38 s, 318,010 parameters |",
        "| **k-fold ensemble (07): submitted** | 99.00% | 1 | 99.50% | 2 members of 18 epochs, "
        "10 min; out of fold 99.12% on 1,000 rows, with TTA |"]


def test_the_readme_quotes_every_committed_run_record():
    run_record = load_run_record()
    readme = (ROOT / "README.md").read_text()
    paths = sorted((ROOT / "bench" / "results").glob("run-*.json"))
    assert paths, "the record of a full run is committed under bench/results/"
    for path in paths:
        run = fileio.read_json(path)
        assert run["command"] in readme, path.name
        assert run_record.markdown_table(run) in readme, path.name


def test_the_handwriting_page_quotes_the_photo_reading_records():
    spec = importlib.util.spec_from_file_location("photo_reading",
                                                  ROOT / "bench" / "photo_reading.py")
    photo_reading = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(photo_reading)
    paths = sorted((ROOT / "bench" / "results").glob("photo_reading-*.json"))
    assert paths, "the photo reading benchmark's records are committed under bench/results/"
    records = {path.stem: fileio.read_json(path) for path in paths}
    assert photo_reading.markdown_table(records) in \
        (ROOT / "docs" / "handwriting.md").read_text()
