"""Model-metric parameters: checks, defaults and column labels (no torch).

Each model-metric module declares its metric and parameters in ``PARAMS`` (see
``salsweep.params``); this module reads those declarations without importing the metrics
(which import torch). ``MODEL_METRIC_PARAMS`` maps every model-based (faithfulness) metric
to its parameters' defaults.
"""

from __future__ import annotations

from typing import Any

from salsweep.params import Integer, Param, Plugin, check_name, check_params, is_number
from salsweep.registry import declarations

PACKAGE = "salsweep.faithfulness"

STEPS = Param(32, "Equal pixel steps of the curve.", Integer(1))


def model_metric_declarations() -> dict[str, Plugin]:
    """``{metric: Plugin}`` of every model-metric module, read without importing them."""
    return declarations(PACKAGE)


def __getattr__(name: str) -> Any:
    # MODEL_METRIC_PARAMS: {metric: {param: default}}, from the declarations on first use.
    if name == "MODEL_METRIC_PARAMS":
        return {name: plugin.defaults() for name, plugin in model_metric_declarations().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_model_metric(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the metric and parameter for an unknown name/param or bad value."""
    metrics = model_metric_declarations()
    check_name("model metric", name, metrics)
    check_params("model metric", name, params, metrics[name].params)


def resolve_model_metric(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checked params of a metric with its defaults filled in."""
    params = dict(params or {})
    check_model_metric(name, params)
    return {**model_metric_declarations()[name].defaults(), **params}


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, q),) = value.items()
        return {"percentile": "p", "fraction": "f"}[kind] + _fmt(q)
    if isinstance(value, (list, tuple)):
        return "-".join(_fmt(v) for v in value)
    if is_number(value):
        return f"{float(value):g}"
    return str(value)


def model_metric_label(name: str, params: dict[str, Any] | None = None) -> str:
    """Column label ``name@v1,v2,...``: the values of every param (defaults filled in), in
    param-name order, as ``salsweep.metrics.metric_label`` does for map metrics.

    ``ssr_crop`` -> ``ssr_crop@mean_std``; ``deletion_auc`` -> ``deletion_auc@0,32``
    (fill, steps); ``insertion_auc`` -> ``insertion_auc@11,5,32`` (blur_klen, blur_sigma,
    steps); ``{"fill": [128, 128, 128]}`` -> ``deletion_auc@128-128-128,32``.
    """
    merged = resolve_model_metric(name, params)
    return name + "@" + ",".join(_fmt(merged[p]) for p in sorted(merged))
