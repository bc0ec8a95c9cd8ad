"""Saliency-method parameters: checks and defaults, torch-free so config validation can use them.

Each method module declares its parameters in ``PARAMS`` (see ``salsweep.params``); this
module reads those declarations without importing the methods. The method classes resolve
their parameters through :func:`resolve_params`. ``seed`` and ``batch_size`` are constructor
arguments common to every method (``COMMON_PARAMS``) and may also appear in a method's
params. The ``Param`` building blocks below are shared by several methods.
"""

from __future__ import annotations

import copy
from typing import Any

from salsweep.params import (
    AnyOf,
    Colour,
    Integer,
    Number,
    OneOf,
    PairOf,
    Param,
    Plugin,
    Text,
    check_name,
    check_params,
)
from salsweep.registry import declarations

BLACK = [0, 0, 0]

PRECISION = Param(
    "fp32",
    "dtype of the forwards - fp32, or bf16 / fp16 under torch.autocast (for GPUs; scores are "
    "accumulated in float32/64 either way; BENCHMARKS.md has its effect on the maps).",
    OneOf("fp32", "bf16", "fp16"),
)
FILL = AnyOf(
    OneOf("mean"),
    Colour(integers=True),
    phrase='"mean" or a colour [r, g, b] of integers in 0..255',
)
EXTENT = PairOf(
    AnyOf(
        Integer(1),
        Number(0, 1, low_open=True),
        phrase="an integer >= 1 (pixels), a float in (0, 1] (fraction of the side)",
    )
)
BASELINE = AnyOf(
    OneOf("black", "mean"),
    Colour(),
    phrase='"black", "mean" or a colour [r, g, b] of numbers in 0..255',
)
STDEV = Param(
    0.15,
    "Noise standard deviation as a fraction of the 0..255 input range.",
    Number(0, low_open=True, unit="(fraction of the 0..255 range)"),
)
LAYER = Text(nullable=True, what="a dotted module path (non-empty string)")
ALTERNATIVE = OneOf("blur", "noise")
BLUR_SIGMA = Param(
    0.1,
    "Sigma of the blur alternative as a fraction of the longer image side, in (0, 1].",
    Number(0, 1, low_open=True, unit="(fraction of the longer image side)"),
)
WEIGHT = Number(0)
POSITIVE = Number(0, low_open=True)
# The masking objective of Dabkowski & Gal (salsweep.masker.objective), lambda1..lambda4.
OBJECTIVE_PARAMS = {
    "tv_weight": Param(1.0, "Weight of the total variation of the mask grid (lambda1).", WEIGHT),
    "area_weight": Param(3.0, "Weight of the mask's mean, the kept area (lambda2).", WEIGHT),
    "destroy_weight": Param(
        3.0, "Weight of the class probability once the kept region is removed (lambda3).", WEIGHT
    ),
    "destroy_power": Param(0.3, "Power of that probability (lambda4).", POSITIVE),
}

COMMON_PARAMS: dict[str, Param] = {
    "seed": Param(0, "The method's seed.", Integer(0)),
    "batch_size": Param(
        64,
        "Forward passes per batch.",
        AnyOf(Integer(1), OneOf("auto"), phrase='an integer >= 1 or "auto"'),
    ),
}

PACKAGE = "salsweep.saliency"


def method_declarations() -> dict[str, Plugin]:
    """``{method: Plugin}`` of every method module, read without importing them."""
    return declarations(PACKAGE)


def __getattr__(name: str) -> Any:
    # METHOD_PARAMS: {method: {param: default}}, built from the declarations on first use.
    if name == "METHOD_PARAMS":
        return {method: plugin.defaults() for method, plugin in method_declarations().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_method_params(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the method and parameter for an unknown or bad parameter."""
    methods = method_declarations()
    check_name("saliency method", name, methods)
    check_params("saliency method", name, params, methods[name].params, also=COMMON_PARAMS)


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Checked method parameters merged over the defaults (without seed / batch_size)."""
    check_method_params(name, params)
    resolved = copy.deepcopy(method_declarations()[name].defaults())
    resolved.update({k: v for k, v in params.items() if k not in COMMON_PARAMS})
    return resolved
