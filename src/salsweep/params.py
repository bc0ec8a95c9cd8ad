"""How every plugin declares its config parameters, and the one set of checks on them.

A plugin module (a saliency method, map metric, model metric, model source, ...) states its
parameters once, next to its code, as a module-level ``PARAMS`` mapping from the registered
name to a :class:`Plugin`::

    PARAMS = {"rise": Plugin("RISE random masks.", {"n": Param(1000, "Masks.", Integer(1))})}

Each :class:`Param` has a default, a description and a check (type, range or choices). The
config checks, the defaults the classes resolve, the schema's per-plugin blocks and the
README's reference all come from these declarations. ``salsweep.registry`` reads them
without importing the module (config validation must not import torch), so a ``PARAMS``
expression may use only literals, names imported from ``salsweep.params`` or a
``salsweep.*.params`` module, and ALL_CAPS module constants built the same way above it.
Standard library only.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def is_int(value: Any) -> bool:
    """An integer (Python or numpy), not a bool: ``steps: true`` is a mistake, not 1."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def is_number(value: Any) -> bool:
    """A finite real number (Python or numpy), not a bool, NaN or inf."""
    if not isinstance(value, numbers.Real) or _is_bool(value):
        return False
    return isinstance(value, numbers.Integral) or math.isfinite(float(value))


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's, without numpy


def _num(value: float) -> str:
    return f"{value:g}"


class Check:
    """A rule for one parameter value: ``ok`` tests it, ``phrase`` words it for errors
    ("must be <phrase>") and ``schema`` is its JSON-schema form for the config schema."""

    phrase: str

    def ok(self, value: Any) -> bool:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Integer(Check):
    """An integer in [low, high] (either bound optional), odd if ``odd``."""

    low: int | None = None
    high: int | None = None
    odd: bool = False

    def ok(self, value: Any) -> bool:
        return (
            is_int(value)
            and (self.low is None or value >= self.low)
            and (self.high is None or value <= self.high)
            and (not self.odd or value % 2 == 1)
        )

    @property
    def phrase(self) -> str:
        kind = "an odd integer" if self.odd else "an integer"
        if self.low is not None and self.high is not None:
            return f"{kind} in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"{kind} >= {self.low}"
        return kind if self.high is None else f"{kind} <= {self.high}"

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.low is not None:
            out["minimum"] = self.low
        if self.high is not None:
            out["maximum"] = self.high
        return out


@dataclass(frozen=True)
class Number(Check):
    """A finite number between ``low`` and ``high`` (each optional; open if ``*_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""  # said after the range, e.g. "(fraction of the 0..255 range)"

    def ok(self, value: Any) -> bool:
        if not is_number(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    @property
    def phrase(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"a number in {left}{_num(self.low)}, {_num(self.high)}{right}"
        elif self.low is not None:
            text = f"a number {'>' if self.low_open else '>='} {_num(self.low)}"
        elif self.high is not None:
            text = f"a number {'<' if self.high_open else '<='} {_num(self.high)}"
        else:
            text = "a number"
        return f"{text} {self.unit}" if self.unit else text

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number"}
        if self.low is not None:
            out["exclusiveMinimum" if self.low_open else "minimum"] = self.low
        if self.high is not None:
            out["exclusiveMaximum" if self.high_open else "maximum"] = self.high
        return out


@dataclass(frozen=True)
class Boolean(Check):
    phrase: str = "true or false"

    def ok(self, value: Any) -> bool:
        return isinstance(value, bool)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class OneOf(Check):
    """One of a few literal values."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", choices)

    def ok(self, value: Any) -> bool:
        return any(value == c and type(value) is type(c) for c in self.choices)

    @property
    def phrase(self) -> str:
        words = [f'"{c}"' if isinstance(c, str) else repr(c) for c in self.choices]
        return words[0] if len(words) == 1 else f"one of {', '.join(words)}"

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


