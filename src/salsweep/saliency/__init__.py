"""Saliency methods.

``METHOD_PARAMS`` and ``check_method_params`` come from the torch-free ``params`` module, so
config validation can use them (or ``salsweep.saliency.params``) without importing torch.
The other names (``SALIENCY_METHODS``, ``SaliencyMethod``, ``auto_batch_size``,
``METHOD_INFO``) load on first access, importing every method module so that the registry
is complete: use ``from salsweep.saliency import SALIENCY_METHODS``, not ``base``.
"""

from __future__ import annotations

import importlib
from typing import Any

from salsweep.saliency.params import METHOD_PARAMS, check_method_params

_METHOD_MODULES = (
    "gradcam",
    "integrated_gradients",
    "mask_optimisation",
    "realtime_mask",
    "rise",
    "sliding_window",
    "smint",
    "smoothgrad",
    "vanilla_gradient",
)
_LAZY = ("METHOD_INFO", "SALIENCY_METHODS", "SaliencyMethod", "auto_batch_size")


def _load() -> dict[str, Any]:
    for module in _METHOD_MODULES:  # importing a method module registers it
        importlib.import_module(f"{__name__}.{module}")
    from salsweep.saliency.base import SALIENCY_METHODS, SaliencyMethod
    from salsweep.saliency.batching import auto_batch_size

    info = {
        name: {
            "signed": SALIENCY_METHODS.get(name).signed,
            "family": SALIENCY_METHODS.get(name).family,
            "needs_gradients": SALIENCY_METHODS.get(name).needs_gradients,
        }
        for name in SALIENCY_METHODS.names()
    }
    if set(info) != set(METHOD_PARAMS):  # the torch-free names must match the registry
        raise ImportError(f"saliency registry {sorted(info)} != params {sorted(METHOD_PARAMS)}")
    return {
        "METHOD_INFO": info,
        "SALIENCY_METHODS": SALIENCY_METHODS,
        "SaliencyMethod": SaliencyMethod,
        "auto_batch_size": auto_batch_size,
    }


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        globals().update(_load())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METHOD_INFO",
    "METHOD_PARAMS",
    "SALIENCY_METHODS",
    "SaliencyMethod",
    "auto_batch_size",
    "check_method_params",
]
