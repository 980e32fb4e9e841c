"""The stage manifest: the one place a stage is declared, and what is derived from it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import ROOT

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import graph, stages

README = (ROOT / "README.md").read_text()
RUN = {**graph.run_defaults()}


def test_every_notebook_is_a_stage_and_every_notebook_stage_a_notebook():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks == sorted(stages.notebooks())


def test_what_a_stage_reads_an_earlier_stage_writes():
    order = list(stages.STAGES)
    written = stages.writer(stages.STAGES)
    for s in stages.STAGES.values():
        for path in s.reads:
            if path == stages.OUT.resolved_source:  # the runner's record of the data
                continue
            assert str(path) in written, f"{s.name} reads {path}, which no stage writes"
            assert order.index(written[str(path)]) < order.index(s.name)


def test_every_model_is_trained_by_one_notebook_that_hands_its_files_on():
    trained = [m for s in stages.STAGES.values() for m in s.models if m in recipes.MODELS]
    assert sorted(trained) == sorted(recipes.MODELS)
    written = stages.writer(stages.STAGES)
    for s in stages.STAGES.values():
        for model in s.models:
            if model in recipes.MODELS:
                assert all(written[str(p)] == s.name for p in stages.OUT.model_files(model))


@pytest.mark.parametrize("name", stages.notebooks())
def test_a_notebooks_parameters_are_the_manifests(name):
    """The parameters cell declares what the manifest gives the stage, with its defaults:
    one source of truth, the notebook's cell a copy that a test keeps in step."""
    s = stages.STAGES[name]
    declared = graph.declared_parameters(ROOT / s.notebook)
    expected = graph.stage_section(s, RUN)
    runner = {k: v for k, v in declared.items()
              if k in graph.RUNNER_PARAMETERS or k in s.references}
    assert {k: v for k, v in declared.items() if k not in runner} == expected
    for key, path in s.references.items():  # the default is the path the runner hands over
        assert declared[key] == f"../{path}" and (ROOT / path).is_file()


def test_builders_and_recipes_exist_for_every_model_and_profile():
    from digit_recognizer.learning import models

    for model in recipes.MODELS.values():
        assert callable(getattr(models, model.builder))
        for profile in recipes.PROFILES:
            assert recipes.recipe(model.name, profile).epochs > 0
    assert recipes.recipe("dense", "quick", epochs=7).epochs == 7


def test_a_training_notebook_gets_the_profiles_values_and_nothing_of_other_profiles(
        monkeypatch):
    s = stages.STAGES["05_batchnorm"]
    before = graph.stage_section(s, RUN)
    assert before["epochs"] == recipes.recipe("batchnorm", "quick").epochs
    assert before["learning_rate"] == recipes.recipe("batchnorm", "quick").learning_rate
    assert "profile" not in before
    model = recipes.MODELS["batchnorm"]
    monkeypatch.setitem(recipes.MODELS, "batchnorm", replace(
        model, recipes={**model.recipes, "gpu": replace(model.recipes["gpu"], epochs=99)}))
    assert graph.stage_section(s, RUN) == before
    assert graph.stage_section(s, {**RUN, "epochs": 3})["epochs"] == 3
    assert graph.stage_section(s, {**RUN, "profile": "full"})["epochs"] == \
        recipes.recipe("batchnorm", "full").epochs


def test_unknown_names_are_clear_errors():
    with pytest.raises(DigitRecognizerError, match="unknown profile 'huge'"):
        recipes.recipe("dense", "huge")
    with pytest.raises(DigitRecognizerError, match="unknown model 'vit'"):
        recipes.recipe("vit", "quick")
    with pytest.raises(DigitRecognizerError, match="unknown stage '09_x'"):
        stages.stage("09_x")


def test_a_path_written_by_two_stages_is_refused():
    twice = {**stages.STAGES, "11_twice": stages.Stage("11_twice", writes=(stages.OUT.split,))}
    with pytest.raises(DigitRecognizerError, match="written by 03_preprocess and 11_twice"):
        graph.dvc_yaml(ROOT, twice)


def test_readme_tables_follow_the_manifest():
    for name in stages.notebooks():
        assert f"| `{name}` |" in README, f"README's stage table lacks {name}"
    for model in recipes.MODELS.values():
        assert f"| {model.title} |" in README, f"README's results table lacks {model.title}"
