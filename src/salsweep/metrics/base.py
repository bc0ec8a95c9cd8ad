"""The map-metric interface: one class per metric, one verb (``score``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from salsweep.registry import Registry


class MapMetric(ABC):
    """Score a batch of maps [N, H, W].

    ``requires`` names what else the metric needs: "reference" (the clean image's map of
    the same image, method and target) or "mask" (a ground-truth mask). ``score`` returns
    float64 [N]; NaN only where the metric is undefined for that map (documented per
    metric), never from a code bug.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        self.params = params

    def score(
        self,
        maps: np.ndarray,
        reference: np.ndarray | None = None,
        masks: np.ndarray | None = None,
    ) -> np.ndarray:
        if maps.ndim != 3:
            raise ValueError(f"maps must be [N, H, W], got {maps.shape}")
        if "reference" in self.requires and (reference is None or reference.shape != maps.shape):
            raise ValueError(f"{self.name} needs reference maps of shape {maps.shape}")
        if "mask" in self.requires and (masks is None or masks.shape != maps.shape):
            raise ValueError(f"{self.name} needs masks of shape {maps.shape}")
        values = np.asarray(self._score(maps, reference, masks), dtype=np.float64)
        if values.shape != (maps.shape[0],):
            raise AssertionError(f"{self.name} returned {values.shape}")
        return values

    @abstractmethod
    def _score(
        self, maps: np.ndarray, reference: np.ndarray | None, masks: np.ndarray | None
    ) -> np.ndarray: ...


METRICS: Registry[MapMetric] = Registry("metric")
