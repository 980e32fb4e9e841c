"""environment.yml (conda) and requirements.txt (pip) pin the same versions."""

from __future__ import annotations

import re

from conftest import ROOT


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s#]*)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_conda_and_pip_pins_agree():
    pip = pins((ROOT / "requirements.txt").read_text())
    conda = pins((ROOT / "environment.yml").read_text())
    conda.pop("python", None)
    assert pip, "requirements.txt pins nothing"
    assert conda == pip
