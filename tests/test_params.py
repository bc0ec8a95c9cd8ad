"""The one set of parameter checks (salsweep.params) and the torch-free declaration reader."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from salsweep.params import (
    AnyOf,
    Colour,
    Integer,
    Keyed,
    Number,
    OneOf,
    PairOf,
    Param,
    Text,
    check_params,
    is_int,
    is_number,
)
from salsweep.registry import read_declaration


@pytest.mark.parametrize("value", [True, False, np.bool_(True), math.nan, math.inf, -math.inf])
def test_is_number_rejects_bool_nan_and_inf(value):
    assert not is_number(value)


@pytest.mark.parametrize("value", [0, 3, -2.5, 10**400, np.int64(4), np.float32(0.5)])
def test_is_number_accepts_finite_reals(value):
    assert is_number(value)


def test_is_int():
    assert is_int(3) and is_int(np.int64(3))
    assert not is_int(True) and not is_int(3.0) and not is_int("3")


@pytest.mark.parametrize(
    ("check", "good", "bad", "phrase"),
    [
        (Integer(1), [1, 7], [0, 1.0, True, None], "an integer >= 1"),
        (Integer(4, 512), [4, 512], [3, 513], "an integer in [4, 512]"),
        (Integer(1, odd=True), [1, 11], [10, 0], "an odd integer >= 1"),
        (Number(0, 1, low_open=True), [1, 0.5], [0, 1.5, math.nan], "a number in (0, 1]"),
        (Number(0, 1, high_open=True), [0, 0.99], [1, -0.1], "a number in [0, 1)"),
        (Number(0, low_open=True), [1e-9, 5], [0, math.inf], "a number > 0"),
        (OneOf("blur", "noise"), ["blur"], ["fog", None], 'one of "blur", "noise"'),
        (Text(nullable=True), [None, "a.b"], ["", " ", 3], "null or a non-empty string"),
        (Colour(integers=True), [[0, 128, 255]], [[0, 0, 256], [0, 0], [0.5, 0, 0]], None),
        (
            PairOf(Integer(1)),
            [3, [2, 5]],
            [[2, 0], [1, 2, 3]],
            "an integer >= 1 or [h, w] of those",
        ),
        (Keyed("percentile", Number(0, 100)), [{"percentile": 90}], [{"pct": 90}, 90], None),
        (AnyOf(OneOf("mean"), Colour()), ["mean", [1.5, 2, 3]], ["black"], None),
    ],
)
def test_checks_accept_and_reject(check, good, bad, phrase):
    assert all(check.ok(value) for value in good)
    assert not any(check.ok(value) for value in bad)
    if phrase is not None:
        assert check.phrase == phrase


def test_check_params_names_the_plugin_and_the_parameter():
    declared = {
        "n": Param(10, "Count.", Integer(1)),
        "path": Param(None, "A path.", Text(), required=True),
    }
    check_params("widget", "w", {"n": 3, "path": "x"}, declared)
    with pytest.raises(
        ValueError, match=r"widget 'w': parameter 'n' must be an integer >= 1, got 0"
    ):
        check_params("widget", "w", {"n": 0, "path": "x"}, declared)
    with pytest.raises(ValueError, match=r"widget 'w': unknown parameter 'm'; allowed: n, path"):
        check_params("widget", "w", {"m": 1, "path": "x"}, declared)
    with pytest.raises(ValueError, match=r"widget 'w' needs parameter 'path'"):
        check_params("widget", "w", {}, declared)
    check_params("widget", "w", {"path": "x", "source": "s"}, declared, ignore=("source",))


def test_defaults_are_fresh_copies():
    from salsweep.saliency.params import method_declarations

    first = method_declarations()["rise"].defaults()
    first["fill"].append(1)
    assert method_declarations()["rise"].defaults()["fill"] == [0, 0, 0]


def test_read_declaration_runs_only_the_declaration(tmp_path):
    module = tmp_path / "plugin.py"
    module.write_text(
        textwrap.dedent(
            """
            import torch_is_not_imported_here
            from salsweep.params import Integer, Param, Plugin

            STEPS = 4
            SHARED_PARAMS = {"steps": Param(STEPS, "Steps.", Integer(1))}
            PARAMS = {"a": Plugin("A.", SHARED_PARAMS), "b": Plugin("B.")}
            HEAVY = torch_is_not_imported_here.load()

            def helper():
                raise AssertionError("not run")
            """
        )
    )
    declared = read_declaration(module, "plugin")
    assert declared is not None and set(declared) == {"a", "b"}
    assert declared["a"].defaults() == {"steps": 4}
    assert read_declaration(tmp_path / "plugin.py", "plugin") == declared


def test_read_declaration_names_a_declaration_it_cannot_read(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import numpy as np\nPARAMS = {'a': np.zeros(1)}\n")
    with pytest.raises(ImportError, match="bad: PARAMS"):
        read_declaration(module, "bad")
    (tmp_path / "none.py").write_text("X = 1\n")
    assert read_declaration(tmp_path / "none.py", "none") is None
