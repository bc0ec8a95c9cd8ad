"""Saliency-method names, parameters and defaults; torch-free so config validation can use it.

``METHOD_PARAMS`` is the one source of truth for defaults: the method classes resolve their
parameters through ``resolve_params``. ``seed`` and ``batch_size`` are constructor arguments
common to every method (``COMMON_PARAMS``) and may also appear in a method's params.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

BLACK = [0, 0, 0]

METHOD_PARAMS: dict[str, dict[str, Any]] = {
    # Occlusion as xaitk-saliency's SlidingWindowStack; ints are pixels, floats in (0, 1]
    # are fractions of the image side, a pair is [h, w].
    # precision: the forwards' dtype; "bf16" / "fp16" run them under torch.autocast.
    "sliding_window": {"window": 0.25, "stride": 0.125, "fill": BLACK, "precision": "fp32"},
    "vanilla_gradient": {"abs": False},
    # RISE as xaitk-saliency's RISEStack (debiased=False / True).
    "rise": {"n": 1000, "s": 8, "p1": 0.5, "fill": BLACK, "precision": "fp32"},
    "rise_debiased": {"n": 1000, "s": 8, "p1": 0.5, "fill": BLACK, "precision": "fp32"},
    # stdev is a fraction of the 0..255 input range.
    "smoothgrad": {"nt_samples": 25, "stdev": 0.15, "abs": False},
    "integrated_gradients": {"n_steps": 50, "baseline": "black"},
    # SmoothGrad over Integrated Gradients; counts as FastEstimator's Saliency trace
    # (integrating=(100, 6)): 6 noisy samples, 100 integration steps each.
    "smint": {"nt_samples": 6, "n_steps": 100, "stdev": 0.15, "baseline": "black"},
    # layer: dotted module path inside the classifier; None = classifier.gradcam_layer().
    "gradcam": {"layer": None},
    # Dabkowski & Gal's masking objective (salsweep.masker.objective): tv_weight λ1,
    # area_weight λ2, destroy_weight λ3, destroy_power λ4; alternative "blur" (sigma
    # blur_sigma x the longer side) or "noise". mask_size: mask grid side (capped at the image).
    "mask_optimisation": {
        "mask_size": 28,
        "steps": 300,
        "lr": 0.1,
        "alternative": "blur",
        "blur_sigma": 0.1,
        "tv_weight": 1.0,
        "area_weight": 3.0,
        "destroy_weight": 3.0,
        "destroy_power": 0.3,
    },
    # The learned masking model, trained per (dataset, model) by the rule train_masker on
    # frozen classifier features (layer: dotted path, None = classifier.gradcam_layer()).
    # masker_path is set by the pipeline (the trained masker); leave it unset.
    "realtime_mask": {
        "masker_path": None,
        "layer": None,
        "alternative": "blur",
        "blur_sigma": 0.1,
        "tv_weight": 1.0,
        "area_weight": 3.0,
        "destroy_weight": 3.0,
        "destroy_power": 0.3,
        "fake_fraction": 0.3,
        "width": 32,
        "train_steps": 300,
        "train_batch_size": 32,
        "train_lr": 0.003,
        "train_images": 2000,
        "train_split": "auto",
    },
}

COMMON_PARAMS: dict[str, Any] = {"seed": 0, "batch_size": 64}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _int_at_least(low: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not _is_int(value) or value < low:
            return f"an integer >= {low}"
        return None

    return check


def _extent_ok(value: Any) -> bool:
    if _is_int(value):
        return value >= 1
    return isinstance(value, float) and 0.0 < value <= 1.0


def _check_extent(value: Any) -> str | None:
    items = value if isinstance(value, (list, tuple)) and len(value) == 2 else [value]
    if all(_extent_ok(item) for item in items):
        return None
    return "an integer >= 1 (pixels), a float in (0, 1] (fraction of the side) or [h, w]"


def _check_colour(value: Any, integers: bool) -> bool:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return False
    kind = _is_int if integers else _is_number
    return all(kind(c) and 0 <= c <= 255 for c in value)


def _check_fill(value: Any) -> str | None:
    if value == "mean" or _check_colour(value, integers=True):
        return None
    return '"mean" or a colour [r, g, b] of integers in 0..255'


def _check_baseline(value: Any) -> str | None:
    if value in ("black", "mean") or _check_colour(value, integers=False):
        return None
    return '"black", "mean" or a colour [r, g, b] of numbers in 0..255'


def _check_p1(value: Any) -> str | None:
    if not _is_number(value) or not 0.0 < value < 1.0:
        return "a number in the open interval (0, 1)"
    return None


def _check_stdev(value: Any) -> str | None:
    if not _is_number(value) or value <= 0:
        return "a number > 0 (fraction of the 0..255 range)"
    return None


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _check_layer(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return None
    return "null or a dotted module path (non-empty string)"


def _check_seed(value: Any) -> str | None:
    return None if _is_int(value) and value >= 0 else "an integer >= 0"


def _check_batch_size(value: Any) -> str | None:
    if value == "auto" or (_is_int(value) and value >= 1):
        return None
    return 'an integer >= 1 or "auto"'


def _check_positive(value: Any) -> str | None:
    return None if _is_number(value) and value > 0 else "a number > 0"


def _check_weight(value: Any) -> str | None:
    return None if _is_number(value) and value >= 0 else "a number >= 0"


def _check_alternative(value: Any) -> str | None:
    return None if value in ("blur", "noise") else '"blur" or "noise"'


def _check_blur_sigma(value: Any) -> str | None:
    if _is_number(value) and 0 < value <= 1:
        return None
    return "a number in (0, 1] (fraction of the longer image side)"


def _check_fake_fraction(value: Any) -> str | None:
    return None if _is_number(value) and 0 <= value < 1 else "a number in [0, 1)"


def _check_width(value: Any) -> str | None:
    return None if _is_int(value) and 4 <= value <= 512 else "an integer in [4, 512]"


PRECISIONS = ("fp32", "bf16", "fp16")


def _check_precision(value: Any) -> str | None:
    return None if value in PRECISIONS else f"one of {', '.join(PRECISIONS)}"


def _check_train_split(value: Any) -> str | None:
    return None if value in ("auto", "train", "eval") else '"auto", "train" or "eval"'


def _check_masker_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return None
    return "null or a file path (set by the pipeline)"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "window": _check_extent,
    "stride": _check_extent,
    "fill": _check_fill,
    "abs": _check_bool,
    "n": _int_at_least(1),
    "s": _int_at_least(1),
    "p1": _check_p1,
    "nt_samples": _int_at_least(1),
    "stdev": _check_stdev,
    "n_steps": _int_at_least(1),
    "baseline": _check_baseline,
    "layer": _check_layer,
    "seed": _check_seed,
    "batch_size": _check_batch_size,
    "mask_size": _int_at_least(1),
    "steps": _int_at_least(1),
    "lr": _check_positive,
    "alternative": _check_alternative,
    "blur_sigma": _check_blur_sigma,
    "tv_weight": _check_weight,
    "area_weight": _check_weight,
    "destroy_weight": _check_weight,
    "destroy_power": _check_positive,
    "fake_fraction": _check_fake_fraction,
    "width": _check_width,
    "train_steps": _int_at_least(1),
    "train_batch_size": _int_at_least(1),
    "train_lr": _check_positive,
    "train_images": _int_at_least(1),
    "train_split": _check_train_split,
    "masker_path": _check_masker_path,
    "precision": _check_precision,
}


def check_method_params(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the method and parameter for an unknown or bad parameter."""
    if name not in METHOD_PARAMS:
        allowed = ", ".join(sorted(METHOD_PARAMS))
        raise ValueError(f"unknown saliency method {name!r}; allowed: {allowed}")
    allowed_params = {**METHOD_PARAMS[name], **COMMON_PARAMS}
    for param, value in params.items():
        if param not in allowed_params:
            raise ValueError(
                f"saliency method {name!r}: unknown parameter {param!r}; "
                f"allowed: {', '.join(sorted(allowed_params))}"
            )
        problem = _CHECKS[param](value)
        if problem is not None:
            raise ValueError(
                f"saliency method {name!r}: parameter {param!r} must be {problem}, got {value!r}"
            )


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Checked method parameters merged over the defaults (without seed / batch_size)."""
    check_method_params(name, params)
    resolved = copy.deepcopy(METHOD_PARAMS[name])
    resolved.update({k: v for k, v in params.items() if k not in COMMON_PARAMS})
    return resolved