@dataclass(frozen=True)
class Text(Check):
    """A non-blank string (any string if ``blank_ok``), or null where ``nullable``; ``what``
    names it in errors."""

    nullable: bool = False
    what: str = "a non-empty string"
    blank_ok: bool = False

    def ok(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        return isinstance(value, str) and (self.blank_ok or bool(value.strip()))

    @property
    def phrase(self) -> str:
        return f"null or {self.what}" if self.nullable else self.what

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"] if self.nullable else "string"}


@dataclass(frozen=True)
class Colour(Check):
    """[r, g, b] with each channel in 0..255, integers only if ``integers``."""

    integers: bool = False

    def ok(self, value: Any) -> bool:
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            return False
        channel = Integer(0, 255) if self.integers else Number(0, 255)
        return all(channel.ok(c) for c in value)

    @property
    def phrase(self) -> str:
        kind = "integers" if self.integers else "numbers"
        return f"a colour [r, g, b] of {kind} in 0..255"


@dataclass(frozen=True)
class PairOf(Check):
    """One value, or a pair [h, w] of values, each passing ``item``."""

    item: Check

    def ok(self, value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return len(value) == 2 and all(self.item.ok(v) for v in value)
        return self.item.ok(value)

    @property
    def phrase(self) -> str:
        return f"{self.item.phrase} or [h, w] of those"


@dataclass(frozen=True)
class Keyed(Check):
    """A one-key mapping ``{key: value}`` whose value passes ``item``."""

    key: str
    item: Check

    def ok(self, value: Any) -> bool:
        return (
            isinstance(value, Mapping)
            and set(value) == {self.key}
            and self.item.ok(value[self.key])
        )

    @property
    def phrase(self) -> str:
        return f"{{{self.key!r}: q}} with q {self.item.phrase}"


@dataclass(frozen=True)
class Strings(Check):
    """A non-empty list of strings, all different if ``unique``."""

    unique: bool = False

    def ok(self, value: Any) -> bool:
        return (
            isinstance(value, list)
            and bool(value)
            and all(isinstance(item, str) for item in value)
            and (not self.unique or len(set(value)) == len(value))
        )

    @property
    def phrase(self) -> str:
        return "a list of unique strings" if self.unique else "a list of strings"

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True)
class NumbersWith(Check):
    """A list of numbers and the string ``placeholder``, holding it at least once (or None
    if ``nullable``): a value template that code fills in."""

    placeholder: str
    nullable: bool = False

    def ok(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        return (
            isinstance(value, list)
            and self.placeholder in value
            and all(item == self.placeholder or is_number(item) for item in value)
        )

    @property
    def phrase(self) -> str:
        null = "null or " if self.nullable else ""
        return f'{null}a list of numbers and "{self.placeholder}" (at least once)'

    def schema(self) -> dict[str, Any]:
        return {"type": ["array", "null"] if self.nullable else "array"}


@dataclass(frozen=True)
class Mapped(Check):
    """A mapping with string keys, each value passing ``values`` (any value if None)."""

    values: Check | None = None
    phrase: str = "a mapping of names to values"

    def ok(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            isinstance(key, str) and (self.values is None or self.values.ok(item))
            for key, item in value.items()
        )

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass(frozen=True)
class AnyOf(Check):
    """Any of several checks; ``phrase`` overrides the joined wording where that reads better."""

    options: tuple[Check, ...]
    wording: str | None = None

    def __init__(self, *options: Check, phrase: str | None = None) -> None:
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "wording", phrase)

    def ok(self, value: Any) -> bool:
        return any(option.ok(value) for option in self.options)

    @property
    def phrase(self) -> str:
        if self.wording is not None:
            return self.wording
        words = [option.phrase for option in self.options]
        return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]

    def schema(self) -> dict[str, Any]:
        # Only the plain types go into the schema; the checks below word the rest.
        parts = [option.schema() for option in self.options]
        if all(part.get("type") in ("integer", "number") for part in parts):
            return {"type": "number"}
        return {}


@dataclass(frozen=True)
class Param:
    """One declared parameter: its default, what it means and the rule for its value."""

    default: Any
    description: str
    check: Check
    required: bool = False  # no default; the config must set it

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description, **self.check.schema()}
        if not self.required:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Plugin:
    """One registered plugin: what it does (one or two sentences) and its parameters."""

    description: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """The defaults of the optional parameters (a fresh copy, safe to change)."""
        return copy.deepcopy(
            {key: param.default for key, param in self.params.items() if not param.required}
        )


def check_params(
    concept: str,
    name: str,
    params: Mapping[str, Any],
    declared: Mapping[str, Param],
    *,
    also: Mapping[str, Param] | None = None,
    ignore: tuple[str, ...] = (),
) -> None:
    """Raise ValueError naming ``concept name`` and the parameter for an unknown parameter, a
    bad value or a missing required one. ``also`` are parameters every plugin of the kind
    takes (e.g. a method's seed); ``ignore`` are keys another layer handles."""
    accepted = {**declared, **(also or {})}
    for key, value in params.items():
        if key in ignore:
            continue
        if key not in accepted:
            allowed = ", ".join(sorted(accepted)) or "none"
            raise ValueError(f"{concept} {name!r}: unknown parameter {key!r}; allowed: {allowed}")
        check = accepted[key].check
        if not check.ok(value):
            raise ValueError(
                f"{concept} {name!r}: parameter {key!r} must be {check.phrase}, got {value!r}"
            )
    for key, param in accepted.items():
        if param.required and key not in params:
            raise ValueError(f"{concept} {name!r} needs parameter {key!r} ({param.check.phrase})")


def check_name(concept: str, name: Any, declared: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or name not in declared:
        allowed = ", ".join(sorted(declared))
        raise ValueError(f"unknown {concept} {name!r}; allowed: {allowed}")
