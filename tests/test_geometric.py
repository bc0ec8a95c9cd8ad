"""Geometric kinds (rotation, translation, scale): exact transforms, maps warped back into
the clean frame before the drift metrics, the validity mask, and the config check for
NRTK sweeps whose transform is unknown."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from salsweep.condition import Condition
from salsweep.config import ConfigError, Study
from salsweep.frames import maps_to_clean_frame, masks_to_copy_frame, valid_pixels
from salsweep.io import SaliencyMaps, encode_png, read_table, save_maps, write_table
from salsweep.metrics import MetricContext, score_maps
from salsweep.perturbations import PERTURBATIONS, identity_level_of, validate_perturbation
from salsweep.stages.map_metrics import score_sweep


def _smooth_images(n: int, size: int) -> np.ndarray:
    """Smooth blobs, so that a bilinear warp there and back changes little."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = []
    for i in range(n):
        cy, cx = size * (0.35 + 0.1 * i), size * (0.45 - 0.05 * i)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 5) ** 2))
        rgb = np.stack([blob, blob * 0.8 + 0.1 * xx / size, 1 - blob * 0.5], axis=-1)
        images.append(np.clip(rgb * 255, 0, 255).astype(np.uint8))
    return np.stack(images)


def _brightness(images: np.ndarray) -> np.ndarray:
    """A "saliency map" that is rotation-equivariant by construction: the image's own
    brightness, [N, 1, H, W]."""
    return images.astype(np.float32).mean(axis=-1)[:, None]


def test_each_kind_has_its_identity_and_checks_its_level():
    assert identity_level_of("rotation") == 0
    assert identity_level_of("translation") == 0
    assert identity_level_of("scale") == 1
    image = _smooth_images(1, 12)[0]
    for kind, level in (("rotation", 0), ("translation", 0), ("scale", 1)):
        assert np.array_equal(PERTURBATIONS.get(kind)(level).perturb(image), image)
    with pytest.raises(ValueError, match="translation: fraction"):
        validate_perturbation("translation", [1.5])
    with pytest.raises(ValueError, match="direction"):
        validate_perturbation("translation", [0.1], {"direction": "sideways"})


def test_rotation_by_90_degrees_permutes_pixels_exactly():
    image = np.random.default_rng(0).integers(0, 255, (9, 9, 3), dtype=np.uint8)
    rotated = PERTURBATIONS.get("rotation")(90).perturb(image)
    assert np.array_equal(rotated, np.rot90(image))  # counter-clockwise, as cv2


def test_translation_moves_by_the_fraction_and_fills_black():
    image = np.random.default_rng(0).integers(1, 255, (8, 8, 3), dtype=np.uint8)
    right = PERTURBATIONS.get("translation")(0.25, direction="right").perturb(image)
    assert np.array_equal(right[:, 2:], image[:, :-2]) and not right[:, :2].any()
    up = PERTURBATIONS.get("translation")(0.25, direction="up").perturb(image)
    assert np.array_equal(up[:-2], image[2:]) and not up[-2:].any()


def test_scale_keeps_the_centre_and_enlarges():
    image = np.zeros((9, 9, 3), dtype=np.uint8)
    image[3:6, 3:6] = 200  # a 3x3 square around the centre pixel (4, 4)
    scaled = PERTURBATIONS.get("scale")(2).perturb(image)
    assert scaled[4, 4, 0] == 200 and (scaled[..., 0] > 0).sum() > (image[..., 0] > 0).sum()


def test_validity_mask_excludes_the_pixels_that_entered_the_frame():
    matrix = PERTURBATIONS.get("translation")(0.25, direction="right").affine(8, 8)
    valid = valid_pixels(matrix, (8, 8))
    # clean columns 6, 7 left the frame; the copy's columns 0, 1 (entered) map nowhere
    assert valid[:, :6].all() and not valid[:, 6:].any()
    clean = np.random.default_rng(0).uniform(0.1, 1, (1, 8, 8))
    copy_map = np.zeros_like(clean)
    copy_map[:, :, 2:] = clean[:, :, :-2]
    copy_map[:, :, :2] = 1e6  # garbage where the copy shows no clean pixel
    back = maps_to_clean_frame(copy_map, matrix)
    context = MetricContext(valid=valid)
    specs = [{"name": "ssd"}, {"name": "xcorr"}, {"name": "spearman"}, {"name": "topk_iou"}]
    scores = score_maps(specs, back, clean, context=context)
    assert scores["ssd"][0] == pytest.approx(0.0, abs=1e-12)
    assert scores["xcorr"][0] == pytest.approx(1.0)
    assert scores["spearman"][0] == pytest.approx(1.0)
    assert scores["topk_iou@10"][0] == pytest.approx(1.0)
    # without the mask the warped-back zeros (columns 6, 7) count as drift
    unmasked = score_maps([{"name": "ssd"}], back, clean)["ssd"][0]
    assert unmasked > 0.1


def test_masks_move_forward_into_the_copy_frame():
    mask = np.zeros((1, 8, 8), dtype=bool)
    mask[0, 2:4, 1:3] = True
    matrix = PERTURBATIONS.get("translation")(0.25, direction="down").affine(8, 8)
    moved = masks_to_copy_frame(mask, matrix)
    assert np.array_equal(np.argwhere(moved[0]), np.argwhere(mask[0]) + [2, 0])


