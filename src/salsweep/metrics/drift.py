"""How far a perturbed image's map drifts from the clean image's map (the ``reference``).

All four metrics compare each map with its reference pixel by pixel, computed in float64.

- ``ssd``: xaitk-saliency 0.15 ``compute_ssd``, the normalised sum of squared differences
  ``sum((m - r)^2) / sqrt(sum(m^2) * sum(r^2))``; 0 for identical maps, lower is better.
  NaN where either map is all zeros (the normaliser is 0; xaitk returns inf there, which
  would swamp any mean taken over images, so it is marked undefined instead).
- ``xcorr``: xaitk ``compute_xcorr``, Pearson's normalised cross-correlation of the two
  maps' pixels, in [-1, 1], higher is better. Constant maps follow xaitk: a constant map
  against a non-constant reference scores 0.0; a constant reference gives NaN (xaitk's
  ``np.corrcoef`` returns NaN: correlation with a constant is undefined). "Constant" means
  max == min exactly.
- ``spearman``: Spearman's rank correlation of the two maps' pixels (average ranks for
  ties, as ``scipy.stats.spearmanr``), higher is better; NaN where either map is constant.
- ``topk_iou``: IoU of the two maps' top-k% pixel sets, higher is better. Param ``k``
  (percent, (0, 100], default 10). A map's top set is every pixel whose value is >= its
  n-th largest value, n = ceil(k/100 * H*W) (at least 1): ties at the threshold are all
  kept so that the set does not depend on pixel order (a constant map's top set is the
  whole map). Pixels are ranked by signed value, so for signed maps the set is the
  strongest positive evidence. Never NaN (each set has >= 1 pixel).

Geometric sweeps (rotation, translation, scale): the copy's map is first warped back into
the clean image's frame (salsweep.frames) and each metric above is computed exactly as
written, but over the valid pixels only (``MetricContext.valid``): the sums of ``ssd``,
the pixels correlated by ``xcorr`` and ``spearman`` (ranks among the valid pixels), and
the P of ``topk_iou``'s n = ceil(k% of P) are those of the valid pixels.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS, MapMetric
from salsweep.metrics.params import as_float_maps, resolve_metric
from salsweep.params import Number, Param, Plugin

PARAMS = {
    "ssd": Plugin("xaitk's normalised SSD vs the clean map; NaN where either map is all zeros."),
    "xcorr": Plugin(
        "xaitk's normalised cross-correlation vs the clean map; 0.0 for a constant map, NaN "
        "for a constant clean map."
    ),
    "spearman": Plugin(
        "Spearman rank correlation vs the clean map; NaN where either map is constant."
    ),
    "topk_iou": Plugin(
        "IoU of the top-k% pixel sets of the map and the clean map.",
        {"k": Param(10, "Percent of pixels kept per map.", Number(0, 100, low_open=True))},
    ),
}


class _DriftBase(MapMetric):
    requires: ClassVar[tuple[str, ...]] = ("reference",)

    def __init__(self, **params) -> None:
        super().__init__(**resolve_metric(self.name, params))

    def _pair(self, maps, reference, context) -> tuple[np.ndarray, np.ndarray]:
        """[N, P] float64 maps and references over the valid pixels (all without a mask)."""
        m = as_float_maps(maps, "maps", self.name).reshape(maps.shape[0], -1)
        r = as_float_maps(reference, "reference", self.name).reshape(maps.shape[0], -1)
        return valid_columns(m, context), valid_columns(r, context)


def valid_columns(flat: np.ndarray, context) -> np.ndarray:
    """The columns of [N, H*W(*C)] rows at the context's valid pixels (all if none given)."""
    if context is None or context.valid is None:
        return flat
    per_pixel = flat.shape[1] // context.valid.size
    return flat[:, np.repeat(context.valid.reshape(-1), per_pixel)]


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of [N, P] arrays; rows must not be constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.clip(r, -1.0, 1.0)


def _constant(x: np.ndarray) -> np.ndarray:
    return x.max(axis=1) == x.min(axis=1)


@METRICS.register("ssd")
class SSD(_DriftBase):
    """xaitk's normalised SSD vs the reference; NaN where either map is all zeros."""

    higher_is_better: ClassVar[bool] = False

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        m, r = self._pair(maps, reference, context)
        norm = np.sqrt((m * m).sum(axis=1) * (r * r).sum(axis=1))
        out = np.full(m.shape[0], np.nan)
        ok = norm > 0
        out[ok] = ((m[ok] - r[ok]) ** 2).sum(axis=1) / norm[ok]
        return out


@METRICS.register("xcorr")
class XCorr(_DriftBase):
    """xaitk's normalised cross-correlation; 0.0 for a constant map, NaN for a constant ref."""

    higher_is_better: ClassVar[bool] = True

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        m, r = self._pair(maps, reference, context)
        cm, cr = _constant(m), _constant(r)
        out = np.full(m.shape[0], np.nan)
        out[cm & ~cr] = 0.0
        ok = ~cm & ~cr
        out[ok] = _pearson(m[ok], r[ok])
        return out


@METRICS.register("spearman")
class Spearman(_DriftBase):
    """Spearman rank correlation vs the reference; NaN where either map is constant."""

    higher_is_better: ClassVar[bool] = True

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        # scipy.stats takes ~1 s to import; only pay for it when spearman is scored
        from scipy.stats import rankdata

        m, r = self._pair(maps, reference, context)
        out = np.full(m.shape[0], np.nan)
        ok = ~_constant(m) & ~_constant(r)
        if ok.any():
            out[ok] = _pearson(rankdata(m[ok], axis=1), rankdata(r[ok], axis=1))
        return out


def top_set(flat: np.ndarray, k: float) -> np.ndarray:
    """Bool [N, P]: pixels >= each row's n-th largest value, n = ceil(k% of P), ties kept."""
    p = flat.shape[1]
    # round first so that e.g. 10% of 100 pixels is 10, not 11 from float error
    n = max(1, math.ceil(round(k * p / 100.0, 9)))
    kth = np.partition(flat, p - n, axis=1)[:, p - n]
    return flat >= kth[:, None]


@METRICS.register("topk_iou")
class TopKIoU(_DriftBase):
    """IoU of the top-k% pixel sets of the map and its reference (param ``k``, percent)."""

    higher_is_better: ClassVar[bool] = True

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        m, r = self._pair(maps, reference, context)
        k = float(self.params["k"])
        a, b = top_set(m, k), top_set(r, k)
        return (a & b).sum(axis=1) / (a | b).sum(axis=1)
