"""Level sweeps: expand a config's level spec into the list of levels, and validate a kind.

Also holds the level/param checks shared by the kinds, so every kind words its errors the
same way ("<kind>: <level_name>=<value> ...").
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from salsweep.perturbations.base import PERTURBATIONS, Perturbation

LINSPACE_KEYS = ("linspace", "odd", "integer")
# Said in every error about the form of a level spec.
LEVEL_FORMS = (
    'a non-empty list of numbers (e.g. [3, 5]) or {"linspace": [start, stop, num], '
    '"odd": false, "integer": false}'
)


# --- checks shared by the kinds -------------------------------------------------------------


def _as_number(kind: str, name: str, value: Any) -> float:
    # bool is an int subclass; a level of True is a config mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{kind}: {name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{kind}: {name} must be finite, got {value!r}")
    return number


def check_real(
    kind: str, name: str, value: Any, *, low: float | None = None, high: float | None = None
) -> float:
    """Return ``value`` as float, or raise ValueError naming the kind, parameter and range."""
    number = _as_number(kind, name, value)
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{kind}: {name}={value!r} is out of range; allowed [{lo}, {hi}]")
    return number


def check_int(
    kind: str,
    name: str,
    value: Any,
    *,
    low: int,
    high: int | None = None,
    odd: bool = False,
    odd_reason: str = "",
) -> int:
    """Return ``value`` as int (5.0 is fine, 5.5 is not), or raise ValueError with the rule."""
    number = _as_number(kind, name, value)
    if not number.is_integer():
        raise ValueError(
            f"{kind}: {name}={value!r} must be an integer; in a linspace level spec set "
            '"integer": true (or "odd": true)'
        )
    integer = int(number)
    if integer < low or (high is not None and integer > high):
        allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{kind}: {name}={value!r} is out of range; allowed {allowed}")
    if odd and integer % 2 == 0:
        reason = f" ({odd_reason})" if odd_reason else ""
        raise ValueError(
            f"{kind}: {name}={value!r} is even; the kernel must be odd (1, 3, 5, ...){reason}"
        )
    return integer


# --- level sweeps --------------------------------------------------------------------------


def _kind_class(kind: str) -> type[Perturbation]:
    if not isinstance(kind, str) or kind not in PERTURBATIONS:
        allowed = ", ".join(PERTURBATIONS.names())
        raise ValueError(f"unknown perturbation kind {kind!r}; allowed kinds: {allowed}")
    return PERTURBATIONS.get(kind)


def _linspace(kind: str, spec: Mapping[str, Any]) -> list[float]:
    unknown = sorted(set(spec) - set(LINSPACE_KEYS))
    if unknown:
        raise ValueError(
            f"{kind}: unknown level spec key(s) {unknown}; allowed: {', '.join(LINSPACE_KEYS)}"
        )
    if "linspace" not in spec:
        raise ValueError(f'{kind}: a level spec dict needs "linspace": [start, stop, num]')
    triple = spec["linspace"]
    if not isinstance(triple, Sequence) or isinstance(triple, str) or len(triple) != 3:
        raise ValueError(f"{kind}: linspace must be [start, stop, num], got {triple!r}")
    start = _as_number(kind, "linspace start", triple[0])
    stop = _as_number(kind, "linspace stop", triple[1])
    num = check_int(kind, "linspace num", triple[2], low=1)
    odd = spec.get("odd", False)
    integer = spec.get("integer", False)
    for key, flag in (("odd", odd), ("integer", integer)):
        if not isinstance(flag, bool):
            raise ValueError(f"{kind}: {key} must be true or false, got {flag!r}")

    values = np.linspace(start, stop, num, endpoint=True)
    if not (odd or integer):
        # 12 significant digits: linspace's float noise (0.15000000000000002) would
        # otherwise end up in file paths and figure labels.
        return [float(f"{v:.12g}") for v in values]
    # As NRTK's image-classification saliency notebook builds its Gaussian blur kernel sizes:
    # floor, cast to int, then an even k becomes k + 1.
    ints = [int(v) for v in np.floor(values).astype(int)]
    if odd:
        ints = [k if k % 2 == 1 else k + 1 for k in ints]
    return [float(k) for k in ints]


def level_values(kind: str, spec: Any) -> list[float]:
    """The numbers of a level spec, before the kind's checks; ValueError if its form is wrong."""
    if isinstance(spec, Mapping):
        raw = _linspace(kind, spec)
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        raw = [_as_number(kind, f"level #{i}", v) for i, v in enumerate(spec)]
    else:
        raise ValueError(
            f"{kind}: levels must be a list or a linspace mapping, got {spec!r}; "
            f"allowed forms: {LEVEL_FORMS}"
        )
    if not raw:
        raise ValueError(f"{kind}: the level list is empty")
    return raw


def expand_levels(kind: str, spec: Any) -> list[float]:
    """The levels of one perturbation kind, in the order given.

    ``spec`` is either an explicit list of numbers, or
    ``{"linspace": [start, stop, num], "odd": false, "integer": false}``:

    - plain: ``np.linspace(start, stop, num)`` (endpoint included);
    - ``"integer": true``: each value is floored and cast to int;
    - ``"odd": true`` (implies integer): floored and cast to int, then an even ``k`` becomes
      ``k + 1``. This is exactly what NRTK's image-classification saliency notebook does to
      its Gaussian blur sweep (``np.floor(np.linspace(1, 20, 5)).astype(int)``, then
      ``p if p % 2 == 1 else p + 1``), so ``linspace(1, 20, 5)`` gives ``[1, 5, 11, 15, 21]``.

    Every level goes through the kind's ``check_level`` (ValueError naming the kind and the
    level). Kinds whose level is an integer (ksize, quality) get ``int`` levels; the others
    get ``float``. Repeated levels (e.g. after the odd fix) are an error, since each level is
    one set of output files.
    """
    cls = _kind_class(kind)
    raw = level_values(kind, spec)
    integer_kind = getattr(cls, "integer_level", False)
    levels: list[float] = []
    for value in raw:
        cls.check_level(value)
        levels.append(int(value) if integer_kind else float(value))
    repeated = sorted({v for v in levels if levels.count(v) > 1})
    if repeated:
        raise ValueError(f"{kind}: levels repeat after expansion: {repeated} (from {levels})")
    return levels


def validate_perturbation(
    kind: str, levels_spec: Any, params: Mapping[str, Any] | None = None
) -> list[float]:
    """Check one perturbation entry of a config; return its expanded levels.

    Raises ValueError for an unknown kind (the message lists the allowed kinds), a bad or
    unknown param, or a bad level. Every level is also instantiated once, which catches
    checks that need both the level and the params (e.g. the ``nrtk`` kind).
    """
    cls = _kind_class(kind)
    params = dict(params or {})
    if not all(isinstance(key, str) for key in params):
        raise ValueError(f"{kind}: param names must be strings, got {sorted(map(repr, params))}")
    cls.check_params(**params)
    levels = expand_levels(kind, levels_spec)
    for level in levels:
        cls(level, **params)
    return levels


def identity_level_of(kind: str, params: Mapping[str, Any] | None = None) -> float | None:
    """The level that leaves images unchanged (None where the kind has none, e.g. ``nrtk``
    without an ``identity_level`` param)."""
    cls = _kind_class(kind)
    # A kind whose identity depends on its params (``nrtk``) says so through this hook.
    hook = getattr(cls, "identity_level_for", None)
    if hook is not None:
        return hook(params or {})
    return cls.identity_level
