"""Metric parameters: defaults, validation and column labels (numpy only, no torch).

``METRIC_PARAMS`` lists every metric and the parameters it accepts with their defaults.
A metric without parameters maps to ``{}``. Allowed values:

- ``topk_iou``: ``k`` percent of pixels kept per map, a number in (0, 100]; default 10.
- ``iou_coverage``, ``gt_coverage``, ``saliency_coverage``: ``binarize`` is either
  ``"mean_std"`` (default: min-max normalise, keep pixels >= mean + 1 std) or
  ``{"percentile": q}`` with q a number in (0, 100) (keep pixels >= the q-th percentile).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_SHARED_INTEREST = {"binarize": "mean_std"}

METRIC_PARAMS: dict[str, dict[str, Any]] = {
    "entropy": {},
    "entropy_pos": {},
    "entropy_neg": {},
    "ssd": {},
    "xcorr": {},
    "spearman": {},
    "topk_iou": {"k": 10},
    "iou_coverage": dict(_SHARED_INTEREST),
    "gt_coverage": dict(_SHARED_INTEREST),
    "saliency_coverage": dict(_SHARED_INTEREST),
}


def _is_number(value: Any) -> bool:
    # bool is an int subclass; "k: true" in a config is a mistake, not 1.
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _check_k(name: str, k: Any) -> None:
    if not _is_number(k) or not math.isfinite(k) or not 0 < k <= 100:
        raise ValueError(f"metric {name!r}: param 'k' must be a number in (0, 100], got {k!r}")


def _check_binarize(name: str, binarize: Any) -> None:
    if binarize == "mean_std":
        return
    if isinstance(binarize, dict) and set(binarize) == {"percentile"}:
        q = binarize["percentile"]
        if _is_number(q) and math.isfinite(q) and 0 < q < 100:
            return
        raise ValueError(
            f"metric {name!r}: param 'binarize.percentile' must be a number in (0, 100), got {q!r}"
        )
    raise ValueError(
        f"metric {name!r}: param 'binarize' must be 'mean_std' or {{'percentile': q}} "
        f"with q in (0, 100), got {binarize!r}"
    )


_CHECKS = {"k": _check_k, "binarize": _check_binarize}


def check_metric(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the metric and parameter for an unknown name/param or bad value."""
    if name not in METRIC_PARAMS:
        allowed = ", ".join(sorted(METRIC_PARAMS))
        raise ValueError(f"unknown metric {name!r}; allowed: {allowed}")
    accepted = METRIC_PARAMS[name]
    for param, value in params.items():
        if param not in accepted:
            allowed = ", ".join(sorted(accepted)) or "none"
            raise ValueError(f"metric {name!r}: unknown param {param!r}; allowed: {allowed}")
        _CHECKS[param](name, value)


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"percentile"}:
        return f"p{_fmt(value['percentile'])}"
    if _is_number(value):
        return f"{float(value):g}"
    return str(value)


def metric_label(name: str, params: dict[str, Any] | None = None) -> str:
    """Column label of a metric: ``name`` alone, or ``name@value`` for a parametrised metric.

    The defaults are filled in so that the label is the same whether or not the config
    spells them out: ``topk_iou`` -> ``topk_iou@10``, ``{"k": 5}`` -> ``topk_iou@5``,
    ``iou_coverage`` -> ``iou_coverage@mean_std``, ``{"binarize": {"percentile": 90}}`` ->
    ``iou_coverage@p90``.
    """
    params = params or {}
    check_metric(name, params)
    merged = {**METRIC_PARAMS[name], **params}
    if not merged:
        return name
    return name + "@" + ",".join(_fmt(merged[p]) for p in sorted(merged))


def as_float_maps(arr: np.ndarray, what: str, metric: str) -> np.ndarray:
    """float64 copy of [N, H, W] maps; a NaN/inf pixel is an upstream bug, not a score."""
    out = np.asarray(arr, dtype=np.float64)
    bad = ~np.isfinite(out).all(axis=(1, 2))
    if bad.any():
        raise ValueError(f"{metric}: {what} item(s) {np.flatnonzero(bad).tolist()} contain NaN/inf")
    return out


def as_bool_masks(masks: np.ndarray, metric: str) -> np.ndarray:
    """Ground-truth masks as bool; values other than 0/1 mean a wrong mask was passed."""
    m = np.asarray(masks)
    if m.dtype != np.bool_ and not np.isin(m, (0, 1)).all():
        raise ValueError(f"{metric}: masks must be bool or 0/1, got values outside {{0, 1}}")
    return m.astype(bool)
