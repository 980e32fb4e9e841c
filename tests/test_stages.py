"""The stage registry: the one place a stage or model is declared, and what is derived from it."""

from __future__ import annotations

import pytest
from conftest import ROOT

from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import stages

README = (ROOT / "README.md").read_text()


def test_every_notebook_is_a_stage_and_every_stage_a_notebook():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks == sorted(stages.STAGES)


def test_upstream_stages_come_first_and_every_model_has_one_stage():
    order = list(stages.STAGES)
    for stage in stages.STAGES.values():
        assert all(order.index(up) < order.index(stage.name) for up in stage.upstream)
    trained = [m for s in stages.STAGES.values() for m in s.models]
    assert sorted(trained) == sorted(recipes.MODELS)


def test_builders_and_recipes_exist_for_every_model_and_profile():
    from digit_recognizer.learning import models

    for model in recipes.MODELS.values():
        assert callable(getattr(models, model.builder))
        for profile in recipes.PROFILES:
            assert recipes.recipe(model.name, profile).epochs > 0
    assert recipes.recipe("dense", "quick", epochs=7).epochs == 7


def test_unknown_names_are_clear_errors():
    with pytest.raises(DigitRecognizerError, match="unknown profile 'huge'"):
        recipes.recipe("dense", "huge")
    with pytest.raises(DigitRecognizerError, match="unknown model 'vit'"):
        recipes.recipe("vit", "quick")
    with pytest.raises(DigitRecognizerError, match="unknown stage '09_x'"):
        stages.stage("09_x")


def test_readme_tables_follow_the_registry():
    for name in stages.STAGES:
        assert f"| `{name}` |" in README, f"README's stage table lacks {name}"
    for model in recipes.MODELS.values():
        assert f"| {model.title} |" in README, f"README's results table lacks {model.title}"
