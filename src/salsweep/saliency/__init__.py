"""Saliency methods: every module of this package that declares ``PARAMS`` is one (or more).

``METHOD_PARAMS`` and ``check_method_params`` come from the torch-free ``params`` module, so
config validation can use them (or ``salsweep.saliency.params``) without importing torch.
The other names (``SALIENCY_METHODS``, ``SaliencyMethod``, ``auto_batch_size``,
``METHOD_INFO``) load on first access. ``SALIENCY_METHODS.get(name)`` imports only the
module that declares ``name`` (a sliding-window job never imports captum);
``SALIENCY_METHODS.names()`` and ``METHOD_INFO`` import them all.
"""

from __future__ import annotations

from typing import Any

from salsweep.registry import attribute, lazy_exports
from salsweep.saliency.params import check_method_params


def _methods() -> Any:
    from salsweep.saliency.base import SALIENCY_METHODS

    return SALIENCY_METHODS  # imports a method's module when it is first asked for


def _info() -> dict[str, dict[str, Any]]:
    methods = _methods()
    return {
        name: {
            "signed": methods.get(name).signed,
            "family": methods.get(name).family,
            "needs_gradients": methods.get(name).needs_gradients,
        }
        for name in methods.names()
    }


def _method_params() -> dict[str, dict[str, Any]]:
    from salsweep.saliency import params

    return params.METHOD_PARAMS


__getattr__ = lazy_exports(
    __name__,
    {
        "METHOD_INFO": _info,
        "METHOD_PARAMS": _method_params,
        "SALIENCY_METHODS": _methods,
        "SaliencyMethod": attribute(f"{__name__}.base", "SaliencyMethod"),
        "auto_batch_size": attribute(f"{__name__}.batching", "auto_batch_size"),
    },
)

__all__ = [
    "METHOD_INFO",
    "METHOD_PARAMS",
    "SALIENCY_METHODS",
    "SaliencyMethod",
    "auto_batch_size",
    "check_method_params",
]
