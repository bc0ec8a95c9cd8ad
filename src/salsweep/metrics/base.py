"""The map-metric interface: one class per metric, one verb (``score``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from salsweep.registry import Registry


@dataclass(frozen=True)
class MetricContext:
    """What some metrics need beyond the maps, the clean maps and the masks; rows follow the
    maps. A field is None where the job does not have it (then metrics needing it are
    skipped)."""

    images: np.ndarray | None = None  # the copy, [N, H, W, C] in [0, 255]
    clean_images: np.ndarray | None = None  # the clean image of each row, same shape
    probs: np.ndarray | None = None  # the copy's softmax vector, [N, C]
    clean_probs: np.ndarray | None = None  # the clean image's softmax vector, [N, C]
    pred_maps: np.ndarray | None = None  # the predicted-class map of the same image [N, H, W]
    # Bool [H, W], geometric sweeps only: the pixels of the clean frame that the copy shows.
    # The maps (and images) are then already warped back into the clean frame, and every
    # metric that compares with the clean image ("reference") uses only these pixels.
    valid: np.ndarray | None = None

    def has(self, requirement: str) -> bool:
        """Whether this context holds what ``requirement`` (an entry of ``requires``) needs."""
        if requirement == "images":
            return self.images is not None and self.clean_images is not None
        if requirement == "probs":
            return self.probs is not None and self.clean_probs is not None
        if requirement == "pred_map":
            return self.pred_maps is not None
        raise ValueError(f"unknown metric requirement {requirement!r}")


# Requirements a MetricContext serves (the others are score()'s reference and masks).
CONTEXT_REQUIREMENTS = ("images", "probs", "pred_map")


class MapMetric(ABC):
    """Score a batch of maps [N, H, W].

    ``requires`` names what else the metric needs: "reference" (the clean image's map of
    the same image, method and target), "mask" (a ground-truth mask), or, in ``context``,
    "images" (the copy and the clean image), "probs" (the copy's and the clean image's
    softmax vectors) or "pred_map" (the predicted-class map of the same image and
    condition). ``score`` returns float64 [N]; NaN only where the metric is undefined for
    that map (documented per metric), never from a code bug.
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
        context: MetricContext | None = None,
    ) -> np.ndarray:
        if maps.ndim != 3:
            raise ValueError(f"maps must be [N, H, W], got {maps.shape}")
        if "reference" in self.requires and (reference is None or reference.shape != maps.shape):
            raise ValueError(f"{self.name} needs reference maps of shape {maps.shape}")
        if "mask" in self.requires and (masks is None or masks.shape != maps.shape):
            raise ValueError(f"{self.name} needs masks of shape {maps.shape}")
        context = context or MetricContext()
        for requirement in CONTEXT_REQUIREMENTS:
            if requirement in self.requires and not context.has(requirement):
                raise ValueError(f"{self.name} needs {requirement} in its context")
        _check_rows(self.name, maps, context)
        values = np.asarray(self._score(maps, reference, masks, context), dtype=np.float64)
        if values.shape != (maps.shape[0],):
            raise AssertionError(f"{self.name} returned {values.shape}")
        return values

    @abstractmethod
    def _score(
        self,
        maps: np.ndarray,
        reference: np.ndarray | None,
        masks: np.ndarray | None,
        context: MetricContext,
    ) -> np.ndarray: ...


def _check_rows(name: str, maps: np.ndarray, context: MetricContext) -> None:
    """Each context array given must have one row per map (and the maps' H, W for images)."""
    n, h, w = maps.shape
    for field_name in ("images", "clean_images"):
        value = getattr(context, field_name)
        if value is not None and (value.ndim != 4 or value.shape[:3] != (n, h, w)):
            raise ValueError(f"{name}: {field_name} must be [{n}, {h}, {w}, C], got {value.shape}")
    if context.probs is not None and context.clean_probs is not None:
        if context.probs.ndim != 2 or context.probs.shape != context.clean_probs.shape:
            raise ValueError(
                f"{name}: probs {context.probs.shape} and clean_probs "
                f"{context.clean_probs.shape} must both be [N, C]"
            )
    for field_name in ("probs", "clean_probs"):
        value = getattr(context, field_name)
        if value is not None and value.shape[0] != n:
            raise ValueError(f"{name}: {field_name} has {value.shape[0]} rows for {n} maps")
    if context.valid is not None:
        if context.valid.shape != (h, w) or context.valid.dtype != bool:
            raise ValueError(f"{name}: valid must be bool [{h}, {w}], got {context.valid.shape}")
        if not context.valid.any():
            raise ValueError(f"{name}: no valid pixel: the copy shows none of the clean image")
    if context.pred_maps is not None and context.pred_maps.shape != maps.shape:
        raise ValueError(f"{name}: pred_maps must be {maps.shape}, got {context.pred_maps.shape}")


METRICS: Registry[MapMetric] = Registry("metric")
