"""Map-metric parameters: checks, defaults and column labels (numpy only, no torch).

Each metric module declares its metrics and their parameters in ``PARAMS`` (see
``salsweep.params``); this module reads those declarations without importing the metrics.
``METRIC_PARAMS`` maps every metric to its parameters' defaults (``{}`` for none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salsweep.params import Plugin, check_name, check_params, is_number
from salsweep.registry import declarations

PACKAGE = "salsweep.metrics"


def metric_declarations() -> dict[str, Plugin]:
    """``{metric: Plugin}`` of every metric module, read without importing them."""
    return declarations(PACKAGE)


def __getattr__(name: str) -> Any:
    # METRIC_PARAMS: {metric: {param: default}}, built from the declarations on first use.
    if name == "METRIC_PARAMS":
        return {metric: plugin.defaults() for metric, plugin in metric_declarations().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_metric(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the metric and parameter for an unknown name/param or bad value."""
    metrics = metric_declarations()
    check_name("metric", name, metrics)
    check_params("metric", name, params, metrics[name].params)


def resolve_metric(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checked params of a metric with its defaults filled in."""
    params = dict(params or {})
    check_metric(name, params)
    return {**metric_declarations()[name].defaults(), **params}


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"percentile"}:
        return f"p{_fmt(value['percentile'])}"
    if is_number(value):
        return f"{float(value):g}"
    return str(value)


def metric_label(name: str, params: dict[str, Any] | None = None) -> str:
    """Column label of a metric: ``name`` alone, or ``name@value`` for a parametrised metric.

    The defaults are filled in so that the label is the same whether or not the config
    spells them out: ``topk_iou`` -> ``topk_iou@10``, ``{"k": 5}`` -> ``topk_iou@5``,
    ``iou_coverage`` -> ``iou_coverage@mean_std``, ``{"binarize": {"percentile": 90}}`` ->
    ``iou_coverage@p90``.
    """
    merged = resolve_metric(name, params)
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
