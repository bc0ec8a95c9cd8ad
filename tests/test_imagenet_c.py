"""ImageNet-C corruptions: every one against the reference package (imagecorruptions 1.1.2)
with aligned random streams, at the reference's sizes and at 8 px; the kind's config checks.

The reference draws from numpy's global state; ours from the rng it is given, with the same
calls in the same order, so ``np.random.seed(s)`` there and ``RandomState(s)`` here align.
Three reference corruptions no longer run on this stack; they run here through shims that
only restore the removed names (skimage's ``multichannel``, numpy's ``np.float_``), and
impulse_noise gets a seeded Generator instead of skimage's unseeded default.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_snakemake

from salsweep.perturbations import PERTURBATIONS, imagenet_c, validate_perturbation
from salsweep.perturbations.imagenet_c import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    corrupt,
)

SEED = 11


def _pkg_resources_stand_in() -> None:
    """The reference imports pkg_resources.resource_filename, which setuptools >= 81 and
    venvs without setuptools lack; this stand-in resolves a file next to a module."""
    if importlib.util.find_spec("pkg_resources") is not None:
        return
    module = types.ModuleType("pkg_resources")

    def resource_filename(name: str, path: str) -> str:
        return str(Path(importlib.util.find_spec(name).origin).parent / path)

    module.resource_filename = resource_filename
    sys.modules["pkg_resources"] = module


@pytest.fixture(scope="module")
def reference():
    _pkg_resources_stand_in()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its pkg_resources import warns
        package = pytest.importorskip("imagecorruptions")
        from imagecorruptions import corruptions
    return package, corruptions


@pytest.fixture
def shims(reference, monkeypatch):
    """Restore what the reference needs from older numpy/skimage, nothing else."""
    _, corruptions = reference
    from skimage.filters import gaussian

    def gaussian_multichannel(image, sigma, multichannel=None, **kwargs):
        if multichannel:
            kwargs["channel_axis"] = -1
        return gaussian(image, sigma=sigma, **kwargs)

    monkeypatch.setattr(corruptions, "gaussian", gaussian_multichannel)
    monkeypatch.setattr(np, "float_", np.float64, raising=False)
    import skimage.util

    random_noise = skimage.util.random_noise

    def seeded_random_noise(image, **kwargs):
        return random_noise(image, rng=np.random.default_rng(SEED), **kwargs)

    monkeypatch.setattr(skimage.util, "random_noise", seeded_random_noise)


def _ours_rng(name: str):
    # impulse_noise: skimage draws from a Generator; the rest from np.random's legacy state.
    if name == "impulse_noise":
        return np.random.default_rng(SEED)
    return np.random.RandomState(SEED)


def _reference_output(reference, image, name, severity):
    from PIL import Image

    _, corruptions = reference
    np.random.seed(SEED)  # noqa: NPY002 - the reference reads the global state
    # The function itself, not corrupt(): corrupt() refuses images under 32 px.
    return np.uint8(corruptions.__dict__[name](Image.fromarray(image), severity))


def _image(height: int, width: int) -> np.ndarray:
    # Smooth shapes plus noise: edges for the blurs, texture for the colour ones.
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([xs * 255 / width, ys * 255 / height, (xs + ys) % 97 * 2.6], axis=2)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def test_the_nineteen_corruptions_are_the_references(reference):
    package, _ = reference
    assert list(BENCHMARK_CORRUPTIONS) == package.get_corruption_names("common")
    assert list(EXTRA_CORRUPTIONS) == package.get_corruption_names("validation")
    assert list(CORRUPTIONS) == package.get_corruption_names("all")


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_equals_reference_at_its_sizes(reference, shims, name):
    image = _image(40, 56)
    for severity in range(1, 6):
        expected = _reference_output(reference, image, name, severity)
        got = corrupt(image, name, severity, _ours_rng(name))
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} severity {severity}")


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_equals_reference_at_8_px(reference, shims, name):
    image = _image(8, 8)
    for severity in (1, 3, 5):
        expected = _reference_output(reference, image, name, severity)
        got = corrupt(image, name, severity, _ours_rng(name))
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} severity {severity}")


# --- hand cases: what the shims could hide ---------------------------------------------------


def test_gaussian_blur_and_glass_blur_keep_a_flat_image_flat():
    flat = np.full((32, 32, 3), 120, dtype=np.uint8)
    rng = np.random.default_rng(0)
    for name in ("gaussian_blur", "glass_blur"):
        for severity in (1, 5):
            out = corrupt(flat, name, severity, rng)
            # 120/255 blurred and back is 119.99...: the reference truncates to 119.
            assert set(np.unique(out)) <= {119, 120}, (name, severity)


def test_gaussian_blur_sigma_is_the_references():
    # One white pixel: the spread equals sigma of the severity (1, 2, 3, 4, 6).
    image = np.zeros((61, 61, 3), dtype=np.uint8)
    image[30, 30] = 255
    for severity, sigma in zip(range(1, 6), (1, 2, 3, 4, 6), strict=True):
        out = imagenet_c.gaussian_blur(image, severity, np.random.default_rng(0))[:, :, 0]
        row = out[30] / out[30].sum()
        spread = np.sqrt((row * (np.arange(61) - 30) ** 2).sum())
        assert spread == pytest.approx(sigma, rel=0.02)


def test_fog_brightens_towards_the_plasma_and_depends_on_the_rng():
    image = _image(32, 32)
    a = corrupt(image, "fog", 3, np.random.default_rng(1))
    b = corrupt(image, "fog", 3, np.random.default_rng(2))
    assert not np.array_equal(a, b)
    # x * max / (max + 2.5) + plasma * 2.5 * max / (max + 2.5): contrast shrinks to ~29 %.
    assert a.astype(float).std() < 0.6 * image.astype(float).std()


# --- the kind --------------------------------------------------------------------------------


def test_kind_checks_severity_and_corruption():
    assert validate_perturbation("imagenet_c", [1, 2, 3, 4, 5], {"corruption": "fog"}) == [
        1,
        2,
        3,
        4,
        5,
    ]
    with pytest.raises(ValueError, match=r"severity=6(\.0)? is out of range; allowed \[0, 5\]"):
        validate_perturbation("imagenet_c", [6], {"corruption": "fog"})
    with pytest.raises(ValueError, match="severity=2.5 must be an integer"):
        validate_perturbation("imagenet_c", [2.5], {"corruption": "fog"})
    with pytest.raises(ValueError, match="needs parameter 'corruption'"):
        validate_perturbation("imagenet_c", [1], {})
    with pytest.raises(ValueError, match="parameter 'corruption' must be one of .*saturate"):
        validate_perturbation("imagenet_c", [1], {"corruption": "rain"})


def test_frost_without_the_package_fails_at_config_time_naming_the_install(monkeypatch):
    monkeypatch.setattr(imagenet_c.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install --no-deps imagecorruptions==1\.1\.2"):
        validate_perturbation("imagenet_c", [1], {"corruption": "frost"})
    # The other corruptions do not need it.
    validate_perturbation("imagenet_c", [1], {"corruption": "snow"})


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_severity_0_is_exact_and_the_rng_alone_decides(name):
    kind = PERTURBATIONS.get("imagenet_c")
    image = _image(32, 32)
    assert np.array_equal(kind(0, corruption=name).perturb(image, np.random.default_rng(0)), image)
    perturber = kind(3, corruption=name)
    first = perturber.perturb(image, np.random.default_rng(5))
    assert not np.array_equal(first, image)
    # Same per-image seed, same output, whatever ran before (sharding cannot change it).
    perturber.perturb(_image(16, 24), np.random.default_rng(9))
    assert np.array_equal(perturber.perturb(image, np.random.default_rng(5)), first)


@pytest.mark.parametrize("name", ["glass_blur", "frost", "elastic_transform"])
def test_output_depends_on_the_image_not_on_the_sharding(tmp_path, name):
    import pandas as pd

    from salsweep.condition import Condition
    from salsweep.io import decode_png, encode_png, read_table, write_table
    from salsweep.stages.perturb import perturb_shard

    source = tmp_path / "eval.parquet"
    images = [_image(32, 32)[i:] for i in range(5)]  # five sizes, 32 down to 28 rows
    table = pd.DataFrame(
        {
            "image_id": [f"im-{i}" for i in range(5)],
            "image": [encode_png(image) for image in images],
            "label": [0] * 5,
            "mask": [None] * 5,
        }
    )
    write_table(table, source)
    common = dict(
        condition=Condition("d", name, "4"),
        kind="imagenet_c",
        params={"corruption": name},
        seed=5,
    )
    perturb_shard(str(source), str(tmp_path / "one.parquet"), shard=0, n_shards=1, **common)
    for shard in range(3):
        out = tmp_path / f"s{shard}.parquet"
        perturb_shard(str(source), str(out), shard=shard, n_shards=3, **common)
    whole = read_table(tmp_path / "one.parquet")["image"].tolist()
    parts = [blob for s in range(3) for blob in read_table(tmp_path / f"s{s}.parquet")["image"]]
    assert whole == parts
    for blob, image in zip(whole, images, strict=True):
        out = decode_png(blob)
        assert out.shape == image.shape and not np.array_equal(out, image)


def test_corruption_study_dry_run_lists_16_sweeps(tmp_path):
    """The 15 benchmark corruptions at severities 1-5, and rotation."""
    result = run_snakemake(tmp_path, REPO / "config" / "studies" / "corruptions.yaml", "-n")
    planned: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        match = re.search(r"wildcards: dataset=(\w+), perturbation=(\w+), level=([\d.]+)", line)
        if match:
            planned.setdefault(match.group(2), set()).add(match.group(3))
    imagenet_c_sweeps = {name for name in planned if name in CORRUPTIONS}
    assert imagenet_c_sweeps == set(BENCHMARK_CORRUPTIONS)
    for name in BENCHMARK_CORRUPTIONS:
        assert planned[name] == {"1", "2", "3", "4", "5"}, name
    assert planned["rotation"] == {"5", "10", "15", "30"}
    assert set(planned) == {*BENCHMARK_CORRUPTIONS, "rotation", "clean"}
    assert planned["clean"] == {"0"}
