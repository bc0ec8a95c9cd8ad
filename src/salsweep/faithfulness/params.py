"""Model-metric parameters: defaults, validation and column labels (no torch).

``MODEL_METRIC_PARAMS`` lists every model-based (faithfulness) metric with the parameters
it accepts and their defaults. Allowed values:

- ``ssr_crop``: ``threshold`` picks the salient pixels of a map after min-max
  normalisation to [0, 1]: ``"mean_std"`` (default: pixels >= mean + 1 std, the rule of
  the Shared Interest metrics), ``{"percentile": q}`` with q in (0, 100) (pixels >= the
  q-th percentile) or ``{"fraction": f}`` with f in (0, 1] (pixels >= f, i.e. at least
  f of the way from the map's minimum to its maximum).
- ``deletion_auc``: ``steps``, an integer >= 1 (default 32), the number of equal pixel
  steps of the curve; ``fill``, the colour deleted pixels take: a number in 0..255 (grey
  level, default 0 = black), a colour [r, g, b] of numbers in 0..255, or ``"mean"`` (the
  image's mean colour).
- ``insertion_auc``: ``steps`` as above; ``blur_klen``, an odd integer >= 1 (default 11),
  and ``blur_sigma``, a number > 0 (default 5), the Gaussian kernel of the blurred image
  the insertion starts from (RISE's ``gkern(11, 5)``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MODEL_METRIC_PARAMS: dict[str, dict[str, Any]] = {
    "ssr_crop": {"threshold": "mean_std"},
    "deletion_auc": {"steps": 32, "fill": 0},
    "insertion_auc": {"steps": 32, "blur_klen": 11, "blur_sigma": 5},
}


def _is_number(value: Any) -> bool:
    # bool is an int subclass; "steps: true" in a config is a mistake, not 1.
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _bad(name: str, param: str, allowed: str, value: Any) -> ValueError:
    return ValueError(f"metric {name!r}: param {param!r} must be {allowed}, got {value!r}")


def _check_threshold(name: str, value: Any) -> None:
    if value == "mean_std":
        return
    if isinstance(value, dict) and len(value) == 1:
        ((kind, q),) = value.items()
        if kind == "percentile" and _is_number(q) and math.isfinite(q) and 0 < q < 100:
            return
        if kind == "fraction" and _is_number(q) and math.isfinite(q) and 0 < q <= 1:
            return
    raise _bad(
        name,
        "threshold",
        "'mean_std', {'percentile': q} with q in (0, 100) or {'fraction': f} with f in (0, 1]",
        value,
    )


def _check_steps(name: str, value: Any) -> None:
    if not (_is_int(value) and value >= 1):
        raise _bad(name, "steps", "an integer >= 1", value)


def _colour_ok(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and 0 <= value <= 255


def _check_fill(name: str, value: Any) -> None:
    if value == "mean" or _colour_ok(value):
        return
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(map(_colour_ok, value)):
        return
    raise _bad(name, "fill", "a number in 0..255, [r, g, b] with each in 0..255, or 'mean'", value)


def _check_klen(name: str, value: Any) -> None:
    if not (_is_int(value) and value >= 1 and value % 2 == 1):
        raise _bad(name, "blur_klen", "an odd integer >= 1", value)


def _check_sigma(name: str, value: Any) -> None:
    if not (_is_number(value) and math.isfinite(value) and value > 0):
        raise _bad(name, "blur_sigma", "a number > 0", value)


_CHECKS = {
    "threshold": _check_threshold,
    "steps": _check_steps,
    "fill": _check_fill,
    "blur_klen": _check_klen,
    "blur_sigma": _check_sigma,
}


def check_model_metric(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the metric and parameter for an unknown name/param or bad value."""
    if name not in MODEL_METRIC_PARAMS:
        allowed = ", ".join(sorted(MODEL_METRIC_PARAMS))
        raise ValueError(f"unknown model metric {name!r}; allowed: {allowed}")
    accepted = MODEL_METRIC_PARAMS[name]
    for param, value in params.items():
        if param not in accepted:
            raise ValueError(
                f"metric {name!r}: unknown param {param!r}; allowed: {', '.join(sorted(accepted))}"
            )
        _CHECKS[param](name, value)


def resolve_model_metric(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checked params of a metric with its defaults filled in."""
    params = dict(params or {})
    check_model_metric(name, params)
    return {**MODEL_METRIC_PARAMS[name], **params}


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, q),) = value.items()
        return {"percentile": "p", "fraction": "f"}[kind] + _fmt(q)
    if isinstance(value, (list, tuple)):
        return "-".join(_fmt(v) for v in value)
    if _is_number(value):
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
