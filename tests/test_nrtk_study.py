"""Every NRTK 1.1 perturber class that imports here runs end to end in one tiny study
through the ``nrtk`` kind; a class whose NRTK extra is missing is skipped with the extra
named. The README's NRTK table lists the same classes."""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_snakemake, tiny_study, write_config

from salsweep.condition import format_level
from salsweep.config import ConfigError, Study
from salsweep.io import load_maps, read_table
from salsweep.metrics import score_maps

nrtk = pytest.importorskip("nrtk")

PERTURB = "nrtk.impls.perturb_image."
# class -> (module under nrtk.impls.perturb_image, level_param, level, level_form,
#           identity level, the NRTK extra it needs)
CLASSES = {
    "AverageBlurPerturber": ("photometric.blur", "ksize", 3, None, 1, None),
    "GaussianBlurPerturber": ("photometric.blur", "ksize", 3, None, 1, None),
    "MedianBlurPerturber": ("photometric.blur", "ksize", 3, None, None, None),
    "GaussianNoisePerturber": ("photometric.noise", "var", 0.02, None, 0, None),
    "SpeckleNoisePerturber": ("photometric.noise", "var", 0.05, None, 0, None),
    "SaltNoisePerturber": ("photometric.noise", "amount", 0.1, None, 0, None),
    "PepperNoisePerturber": ("photometric.noise", "amount", 0.1, None, 0, None),
    "SaltAndPepperNoisePerturber": ("photometric.noise", "amount", 0.1, None, 0, None),
    "BrightnessPerturber": ("photometric.enhance", "factor", 1.5, None, 1, None),
    "ColorPerturber": ("photometric.enhance", "factor", 0.3, None, 1, None),
    "ContrastPerturber": ("photometric.enhance", "factor", 0.5, None, 1, None),
    "SharpnessPerturber": ("photometric.enhance", "factor", 2.0, None, 1, None),
    "HazePerturber": ("environment", "factor", 1.0, None, 0, None),
    "WaterDropletPerturber": ("environment", "num_drops", 1, None, 0, "waterdroplet"),
    "RadialDistortionPerturber": ("optical", "k", 0.3, ["level", 0, 0], 0, None),
    "PybsmPerturber": ("optical", "f", 4, None, None, "pybsm"),
    "RandomTranslationPerturber": (
        "geometric.random",
        "max_translation_limit",
        6,
        ["level", "level"],
        0,
        None,
    ),
    # its smaller crop is resized back to the image's size (test_random_crop_is_resized_back)
    "RandomCropPerturber": ("geometric.random", "crop_size", 12, ["level", "level"], None, None),
    "RandomRotationPerturber": ("geometric.random", "limit", 30, None, 0, "albumentations"),
    "RandomScalePerturber": ("geometric.random", "limit", 0.3, None, 0, "albumentations"),
}
# Why an extra is not installed in this project's test environment.
NOT_INSTALLED = {
    "pybsm": "not installed here: pybsm>=0.16 pulls numba 0.62.1 and downgrades numpy "
    "2.4.6 to 2.3.5, which would change this stack's results",
}
# NRTK classes that move pixels by a transform salsweep cannot recover.
UNKNOWN_FRAME = [
    "RandomTranslationPerturber",
    "RandomCropPerturber",
    "RandomRotationPerturber",
    "RandomScalePerturber",
    "RadialDistortionPerturber",
]
CROP = PERTURB + "geometric.random.RandomCropPerturber"
SCALE = PERTURB + "geometric.random.RandomScalePerturber"


def _usable(name: str) -> bool:
    module, *_ = CLASSES[name]
    from salsweep.perturbations.nrtk_adapter import resolve_class

    try:
        resolve_class(PERTURB + module + "." + name)
    except ValueError:
        return False
    return True


USABLE = [name for name in CLASSES if _usable(name)]


@pytest.mark.parametrize("name", list(CLASSES))
def test_each_nrtk_class_imports_or_names_its_extra(name):
    module, *_, extra = CLASSES[name]
    if name in USABLE:
        return
    assert extra is not None, f"{name} does not import here and needs no known extra"
    note = f" ({NOT_INSTALLED[extra]})" if extra in NOT_INSTALLED else ""
    pytest.skip(f"{name} needs the NRTK extra: pip install 'nrtk[{extra}]'{note}")


