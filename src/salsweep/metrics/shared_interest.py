"""Shared Interest (Boggust et al., CHI 2022): saliency vs a ground-truth object mask G.

The map is binarised into the saliency feature set S as in the paper's code
(``shared_interest/util.py``): min-max normalise the map to [0, 1], then

- ``binarize="mean_std"`` (default): S = pixels >= mean + 1 std of the normalised map;
- ``binarize={"percentile": q}``, q in (0, 100): S = pixels >= the q-th percentile
  (numpy's linear interpolation) of the normalised map.

Signed maps are normalised as they are, so S holds the strongest positive evidence.
A constant map has no salient pixels: S is empty (the paper's code gets NaN from 0/0 in the
normalisation and ``NaN >= t`` is False, so the same).

Scores (as xaitk-saliency 0.15 ``compute_iou_coverage``, ``compute_ground_truth_coverage``,
``compute_saliency_coverage`` on a binary S of the mask's size), all higher is better:

- ``iou_coverage`` = |G & S| / |G | S|
- ``gt_coverage`` = |G & S| / |G|
- ``saliency_coverage`` = |G & S| / |S|

Undefined cases, NaN for that item only (xaitk floors the denominator at 1e-10 and
returns 0.0 instead, which would count a missing mask as a failure):

- G empty (no ground-truth object, e.g. an image without a mask passes an all-zero mask):
  all three are NaN - coverage of nothing is undefined.
- S empty, G not: ``iou_coverage`` = 0 and ``gt_coverage`` = 0 (nothing of G is covered);
  ``saliency_coverage`` is NaN (0/0: no saliency to locate).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS, MapMetric
from salsweep.metrics.params import as_bool_masks, as_float_maps, resolve_metric
from salsweep.params import AnyOf, Keyed, Number, OneOf, Param, Plugin

SHARED_INTEREST_PARAMS = {
    "binarize": Param(
        "mean_std",
        "How the map becomes the saliency set S after min-max normalisation - mean_std "
        "(pixels >= mean + 1 std) or {percentile: q} (pixels >= the q-th percentile).",
        AnyOf(
            OneOf("mean_std"),
            Keyed("percentile", Number(0, 100, low_open=True, high_open=True)),
            phrase="'mean_std' or {'percentile': q} with q in (0, 100)",
        ),
    )
}
PARAMS = {
    "iou_coverage": Plugin(
        "Shared Interest abs(G and S) / abs(G or S) vs the ground-truth mask G; NaN where G "
        "is empty.",
        SHARED_INTEREST_PARAMS,
    ),
    "gt_coverage": Plugin(
        "Shared Interest abs(G and S) / abs(G); NaN where G is empty.", SHARED_INTEREST_PARAMS
    ),
    "saliency_coverage": Plugin(
        "Shared Interest abs(G and S) / abs(S); NaN where G or S is empty.", SHARED_INTEREST_PARAMS
    ),
}


def binarize(maps: np.ndarray, how: str | dict) -> np.ndarray:
    """Bool [N, H, W] saliency feature sets S of float maps (see module doc)."""
    lo = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    constant = span[:, 0, 0] == 0
    norm = (maps - lo) / np.where(span > 0, span, 1.0)
    if how == "mean_std":
        thr = norm.mean(axis=(1, 2)) + norm.std(axis=(1, 2))
    else:
        thr = np.percentile(norm, how["percentile"], axis=(1, 2))
    s = norm >= thr[:, None, None]
    s[constant] = False
    return s


class _SharedInterestBase(MapMetric):
    higher_is_better: ClassVar[bool] = True
    requires: ClassVar[tuple[str, ...]] = ("mask",)

    def __init__(self, **params) -> None:
        super().__init__(**resolve_metric(self.name, params))

    def _counts(self, maps, masks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """|G & S|, |G|, |S| per item."""
        s = binarize(as_float_maps(maps, "maps", self.name), self.params["binarize"])
        g = as_bool_masks(masks, self.name)
        inter = (g & s).sum(axis=(1, 2))
        return inter, g.sum(axis=(1, 2)), s.sum(axis=(1, 2))

    @staticmethod
    def _ratio(num: np.ndarray, den: np.ndarray, undefined: np.ndarray) -> np.ndarray:
        out = np.full(num.shape[0], np.nan)
        ok = ~undefined
        out[ok] = num[ok] / den[ok]
        return out


@METRICS.register("iou_coverage")
class IoUCoverage(_SharedInterestBase):
    """|G & S| / |G | S|; NaN where G is empty."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        inter, g, s = self._counts(maps, masks)
        return self._ratio(inter, g + s - inter, g == 0)


@METRICS.register("gt_coverage")
class GTCoverage(_SharedInterestBase):
    """|G & S| / |G|; NaN where G is empty."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        inter, g, _ = self._counts(maps, masks)
        return self._ratio(inter, g, g == 0)


@METRICS.register("saliency_coverage")
class SaliencyCoverage(_SharedInterestBase):
    """|G & S| / |S|; NaN where G or S is empty."""

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        inter, g, s = self._counts(maps, masks)
        return self._ratio(inter, s, (g == 0) | (s == 0))