def _write_shard(folder, name, maps, images, mask=None):
    ids = [f"im-{i}" for i in range(len(images))]
    save_maps(
        SaliencyMaps(maps, np.zeros((len(ids), 1), np.int64), ids, ["truth"], "m", False),
        folder / f"{name}.safetensors",
    )
    table = pd.DataFrame(
        {
            "image_id": ids,
            "image": [encode_png(im) for im in images],
            "label": [0] * len(ids),
            "mask": [mask] * len(ids),
        }
    )
    write_table(table, folder / f"{name}.parquet")


def _drift(tmp_path, level, spec, metrics):
    clean = _smooth_images(3, 32)
    kind = PERTURBATIONS.get(spec["kind"])(level, **spec["params"])
    copies = np.stack([kind.perturb(im) for im in clean])
    _write_shard(tmp_path, "clean", _brightness(clean), clean)
    _write_shard(tmp_path, "copy", _brightness(copies), copies)
    out = tmp_path / "out.parquet"
    score_sweep(
        [str(tmp_path / "copy.safetensors")],
        [str(tmp_path / "copy.parquet")],
        str(out),
        reference_path=str(tmp_path / "clean.safetensors"),
        metric_specs=[{"name": m} for m in metrics],
        conditions=[Condition("d", spec["kind"], str(level))],
        model="m",
        method="brightness",
        clean_images_path=str(tmp_path / "clean.parquet"),
        perturbation_spec=spec,
    )
    table = read_table(out)
    return {m: table[table["metric"] == m]["value"].to_numpy() for m in metrics}


ROTATION = {"kind": "rotation", "params": {}}


def test_a_rotated_map_warped_back_equals_the_clean_map(tmp_path):
    exact = _drift(tmp_path, 90, ROTATION, ["ssd", "xcorr", "lipschitz"])
    assert np.allclose(exact["ssd"], 0, atol=1e-12)
    assert np.allclose(exact["xcorr"], 1)
    assert np.allclose(exact["lipschitz"], 0, atol=1e-9)  # maps and images both warped back
    close = _drift(tmp_path, 15, ROTATION, ["ssd", "xcorr"])
    assert (close["ssd"] < 2e-3).all() and (close["xcorr"] > 0.98).all()


def test_without_the_warp_the_drift_would_be_large(tmp_path):
    warped = _drift(tmp_path, 30, ROTATION, ["ssd", "xcorr"])
    # the same rotated maps scored as if in the clean frame (a kind with no transform)
    clean = _smooth_images(3, 32)
    rotation = PERTURBATIONS.get("rotation")(30)
    copies = np.stack([rotation.perturb(im) for im in clean])
    naive = score_maps(
        [{"name": "ssd"}, {"name": "xcorr"}],
        _brightness(copies)[:, 0],
        _brightness(clean)[:, 0],
    )
    assert (naive["ssd"] > 20 * warped["ssd"]).all() and (naive["ssd"] > 0.05).all()
    assert (naive["xcorr"] < warped["xcorr"] - 0.1).all()


def test_a_map_in_the_clean_frame_is_scored_unwarped(tmp_path):
    # gaussian_blur has no transform: the stage compares maps as they are
    scores = _drift(tmp_path, 5, {"kind": "gaussian_blur", "params": {}}, ["ssd"])
    assert (scores["ssd"] > 0).all()


BASE = {
    "study": {"seed": 0, "shards": 1, "device": "cpu"},
    "datasets": {"digits": {"source": "sklearn_digits"}},
    "models": {"cnn": {"source": "train", "datasets": ["digits"]}},
    "perturbations": {"rotation": {"levels": [5, 10]}},
    "saliency": {"methods": {"sliding_window": {}}},
    "metrics": ["entropy", "xcorr"],
}


def test_a_built_in_geometric_sweep_passes_the_config_check():
    Study(copy.deepcopy(BASE))


def test_drift_on_an_nrtk_geometric_sweep_fails_naming_the_sweep():
    pytest.importorskip("nrtk")
    config = copy.deepcopy(BASE)
    config["perturbations"]["shift"] = {
        "kind": "nrtk",
        "levels": [16],
        "params": {
            "class_path": "nrtk.impls.perturb_image.geometric.random.RandomTranslationPerturber",
            "level_param": "max_translation_limit",
        },
    }
    with pytest.raises(ConfigError, match=r"perturbations\.shift.*'shift'.*xcorr.*drawn inside"):
        Study(config)


def test_mask_metrics_on_a_geometric_copy_use_the_moved_mask(tmp_path):
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[1:3, 1:3] = 255
    images = np.full((2, 8, 8, 3), 100, dtype=np.uint8)
    maps = np.zeros((2, 1, 8, 8), dtype=np.float32)
    maps[:, 0, 5, 2] = 1.0  # the peak lies on the mask moved down by 4 px, not on the mask
    _write_shard(tmp_path, "copy", maps, images, mask=encode_png(mask))
    out = tmp_path / "out.parquet"
    for spec, expected in (
        ({"kind": "translation", "params": {"direction": "down"}}, 1.0),
        (None, 0.0),  # no transform: the mask stays where it is
    ):
        score_sweep(
            [str(tmp_path / "copy.safetensors")],
            [str(tmp_path / "copy.parquet")],
            str(out),
            reference_path=None,
            metric_specs=[{"name": "pointing_game"}],
            conditions=[Condition("d", "shift", "0.5")],
            model="m",
            method="peak",
            perturbation_spec=spec,
        )
        assert (read_table(out)["value"] == expected).all(), spec