def test_the_test_extra_installs_every_nrtk_extra_that_installs_here():
    # the test extra's only pinned nrtk requirement (tomllib is not in Python 3.10)
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    (nrtk_pin,) = re.findall(r'"(nrtk[^"]*==[^"]*)"', text)
    pinned = set(nrtk_pin.partition("[")[2].partition("]")[0].split(","))
    needed = {extra for *_, extra in CLASSES.values() if extra is not None}
    assert pinned == needed - set(NOT_INSTALLED), nrtk_pin
    assert nrtk_pin.endswith("==1.1.0")


def _seeded_nrtk_output(class_path: str, rng_seed: int, image: np.ndarray, **arguments):
    """NRTK's own output for the seed the adapter draws from default_rng(rng_seed)."""
    from salsweep.perturbations.nrtk_adapter import resolve_class

    seed = int(np.random.default_rng(rng_seed).integers(0, 2**31 - 1))
    out, _ = resolve_class(class_path)(seed=seed, **arguments)(image=image.copy())
    return out


def test_random_crop_is_resized_back_to_the_image_size():
    from salsweep.perturbations import PERTURBATIONS

    kind = PERTURBATIONS.get("nrtk")(
        12, class_path=CROP, level_param="crop_size", level_form=["level", "level"]
    )
    image = np.random.default_rng(1).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = kind.perturb(image, np.random.default_rng(5))
        crop = _seeded_nrtk_output(CROP, 5, image, crop_size=(12, 12))
    assert crop.shape == (12, 12, 3)  # NRTK's own output is smaller
    assert out.shape == image.shape and out.dtype == np.uint8
    expected = cv2.resize(crop, (20, 16), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out, expected)


