"""Perturbation kinds: invariants, determinism, NRTK equivalence, level sweeps, validation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from salsweep.condition import format_level  # noqa: E402
from salsweep.perturbations import (  # noqa: E402
    PERTURBATIONS,
    expand_levels,
    validate_perturbation,
)
from salsweep.perturbations.sweep import identity_level_of  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"

# kind -> (a non-identity level, params)
NON_IDENTITY = {
    "average_blur": (5, {}),
    "gaussian_blur": (5, {}),
    "median_blur": (5, {}),
    "salt": (0.1, {}),
    "pepper": (0.1, {}),
    "salt_and_pepper": (0.1, {"salt_vs_pepper": 0.3}),
    "gaussian_noise": (0.01, {"mean": 0.0}),
    "brightness": (1.5, {}),
    "contrast": (0.5, {}),
    "jpeg_quality": (30, {}),
    "rotation": (15, {}),
    "translation": (0.25, {"direction": "down"}),
    "scale": (1.5, {}),
}
BUILTIN = sorted(NON_IDENTITY)


def make(kind: str, level: float, **params):
    return PERTURBATIONS.get(kind)(level, **params)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(1234).integers(0, 256, (40, 56, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def mid_image() -> np.ndarray:
    """Values in [1, 254], so salt and pepper change every element they hit."""
    return np.random.default_rng(99).integers(1, 255, (64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def smooth_image() -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    channels = [xx * 3, yy * 3, (xx + yy) * 2 % 256]
    return np.stack(channels, axis=-1).astype(np.uint8)


def test_registry_has_every_kind():
    # nrtk and imagenet_c need a param naming what they apply; tests of their own cover them
    # (test_imagenet_c.py: identity, rng and every corruption against its reference).
    assert set(PERTURBATIONS.names()) == set(BUILTIN) | {"nrtk", "imagenet_c"}


@pytest.mark.parametrize("kind", BUILTIN)
def test_shape_dtype_kept_and_input_untouched(kind, image):
    level, params = NON_IDENTITY[kind]
    before = image.copy()
    out = make(kind, level, **params).perturb(image, np.random.default_rng(0))
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(image, before)
    assert not np.array_equal(out, image), f"{kind} at {level} changed nothing"


@pytest.mark.parametrize("kind", [k for k in BUILTIN if k != "jpeg_quality"])
def test_identity_level_is_exact(kind, image):
    cls = PERTURBATIONS.get(kind)
    out = cls(cls.identity_level).perturb(image, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image)


def test_jpeg_identity_is_only_approximate(smooth_image, image):
    cls = PERTURBATIONS.get("jpeg_quality")
    assert cls.identity_level == 100
    out = cls(100, chroma_subsampling="4:4:4").perturb(image)
    assert np.abs(out.astype(int) - image).max() <= 8  # close, but not exact
    errors = [
        np.mean((cls(q).perturb(smooth_image).astype(float) - smooth_image) ** 2)
        for q in (5, 30, 90)
    ]
    assert errors[0] > errors[1] > errors[2]


def test_jpeg_quality_is_deterministic_and_subsampling_matters(image):
    a = make("jpeg_quality", 90).perturb(image)
    np.testing.assert_array_equal(a, make("jpeg_quality", 90).perturb(image))
    b = make("jpeg_quality", 90, chroma_subsampling="4:4:4").perturb(image)
    assert np.abs(b.astype(int) - image).mean() < np.abs(a.astype(int) - image).mean()


@pytest.mark.parametrize("kind", [k for k in BUILTIN if PERTURBATIONS.get(k).stochastic])
def test_stochastic_kinds_follow_the_rng(kind, image):
    level, params = NON_IDENTITY[kind]
    p = make(kind, level, **params)
    a = p.perturb(image, np.random.default_rng(7))
    b = p.perturb(image, np.random.default_rng(7))
    c = p.perturb(image, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError, match="needs an rng"):
        p.perturb(image, None)


def test_stochastic_flags():
    stochastic = {k for k in BUILTIN if PERTURBATIONS.get(k).stochastic}
    assert stochastic == {"salt", "pepper", "salt_and_pepper", "gaussian_noise"}


def test_salt_only_raises_to_255(mid_image):
    out = make("salt", 0.2).perturb(mid_image, np.random.default_rng(1))
    changed = out != mid_image
    assert (out >= mid_image).all()
    assert (out[changed] == 255).all()
    assert abs(changed.mean() - 0.2) < 0.02


def test_pepper_only_lowers_to_0(mid_image):
    out = make("pepper", 0.2).perturb(mid_image, np.random.default_rng(1))
    changed = out != mid_image
    assert (out <= mid_image).all()
    assert (out[changed] == 0).all()
    assert abs(changed.mean() - 0.2) < 0.02


def test_salt_and_pepper_amount_and_share(mid_image):
    out = make("salt_and_pepper", 0.3, salt_vs_pepper=0.25).perturb(
        mid_image, np.random.default_rng(2)
    )
    changed = out != mid_image
    assert set(np.unique(out[changed])) <= {0, 255}
    assert abs(changed.mean() - 0.3) < 0.02
    assert abs((out[changed] == 255).mean() - 0.25) < 0.03
    default = make("salt_and_pepper", 0.3).perturb(mid_image, np.random.default_rng(2))
    hit = default != mid_image
    assert abs((default[hit] == 255).mean() - 0.5) < 0.03


def test_noise_is_per_array_element(mid_image):
    out = make("salt", 0.3).perturb(mid_image, np.random.default_rng(3))
    per_pixel = (out != mid_image).sum(axis=-1)
    # Per element, some pixels get one or two channels changed, not all or nothing.
    assert ((per_pixel == 1) | (per_pixel == 2)).mean() > 0.3


def test_gaussian_noise_moments():
    grey = np.full((96, 96, 3), 128, dtype=np.uint8)
    var = 0.0025  # std 0.05 -> 12.75 grey levels, far from clipping at 128
    out = make("gaussian_noise", var).perturb(grey, np.random.default_rng(4))
    diff = out.astype(float) - 128
    assert abs(diff.mean()) < 0.5
    assert abs(diff.std() - 255 * var**0.5) < 0.5
    shifted = make("gaussian_noise", var, mean=0.1).perturb(grey, np.random.default_rng(4))
    assert abs((shifted.astype(float) - 128).mean() - 25.5) < 0.5


def test_blurs_smooth(image):
    for kind in ("average_blur", "gaussian_blur", "median_blur"):
        blurred = make(kind, 7).perturb(image)
        assert blurred.astype(float).std() < image.astype(float).std()


@pytest.mark.parametrize("kind", ["gaussian_blur", "median_blur"])
@pytest.mark.parametrize("ksize", [2, 4, 20])
def test_even_kernel_raises_clear_error(kind, ksize):
    with pytest.raises(ValueError, match=rf"{kind}: ksize={ksize} is even.*must be odd"):
        make(kind, ksize)


@pytest.mark.parametrize(
    ("kind", "level", "pattern"),
    [
        ("average_blur", 0, r"ksize=0 is out of range; allowed >= 1"),
        ("average_blur", 2.5, r"ksize=2.5 must be an integer"),
        ("gaussian_blur", -1, r"ksize=-1 is out of range"),
        ("salt", 1.5, r"amount=1.5 is out of range; allowed \[0, 1\]"),
        ("pepper", -0.1, r"amount=-0.1 is out of range"),
        ("gaussian_noise", -0.01, r"var=-0.01 is out of range"),
        ("brightness", -1.0, r"factor=-1.0 is out of range; allowed \[0, inf\]"),
        ("contrast", float("nan"), r"factor must be finite"),
        ("jpeg_quality", 0, r"quality=0 is out of range; allowed \[1, 100\]"),
        ("jpeg_quality", 101, r"quality=101 is out of range"),
        ("salt", True, r"amount must be a number"),
        ("salt", "0.1", r"amount must be a number"),
    ],
)
def test_bad_levels_raise(kind, level, pattern):
    with pytest.raises(ValueError, match=rf"{kind}: {pattern}"):
        make(kind, level)


@pytest.mark.parametrize(
    ("kind", "params", "pattern"),
    [
        ("salt", {"salt_vs_pepper": 0.5}, r"kind 'salt': unknown parameter 'salt_vs_pepper'"),
        (
            "salt_and_pepper",
            {"salt_vs_pepper": 1.2},
            r"'salt_vs_pepper' must be a number in \[0, 1\], got 1.2",
        ),
        ("salt_and_pepper", {"sigma": 1}, r"unknown parameter 'sigma'; allowed: salt_vs_pepper"),
        ("gaussian_noise", {"std": 0.1}, r"unknown parameter 'std'; allowed: mean"),
        ("gaussian_noise", {"mean": 2.0}, r"'mean' must be a number in \[-1, 1\], got 2.0"),
        ("jpeg_quality", {"chroma_subsampling": "4:1:1"}, r'one of "4:2:0", "4:2:2", "4:4:4"'),
        ("brightness", {"factor": 2}, r"kind 'brightness': unknown parameter 'factor'"),
    ],
)
def test_bad_params_raise(kind, params, pattern):
    level = PERTURBATIONS.get(kind).identity_level
    with pytest.raises(ValueError, match=pattern):
        make(kind, level, **params)


# --- equivalence with NRTK --------------------------------------------------------------------


def _nrtk_cases():
    return [
        ("average_blur", 1, {}, "blur", "AverageBlurPerturber", {"ksize": 1}),
        ("average_blur", 6, {}, "blur", "AverageBlurPerturber", {"ksize": 6}),
        ("gaussian_blur", 1, {}, "blur", "GaussianBlurPerturber", {"ksize": 1}),
        ("gaussian_blur", 11, {}, "blur", "GaussianBlurPerturber", {"ksize": 11}),
        ("median_blur", 3, {}, "blur", "MedianBlurPerturber", {"ksize": 3}),
        ("median_blur", 9, {}, "blur", "MedianBlurPerturber", {"ksize": 9}),
        ("brightness", 0.0, {}, "enhance", "BrightnessPerturber", {"factor": 0.0}),
        ("brightness", 1.7, {}, "enhance", "BrightnessPerturber", {"factor": 1.7}),
        ("contrast", 0.3, {}, "enhance", "ContrastPerturber", {"factor": 0.3}),
        ("contrast", 2.5, {}, "enhance", "ContrastPerturber", {"factor": 2.5}),
        ("salt", 0.15, {}, "noise", "SaltNoisePerturber", {"amount": 0.15}),
        ("pepper", 0.15, {}, "noise", "PepperNoisePerturber", {"amount": 0.15}),
        (
            "salt_and_pepper",
            0.2,
            {"salt_vs_pepper": 0.7},
            "noise",
            "SaltAndPepperNoisePerturber",
            {"amount": 0.2, "salt_vs_pepper": 0.7},
        ),
        (
            "salt_and_pepper",
            0.2,
            {},
            "noise",
            "SaltAndPepperNoisePerturber",
            {"amount": 0.2},
        ),
        ("gaussian_noise", 0.02, {}, "noise", "GaussianNoisePerturber", {"var": 0.02}),
        (
            "gaussian_noise",
            0.05,
            {"mean": -0.1},
            "noise",
            "GaussianNoisePerturber",
            {"var": 0.05, "mean": -0.1},
        ),
    ]


@pytest.mark.parametrize(
    ("kind", "level", "params", "module", "class_name", "nrtk_kwargs"), _nrtk_cases()
)
def test_matches_nrtk(kind, level, params, module, class_name, nrtk_kwargs, image):
    pytest.importorskip("nrtk")
    import importlib

    nrtk_module = importlib.import_module(f"nrtk.impls.perturb_image.photometric.{module}")
    nrtk_cls = getattr(nrtk_module, class_name)
    ours = make(kind, level, **params)
    for seed in (0, 11):
        kwargs = dict(nrtk_kwargs)
        if ours.stochastic:
            # NRTK seeds np.random.default_rng(seed); the same Generator state here must
            # give the same draws, hence bit-identical images.
            kwargs["seed"] = seed
        expected, _ = nrtk_cls(**kwargs)(image=image.copy())
        got = ours.perturb(image, np.random.default_rng(seed))
        np.testing.assert_array_equal(got, expected)


def test_every_nrtk_counterpart_is_covered():
    covered = {case[0] for case in _nrtk_cases()}
    # jpeg_quality has no NRTK image perturber in NRTK 1.1; NRTK's geometric ones draw
    # their transform at random, so rotation/translation/scale have no fixed counterpart.
    assert covered == set(BUILTIN) - {"jpeg_quality", "rotation", "translation", "scale"}


# --- level sweeps -----------------------------------------------------------------------------


def test_expand_explicit_list_keeps_order_and_types():
    assert expand_levels("salt", [0.1, 0, 0.05]) == [0.1, 0.0, 0.05]
    levels = expand_levels("gaussian_blur", [1, 3.0, 7])
    assert levels == [1, 3, 7] and all(type(v) is int for v in levels)
    quality = expand_levels("jpeg_quality", [90, 50])
    assert all(type(v) is int for v in quality)
    factors = expand_levels("brightness", [1, 2])
    assert all(type(v) is float for v in factors)


def test_expand_linspace_odd_reproduces_nrtk_notebook():
    levels = expand_levels("gaussian_blur", {"linspace": [1, 20, 5], "odd": True})
    assert levels == [1, 5, 11, 15, 21]
    assert all(type(v) is int for v in levels)


def test_expand_linspace_integer_and_plain():
    assert expand_levels("average_blur", {"linspace": [1, 20, 5], "integer": True}) == [
        1,
        5,
        10,
        15,
        20,
    ]
    # exactly, with no float noise for file paths (np.linspace gives 0.15000000000000002)
    salt = expand_levels("salt", {"linspace": [0, 0.2, 5]})
    assert salt == [0.0, 0.05, 0.1, 0.15, 0.2]
    assert [format_level(level) for level in salt] == ["0", "0.05", "0.1", "0.15", "0.2"]
    assert expand_levels("jpeg_quality", {"linspace": [100, 10, 4]}) == [100, 70, 40, 10]


def test_expand_linspace_non_integer_ksize_raises_naming_kind_and_level():
    with pytest.raises(ValueError, match=r"gaussian_blur: ksize=5.75 must be an integer"):
        expand_levels("gaussian_blur", {"linspace": [1, 20, 5]})


def test_expand_integer_even_gaussian_kernel_raises():
    with pytest.raises(ValueError, match=r"gaussian_blur: ksize=10.* must be odd"):
        expand_levels("gaussian_blur", {"linspace": [1, 20, 5], "integer": True})


@pytest.mark.parametrize(
    ("kind", "spec", "pattern"),
    [
        ("nope", [1], r"unknown perturbation kind 'nope'; allowed kinds: average_blur, "),
        ("salt", [0.1, 2.0], r"salt: amount=2.0 is out of range"),
        ("salt", [], r"salt: the level list is empty"),
        ("salt", "0.1", r"salt: levels must be a list"),
        ("salt", {"linspace": [0, 1]}, r"linspace must be \[start, stop, num\]"),
        ("salt", {"linspace": [0, 1, 0]}, r"linspace num=0 is out of range"),
        ("salt", {"linspace": [0, 1, 2.5]}, r"linspace num=2.5 must be an integer"),
        ("salt", {"linspace": [0, 1, 3], "log": True}, r"unknown level spec key\(s\) \['log'\]"),
        ("salt", {"odd": True}, r'needs "linspace"'),
        ("salt", {"linspace": [0, 1, 3], "odd": "yes"}, r"odd must be true or false"),
        ("gaussian_blur", {"linspace": [1, 4, 4], "odd": True}, r"levels repeat.*\[3\]"),
        ("salt", [0.1, 0.1], r"levels repeat"),
    ],
)
def test_expand_errors(kind, spec, pattern):
    with pytest.raises(ValueError, match=pattern):
        expand_levels(kind, spec)


def test_validate_perturbation():
    assert validate_perturbation("salt_and_pepper", [0.0, 0.1], {"salt_vs_pepper": 0.2}) == [
        0.0,
        0.1,
    ]
    assert validate_perturbation("median_blur", {"linspace": [1, 9, 3], "odd": True}, None) == [
        1,
        5,
        9,
    ]
    with pytest.raises(ValueError, match=r"allowed kinds: .*gaussian_noise.*salt_and_pepper"):
        validate_perturbation("blur", [1], {})
    with pytest.raises(ValueError, match=r"kind 'gaussian_noise': unknown parameter 'sigma'"):
        validate_perturbation("gaussian_noise", [0.01], {"sigma": 1})
    with pytest.raises(ValueError, match=r"contrast: factor=-0.5 is out of range"):
        validate_perturbation("contrast", [1.0, -0.5], {})


def test_identity_levels():
    assert identity_level_of("gaussian_blur") == 1
    assert identity_level_of("brightness") == 1.0
    assert identity_level_of("salt") == 0.0
    assert identity_level_of("jpeg_quality") == 100
    assert identity_level_of("nrtk", {"identity_level": 1}) == 1
    assert identity_level_of("nrtk", {}) is None


def test_import_does_not_pull_torch():
    code = "import sys, salsweep.perturbations; assert 'torch' not in sys.modules, 'torch'"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# --- nrtk adapter -----------------------------------------------------------------------------

BLUR_PATH = "nrtk.impls.perturb_image.photometric.blur.GaussianBlurPerturber"
SALT_PATH = "nrtk.impls.perturb_image.photometric.noise.SaltNoisePerturber"


def test_nrtk_adapter_runs_an_nrtk_class(image):
    pytest.importorskip("nrtk")
    levels = validate_perturbation(
        "nrtk",
        {"linspace": [1, 20, 5], "odd": True},
        {"class_path": BLUR_PATH, "level_param": "ksize"},
    )
    assert levels == [1, 5, 11, 15, 21]
    for ksize in (1, 7):
        adapter = make("nrtk", ksize, class_path=BLUR_PATH, level_param="ksize")
        assert adapter.stochastic is False
        np.testing.assert_array_equal(
            adapter.perturb(image), make("gaussian_blur", ksize).perturb(image)
        )


def test_nrtk_adapter_seeds_stochastic_classes_from_the_rng(mid_image):
    pytest.importorskip("nrtk")
    adapter = make("nrtk", 0.2, class_path=SALT_PATH, level_param="amount", identity_level=0)
    assert adapter.stochastic is True and adapter.identity_level == 0
    a = adapter.perturb(mid_image, np.random.default_rng(5))
    b = adapter.perturb(mid_image, np.random.default_rng(5))
    c = adapter.perturb(mid_image, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    changed = a != mid_image
    assert (a[changed] == 255).all() and abs(changed.mean() - 0.2) < 0.02
    with pytest.raises(ValueError, match="needs an rng"):
        adapter.perturb(mid_image, None)


@pytest.mark.parametrize(
    ("level", "params", "pattern"),
    [
        (3, {"level_param": "ksize"}, r"'nrtk' needs parameter 'class_path'"),
        (3, {"class_path": BLUR_PATH}, r"'nrtk' needs parameter 'level_param'"),
        (3, {"class_path": "os.path.join", "level_param": "x"}, r"dotted path inside nrtk"),
        (
            3,
            {"class_path": "nrtk.impls.perturb_image.generic.cv2.blur.X", "level_param": "ksize"},
            r"cannot import module .*photometric",
        ),
        (
            3,
            {"class_path": "nrtk.impls.perturb_image.photometric.blur.Nope", "level_param": "k"},
            r"has no class 'Nope'",
        ),
        (
            3,
            {"class_path": BLUR_PATH, "level_param": "sigma"},
            r"takes no argument\(s\) \['sigma'\]",
        ),
        (
            0.1,
            {"class_path": SALT_PATH, "level_param": "amount", "kwargs": {"seed": 1}},
            r"kwargs may not set \['seed'\]",
        ),
        (4, {"class_path": BLUR_PATH, "level_param": "ksize"}, r"ksize=4\) failed: .*odd"),
        (3, {"class_path": BLUR_PATH, "level_param": "ksize", "extra": 1}, r"unknown param"),
    ],
)
def test_nrtk_adapter_errors(level, params, pattern):
    pytest.importorskip("nrtk")
    with pytest.raises(ValueError, match=pattern):
        make("nrtk", level, **params)


def test_nrtk_adapter_without_nrtk_installed(monkeypatch):
    from salsweep.perturbations import nrtk_adapter

    real_find_spec = nrtk_adapter.importlib.util.find_spec
    monkeypatch.setattr(
        nrtk_adapter.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "nrtk" else real_find_spec(name, *a),
    )
    nrtk_adapter.resolve_class.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"needs the optional package nrtk"):
            make("nrtk", 3, class_path=BLUR_PATH + "X", level_param="ksize")
    finally:
        nrtk_adapter.resolve_class.cache_clear()
