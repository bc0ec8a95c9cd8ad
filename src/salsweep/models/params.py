"""Parameters of each model source, checked without importing torch.

Each source module declares its parameters in ``PARAMS`` (see ``salsweep.params``); this
module reads those declarations without importing the sources. Config validation runs
before any job starts, so this module must stay light: only the standard library.
:func:`resolve_model_params` fills defaults for the loaders.
"""

from __future__ import annotations

from typing import Any

from salsweep.params import Param, Plugin, check_params
from salsweep.registry import declarations

PACKAGE = "salsweep.models"
# keys a model entry may carry besides its source's parameters
COMMON_KEYS = ("source", "name")


def source_declarations() -> dict[str, Plugin]:
    """``{source: Plugin}`` of every source module, read without importing them."""
    return declarations(PACKAGE)


def __getattr__(name: str) -> Any:
    # MODEL_PARAMS: {source: {key: Param}}, from the declarations on first use.
    if name == "MODEL_PARAMS":
        return {source: dict(plugin.params) for source, plugin in source_declarations().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_model_params(model_cfg: dict) -> None:
    """Raise ValueError naming the bad key if ``model_cfg`` is not a valid model entry."""
    if not isinstance(model_cfg, dict):
        raise ValueError(f"a model entry must be a mapping, got {type(model_cfg).__name__}")
    sources = source_declarations()
    source = model_cfg.get("source")
    if source not in sources:
        allowed = ", ".join(sorted(sources))
        raise ValueError(f"model 'source' must be one of {allowed}, got {source!r}")
    check_params("model", source, model_cfg, sources[source].params, ignore=COMMON_KEYS)


def resolve_model_params(model_cfg: dict) -> dict[str, Any]:
    """The source's parameters with defaults filled in (after :func:`check_model_params`)."""
    check_model_params(model_cfg)
    specs: dict[str, Param] = source_declarations()[model_cfg["source"]].params
    return {key: model_cfg.get(key, spec.default) for key, spec in specs.items()}
