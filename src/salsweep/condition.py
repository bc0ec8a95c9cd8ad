"""A condition: one perturbed copy of a dataset (a sweep name and one of its levels).

The level's text form (in file paths and seeds) and its parse back to a number live here
side by side, so every job reads a level the same way. Light (no torch): the DAG uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# The unperturbed reference: a pseudo-sweep with one level.
CLEAN = "clean"
CLEAN_LEVEL = "0"


def format_level(level: float | int) -> str:
    """Canonical text of a level, as used in file paths and seeds ("3", "0.05", "1.5")."""
    value = float(level)
    if not np.isfinite(value):
        raise ValueError(f"level must be finite, got {level!r}")
    if value.is_integer():
        return str(int(value))
    return np.format_float_positional(value, trim="-")


def parse_level(level: str) -> int | float:
    """The number of a level's text: an int where it is whole ("3" -> 3), else a float."""
    value = float(level)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class Condition:
    """One perturbed copy of a dataset: a sweep name and a canonical level text."""

    dataset: str
    perturbation: str
    level: str

    def __post_init__(self) -> None:
        try:
            canonical = format_level(parse_level(self.level))
        except (TypeError, ValueError):
            canonical = None
        if canonical != self.level:
            raise ValueError(
                f"condition {self.dataset}/{self.perturbation}: level {self.level!r} is not a "
                f"canonical level text (expected e.g. {canonical or '3'!r})"
            )

    @classmethod
    def from_wildcards(cls, wildcards: Mapping[str, str]) -> Condition:
        """From a job's ``dataset``, ``perturbation`` and ``level`` wildcards."""
        values = dict(wildcards)
        return cls(values["dataset"], values["perturbation"], values["level"])

    @property
    def value(self) -> int | float:
        """The level as a perturbation takes it (an int where whole)."""
        return parse_level(self.level)

    @property
    def table_level(self) -> float:
        """The level as the tables' float ``level`` column holds it."""
        return float(self.value)

    @property
    def is_clean(self) -> bool:
        return self.perturbation == CLEAN
