"""Model-based (faithfulness) metrics of saliency maps: ``ssr_crop`` (Dabkowski & Gal 2017),
``deletion_auc`` and ``insertion_auc`` (RISE, Petsiuk et al. 2018). Each module's
docstring gives the exact definition. Every module of this package that declares ``PARAMS``
is a metric module.

``MODEL_METRIC_PARAMS``, ``check_model_metric`` and ``model_metric_label`` come from the
torch-free ``params`` module, so config validation can use them without importing torch.
The other names (``MODEL_METRICS``, ``ModelMetric``, ``MODEL_METRIC_INFO``) load on first
access (as does ``score_model_metrics`` when called) and import every metric module, so
that the registry is complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salsweep.faithfulness.params import (
    check_model_metric,
    model_metric_label,
    resolve_model_metric,
)
from salsweep.registry import attribute, import_plugins, lazy_exports


def parse_specs(metric_specs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, name, params) per spec ``{"name": ..., **params}``; raises on a bad or
    repeated spec, so a job fails before it loads a model."""
    parsed: list[tuple[str, str, dict[str, Any]]] = []
    for spec in metric_specs:
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"model metric spec must be a dict with a 'name', got {spec!r}")
        params = {k: v for k, v in spec.items() if k != "name"}
        label = model_metric_label(spec["name"], params)
        if any(label == other for other, _, _ in parsed):
            raise ValueError(f"model metric {label!r} is listed twice")
        parsed.append((label, spec["name"], params))
    return parsed


def _metrics() -> Any:
    from salsweep.faithfulness.base import MODEL_METRICS

    import_plugins(__name__, MODEL_METRICS)
    return MODEL_METRICS


def _info() -> dict[str, dict[str, Any]]:
    metrics = _metrics()
    return {
        name: {"higher_is_better": metrics.get(name).higher_is_better} for name in metrics.names()
    }


def score_model_metrics(
    metric_specs: list[dict[str, Any]],
    classifier: Any,
    images: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """``{label: float64 [N]}`` in spec order for maps [N, H, W] of images [N, H, W, 3]
    (uint8) and their target classes [N], at most ``batch_size`` images per forward."""
    parsed = parse_specs(metric_specs)
    registry = _metrics()
    return {
        label: registry.get(name)(**params).score(classifier, images, maps, targets, batch_size)
        for label, name, params in parsed
    }


__getattr__ = lazy_exports(
    __name__,
    {
        "MODEL_METRICS": _metrics,
        "MODEL_METRIC_INFO": _info,
        "MODEL_METRIC_PARAMS": attribute(f"{__name__}.params", "MODEL_METRIC_PARAMS"),
        "ModelMetric": attribute(f"{__name__}.base", "ModelMetric"),
    },
)


__all__ = [
    "MODEL_METRICS",
    "MODEL_METRIC_INFO",
    "MODEL_METRIC_PARAMS",
    "ModelMetric",
    "check_model_metric",
    "model_metric_label",
    "parse_specs",
    "resolve_model_metric",
    "score_model_metrics",
]
