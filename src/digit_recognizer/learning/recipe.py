"""What one training is: a network (`builder`, a function of `models`, in a `precision`) and a
`Recipe`. The catalogue of every model's recipe per profile is `recipes`; this module is plain
data, so that code which shows a training imports nothing that trains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Recipe:
    """How a model trains. The reference models use plain Adam at 0.001, as the write-ups do."""

    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"  # or "cosine": linear warm-up then cosine decay to zero
    label_smoothing: float = 0.0
    augment: bool = False
    # XLA doubles the reference CNNs' speed on the CPU but halves the batch-norm CNN's (bench/).
    jit_compile: bool | str = "auto"
    optimizer: str = "Adam"


def differences(before: Mapping, after: Mapping) -> list[str]:
    """Every difference between two trainings, each given as {builder, precision, recipe}
    (a model's metrics have these): architecture, arithmetic and recipe."""
    changes = []
    old_net = before.get("network") or before.get("builder")
    new_net = after.get("network") or after.get("builder")
    if old_net != new_net:
        changes.append(f"architecture: `{old_net}` → `{new_net}`")
    if before["precision"] != after["precision"]:
        shown = {"auto": "auto (bfloat16 where the hardware has it)"}
        changes.append(f"precision: {before['precision']} → "
                       f"{shown.get(after['precision'], after['precision'])}")
    for field in fields(Recipe):
        old = before["recipe"].get(field.name, field.default)
        new = after["recipe"].get(field.name, field.default)
        if old != new and field.name != "jit_compile":  # a speed setting, not the method
            changes.append(f"{field.name.replace('_', ' ')}: {old} → {new}")
    return changes
