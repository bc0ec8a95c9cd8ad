"""Localisation against a ground-truth mask G, as Quantus defines it
(``quantus/metrics/localisation/pointing_game.py``, ``relevance_mass_accuracy.py``,
``relevance_rank_accuracy.py``), beside Shared Interest. The map m is used as it is
(Quantus' defaults ``abs=False``; its ``normalise=True`` divides by max|m|, which changes
none of the three). All higher is better; NaN where G is empty (Quantus), for that item.

- ``pointing_game`` (Zhang et al. 2018; Quantus ``PointingGame``, ``weighted=False``): 1.0
  if a pixel where m reaches its maximum lies in G, else 0.0 - with TorchRay's tolerance:
  G is first grown by every pixel at Euclidean distance < t from it (TorchRay's
  ``PointingGame.evaluate``: accept if d^2 < t^2), t = 15 px at 224 px scaled with the
  image, t = 15 * min(H, W) / 224. Ties for the maximum count as in Quantus (any of them
  inside is a hit; TorchRay takes the first), so a constant map is a hit.
- ``relevance_mass`` (Arras et al. 2022; Quantus ``RelevanceMassAccuracy``):
  sum(m+ inside G) / sum(m+), m+ = max(m, 0), the share of positive saliency inside G.
  Quantus sums m itself; on m+ (its docstring's "positive attributions", Arras' definition)
  the two agree for unsigned maps and the signed maps' negative evidence cannot make the
  share negative or above 1. NaN also where m has no positive pixel (0/0).
- ``relevance_rank`` (Arras et al. 2022; Quantus ``RelevanceRankAccuracy``): with K = |G|,
  the share of the K highest-ranked pixels of m (ranked by signed value) that lie in G.
  Quantus breaks ties at the K-th value by ``np.argsort`` order, which puts the tied
  pixels in an arbitrary (raster-biased) order; here the tied pixels share the remaining
  places evenly, i.e. the expected value over a random tie order:
  (|G & m > v| + (K - |m > v|) * |G & m == v| / |m == v|) / K, v = the K-th largest value.
  The same as Quantus wherever the K-th value is not tied.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS, MapMetric
from salsweep.metrics.params import as_bool_masks, as_float_maps, resolve_metric
from salsweep.params import Plugin

PARAMS = {
    "pointing_game": Plugin(
        "1 if the map's maximum lies in the ground-truth mask grown by TorchRay's tolerance "
        "(15 px at 224 px, scaled with the image), else 0; NaN where the mask is empty."
    ),
    "relevance_mass": Plugin(
        "Share of the positive saliency inside the ground-truth mask (Quantus relevance mass "
        "accuracy); NaN where the mask is empty or no pixel is positive."
    ),
    "relevance_rank": Plugin(
        "Share of the top-abs(mask) pixels of the map inside the mask (Quantus relevance rank "
        "accuracy; ties shared evenly); NaN where the mask is empty."
    ),
}

# TorchRay's pointing-game tolerance: 15 px on its 224 px inputs.
TOLERANCE_PX = 15
TOLERANCE_AT = 224


def tolerance_px(shape: tuple[int, int]) -> float:
    return TOLERANCE_PX * min(shape) / TOLERANCE_AT


class _LocalisationBase(MapMetric):
    higher_is_better: ClassVar[bool] = True
    requires: ClassVar[tuple[str, ...]] = ("mask",)

    def __init__(self, **params) -> None:
        super().__init__(**resolve_metric(self.name, params))

    def _inputs(self, maps, masks) -> tuple[np.ndarray, np.ndarray]:
        return as_float_maps(maps, "maps", self.name), as_bool_masks(masks, self.name)


@METRICS.register("pointing_game")
class PointingGame(_LocalisationBase):
    """Hit (1.0) if a maximum of the map lies within the tolerance of the mask."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        # scipy.ndimage only here: the other metrics stay numpy-only
        from scipy.ndimage import distance_transform_edt

        m, g = self._inputs(maps, masks)
        tolerance = tolerance_px(m.shape[1:])
        out = np.full(m.shape[0], np.nan)
        for i in np.flatnonzero(g.any(axis=(1, 2))):
            # distance of every pixel to the nearest mask pixel (0 inside the mask)
            near = distance_transform_edt(~g[i]) < tolerance
            out[i] = float((near & (m[i] == m[i].max())).any())
        return out


@METRICS.register("relevance_mass")
class RelevanceMass(_LocalisationBase):
    """sum(max(m, 0) in G) / sum(max(m, 0)); NaN where G is empty or no pixel is > 0."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        m, g = self._inputs(maps, masks)
        positive = np.clip(m, 0.0, None)
        within = (positive * g).sum(axis=(1, 2))
        total = positive.sum(axis=(1, 2))
        out = np.full(m.shape[0], np.nan)
        ok = g.any(axis=(1, 2)) & (total > 0)
        out[ok] = within[ok] / total[ok]
        return out


@METRICS.register("relevance_rank")
class RelevanceRank(_LocalisationBase):
    """Share of the top-|G| pixels inside G, ties at the cut shared evenly."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        m, g = self._inputs(maps, masks)
        n = m.shape[0]
        flat, inside = m.reshape(n, -1), g.reshape(n, -1)
        out = np.full(n, np.nan)
        for i in np.flatnonzero(inside.any(axis=1)):
            k = int(inside[i].sum())
            cut = np.partition(flat[i], flat.shape[1] - k)[flat.shape[1] - k]  # K-th largest
            above, tied = flat[i] > cut, flat[i] == cut
            places = k - int(above.sum())  # left for the tied pixels, >= 1
            hits = (inside[i] & above).sum() + places * (inside[i] & tied).sum() / tied.sum()
            out[i] = hits / k
        return out