def test_random_scale_is_centre_cropped_or_padded_back():
    from salsweep.perturbations import PERTURBATIONS
    from salsweep.perturbations.nrtk_adapter import resolve_class

    try:
        resolve_class(SCALE)
    except ValueError:
        pytest.skip("RandomScalePerturber needs the NRTK extra: pip install 'nrtk[albumentations]'")
    kind = PERTURBATIONS.get("nrtk")(0.4, class_path=SCALE, level_param="limit")
    image = np.random.default_rng(2).integers(1, 256, (16, 16, 3), dtype=np.uint8)
    shapes = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rng_seed in range(8):
            out = kind.perturb(image, np.random.default_rng(rng_seed))
            scaled = _seeded_nrtk_output(SCALE, rng_seed, image, limit=0.4)
            shapes.add(scaled.shape[0] > 16)
            assert out.shape == image.shape and out.dtype == np.uint8
            side = min(16, scaled.shape[0])
            inner = slice((16 - side) // 2, (16 - side) // 2 + side)
            src = slice((scaled.shape[0] - side) // 2, (scaled.shape[0] - side) // 2 + side)
            np.testing.assert_array_equal(out[inner, inner], scaled[src, src])
            # a smaller image is padded with black around its centre
            assert (out == 0).all(axis=-1).sum() == 16 * 16 - side * side
    assert shapes == {True, False}, "the seeds drew no larger and smaller scale"


@pytest.mark.parametrize("name", UNKNOWN_FRAME)
def test_a_drift_metric_on_a_pixel_moving_nrtk_sweep_is_refused(name):
    if name not in USABLE:
        pytest.skip(f"{name} does not import here")
    module, level_param, level, form, *_ = CLASSES[name]
    params = {"class_path": PERTURB + module + "." + name, "level_param": level_param}
    if form is not None:
        params["level_form"] = form
    config = {
        "study": {"name": "t", "seed": 0, "shards": 1, "device": "cpu"},
        "datasets": {"digits": {"source": "sklearn_digits"}},
        "models": {"cnn": {"source": "train", "datasets": ["digits"]}},
        "perturbations": {"moved": {"kind": "nrtk", "levels": [level], "params": params}},
        "saliency": {"methods": {"sliding_window": {}}},
        "metrics": ["entropy", "xcorr"],
    }
    with pytest.raises(ConfigError, match=rf"perturbations\.moved.*xcorr.*{name} moves pixels"):
        Study(config)
    config["metrics"] = ["entropy"]
    Study(config)  # metrics on the copy alone are allowed


def _sweeps() -> dict:
    sweeps = {}
    for name in USABLE:
        module, level_param, level, form, identity, _ = CLASSES[name]
        params = {"class_path": PERTURB + module + "." + name, "level_param": level_param}
        if form is not None:
            params["level_form"] = form
        if identity is not None:
            params["identity_level"] = identity
        sweeps[name.removesuffix("Perturber").lower()] = {
            "kind": "nrtk",
            "levels": [level],
            "params": params,
        }
    return sweeps


@pytest.mark.e2e
def test_every_usable_nrtk_class_runs_in_one_tiny_study(tmp_path, standins):
    # Two real 16x16 colour photos through EfficientNet-Lite0: the model jobs cost a torch
    # import each (a hub model's would add transformers'), and ColorPerturber changes colour.
    config = tiny_study(
        standins,
        study={"name": "nrtk", "seed": 3, "device": "cpu", "shards": 1},
        datasets={"photos": {"source": "bundled_photos", "image_size": 16, "subset": 2}},
        models={"lite0": {"source": "efficientnet_lite0", "datasets": ["photos"]}},
        perturbations=_sweeps(),
        saliency={"targets": ["pred"], "batch_size": 16, "methods": {"vanilla_gradient": {}}},
        # metrics on the copy alone: the geometric NRTK classes allow no drift metric
        metrics=["entropy"],
    )
    configfile = write_config(tmp_path, config)
    targets = ["results/tables/metrics.parquet", "results/tables/predictions.parquet"]
    run_snakemake(tmp_path, configfile, "--cores", "2", *targets)

    predictions = read_table(tmp_path / targets[1])
    metrics = read_table(tmp_path / targets[0])
    sweeps = set(config["perturbations"])
    assert set(predictions["perturbation"]) == sweeps | {"clean"}
    assert set(metrics["perturbation"]) == sweeps | {"clean"}
    assert (predictions.groupby("perturbation").size() == 2).all()
    clean = read_table(tmp_path / "results/perturbed/photos/clean/0/shard-0.parquet")
    for sweep, spec in config["perturbations"].items():
        level = format_level(spec["levels"][0])
        copy_table = read_table(
            tmp_path / f"results/perturbed/photos/{sweep}/{level}/shard-0.parquet"
        )
        assert list(copy_table["image_id"]) == list(clean["image_id"])
        assert (copy_table["image"] != clean["image"]).any(), f"{sweep} changed no image"

    # A built-in rotation sweep in the same folder (the clean jobs are reused): the rule
    # hands the sweep's kind and level to map_metrics, which warps the maps back first.
    rotation = copy.deepcopy(config)
    rotation["perturbations"] = {"rotation": {"levels": [90]}}
    rotation["metrics"] = ["entropy", "xcorr"]
    configfile = write_config(tmp_path, rotation, name="rotation.yaml")
    run_snakemake(tmp_path, configfile, "--cores", "2", targets[0])
    scores = read_table(tmp_path / targets[0])
    scored = scores[(scores["perturbation"] == "rotation") & (scores["metric"] == "xcorr")]
    maps = "results/saliency/photos/lite0/vanilla_gradient/{}/shard-0/{}.safetensors"
    copy_maps = load_maps(tmp_path / maps.format("rotation", 90)).maps[:, 0]
    clean_maps = load_maps(tmp_path / maps.format("clean", 0)).maps[:, 0]
    # 90 degrees counter-clockwise on a square image: np.rot90 back is the exact inverse
    warped = score_maps([{"name": "xcorr"}], np.rot90(copy_maps, k=-1, axes=(1, 2)), clean_maps)
    naive = score_maps([{"name": "xcorr"}], copy_maps, clean_maps)
    assert np.allclose(scored["value"].to_numpy(), warped["xcorr"])
    assert not np.allclose(scored["value"].to_numpy(), naive["xcorr"])
