"""Shannon entropy of a saliency map, as xaitk-saliency 0.15's ``Entropy`` metric computes it.

xaitk calls ``scipy.stats.entropy(s.ravel(), base=2)`` on a non-negative map ``s``: the
pixel values themselves are the (unnormalised) probability mass, NOT a histogram of values.
So the entropy is ``H = -sum_i p_i log2 p_i`` with ``p_i = s_i / sum_j s_j`` (0 log 0 = 0).
It ranges from 0 (all saliency on one pixel) to log2(H*W) (saliency spread evenly), so a
lower value means a more focused map: ``higher_is_better = False``.

How ``s`` is made from the map ``m`` (float32, signed in [-1, 1] or unsigned in [0, 1]):

- ``entropy``: min-max normalisation, ``s = (m - min) / max(max - min, 1e-10)``
  (xaitk's ``clip_range=None``). The minimum pixel gets zero mass.
- ``entropy_pos``: positive part, ``s = clip(m, 0, 1)`` (xaitk's ``clip_range=(0, 1)``).
- ``entropy_neg``: negative part, ``s = -clip(m, -1, 0)``. xaitk's ``clip_range=(-1, 0)``
  leaves the sign, which scipy's division by the (negative) sum cancels; same value.

NaN, and only then: when ``s`` has no mass, i.e. ``entropy`` of a constant map (min-max
gives all zeros), ``entropy_pos`` of a map with no pixel > 0, ``entropy_neg`` of a map with
no pixel < 0 (e.g. any unsigned map). xaitk returns scipy's 0/0 NaN there; here the case is
tested for explicitly so that no other NaN can arise.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS, MapMetric
from salsweep.metrics.params import as_float_maps, resolve_metric
from salsweep.params import Plugin

PARAMS = {
    "entropy": Plugin("Entropy of the min-max normalised map (focus; lower is more focused)."),
    "entropy_pos": Plugin("Entropy of the positive part clip(m, 0, 1); NaN if no pixel is > 0."),
    "entropy_neg": Plugin("Entropy of the negative part -clip(m, -1, 0); NaN if no pixel is < 0."),
}


def mass_entropy(mass: np.ndarray) -> np.ndarray:
    """Base-2 entropy of each non-negative [N, H, W] mass map; NaN where a map sums to 0."""
    flat = mass.reshape(mass.shape[0], -1)
    total = flat.sum(axis=1)
    out = np.full(flat.shape[0], np.nan)
    ok = total > 0
    p = flat[ok] / total[ok, None]
    logp = np.log2(p, out=np.zeros_like(p), where=p > 0)
    out[ok] = -(p * logp).sum(axis=1)
    # rounding can leave -0.0 or a hair below 0 for a one-pixel map
    out[ok] = np.maximum(out[ok], 0.0)
    return out


class _EntropyBase(MapMetric):
    higher_is_better: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params) -> None:
        super().__init__(**resolve_metric(self.name, params))

    def _mass(self, maps: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        return mass_entropy(self._mass(as_float_maps(maps, "maps", self.name)))


@METRICS.register("entropy")
class Entropy(_EntropyBase):
    """Entropy of the min-max normalised map; NaN for a constant map (see module doc)."""

    def _mass(self, maps: np.ndarray) -> np.ndarray:
        lo = maps.min(axis=(1, 2), keepdims=True)
        hi = maps.max(axis=(1, 2), keepdims=True)
        # xaitk's floor on the range; a constant map becomes all zeros -> NaN
        return (maps - lo) / np.maximum(hi - lo, 1e-10)


@METRICS.register("entropy_pos")
class EntropyPos(_EntropyBase):
    """Entropy of the positive part clip(m, 0, 1); NaN if no pixel is > 0."""

    def _mass(self, maps: np.ndarray) -> np.ndarray:
        return np.clip(maps, 0.0, 1.0)


@METRICS.register("entropy_neg")
class EntropyNeg(_EntropyBase):
    """Entropy of the negative part -clip(m, -1, 0); NaN if no pixel is < 0."""

    def _mass(self, maps: np.ndarray) -> np.ndarray:
        return -np.clip(maps, -1.0, 0.0)
