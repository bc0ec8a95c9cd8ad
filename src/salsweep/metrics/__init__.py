"""Saliency-map metrics (numpy/scipy only): focus (entropy), drift vs the clean map, and
Shared Interest vs ground-truth masks. See each module's docstring for exact definitions
and for the documented cases that give NaN. Every module of this package that declares
``PARAMS`` is a metric module; importing the package imports them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salsweep.metrics.base import CONTEXT_REQUIREMENTS, METRICS, MapMetric, MetricContext
from salsweep.metrics.params import METRIC_PARAMS, check_metric, metric_label
from salsweep.registry import import_plugins

import_plugins(__name__, METRICS)

METRIC_INFO: dict[str, dict[str, Any]] = {
    name: {
        "higher_is_better": METRICS.get(name).higher_is_better,
        "requires": tuple(METRICS.get(name).requires),
    }
    for name in METRICS.names()
}


def drift_metric_specs(metric_specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drift metrics among ``metric_specs`` that need only the two maps (the map and
    its reference): what the noise floors are scored with. ris, ros and lipschitz also
    divide by the input or output change, which is zero for a floor map of the clean
    image, so they have no floor."""
    return [
        spec for spec in metric_specs if METRIC_INFO[spec["name"]]["requires"] == ("reference",)
    ]


def score_maps(
    metric_specs: list[dict[str, Any]],
    maps: np.ndarray,
    reference: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    context: MetricContext | None = None,
) -> dict[str, np.ndarray]:
    """Score [N, H, W] maps with each spec ``{"name": ..., **params}``.

    Returns ``{metric_label(name, params): float64 [N]}`` in spec order. A metric whose
    requirement is absent (``reference`` or ``masks`` is None, or ``context`` lacks it) is
    skipped, not NaN-filled.
    All specs are validated first, so a bad spec fails before any work is done.
    """
    parsed: list[tuple[str, str, dict[str, Any]]] = []
    for spec in metric_specs:
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"metric spec must be a dict with a 'name', got {spec!r}")
        params = {k: v for k, v in spec.items() if k != "name"}
        check_metric(spec["name"], params)
        label = metric_label(spec["name"], params)
        if any(label == other for other, _, _ in parsed):
            raise ValueError(f"metric {label!r} is listed twice")
        parsed.append((label, spec["name"], params))

    context = context or MetricContext()
    available = {"reference": reference is not None, "mask": masks is not None}
    available.update({r: context.has(r) for r in CONTEXT_REQUIREMENTS})
    out: dict[str, np.ndarray] = {}
    for label, name, params in parsed:
        cls = METRICS.get(name)
        if all(available[r] for r in cls.requires):
            out[label] = cls(**params).score(maps, reference, masks, context)
    return out


__all__ = [
    "METRICS",
    "METRIC_INFO",
    "METRIC_PARAMS",
    "MapMetric",
    "MetricContext",
    "check_metric",
    "drift_metric_specs",
    "metric_label",
    "score_maps",
]
