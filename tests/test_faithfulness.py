"""Model-based metrics (ssr_crop, deletion_auc, insertion_auc) against hand-computed values
on a toy classifier whose class-0 probability is a known function of the pixels."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_CLASSES, run_snakemake, tiny_images, tiny_study, write_config
from torch import nn

from salsweep.condition import Condition
from salsweep.config import ConfigError, Study
from salsweep.faithfulness import (
    MODEL_METRIC_INFO,
    MODEL_METRIC_PARAMS,
    MODEL_METRICS,
    check_model_metric,
    model_metric_label,
    score_model_metrics,
)
from salsweep.faithfulness._curves import saliency_ranks, step_counts
from salsweep.faithfulness.insertion_auc import blur_images, gkern
from salsweep.io import METRIC_COLUMNS, SaliencyMaps, encode_png, save_maps, write_table
from salsweep.models.base import Classifier

GAIN = 10.0


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class QuadrantClassifier(Classifier):
    """p(class 0) = sigmoid(10 * (q - 0.5)), q = mean of the top-left quadrant / 255."""

    name = "quadrant"

    def __init__(self) -> None:
        super().__init__(["quadrant", "other"])
        self.unused = nn.Parameter(torch.zeros(1))  # Classifier.device reads a parameter
        self.batches: list[int] = []

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        self.batches.append(images.shape[0])
        h, w = images.shape[1:3]
        q = images[:, : h // 2, : w // 2].mean(dim=(1, 2, 3)) / 255.0
        z = GAIN * (q - 0.5)
        return torch.stack([z, torch.zeros_like(z)], dim=1)


def trapezoid(curve, dx):
    """The trapezoid rule for equally spaced points (np.trapezoid needs numpy 2)."""
    return dx * (sum(curve) - (curve[0] + curve[-1]) / 2)


def p_quadrant(image: np.ndarray) -> float:
    h, w = image.shape[:2]
    return float(sigmoid(GAIN * (image[: h // 2, : w // 2].mean() / 255.0 - 0.5)))


def quadrant_image(size: int = 4) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[: size // 2, : size // 2] = 255
    return image


def quadrant_map(size: int = 4) -> np.ndarray:
    m = np.zeros((size, size), dtype=np.float32)
    m[: size // 2, : size // 2] = 1.0
    return m


def score(name, images, maps, targets=None, batch_size=64, **params):
    targets = np.zeros(len(images), dtype=np.int64) if targets is None else targets
    metric = MODEL_METRICS.get(name)(**params)
    return metric.score(QuadrantClassifier(), images, maps, targets, batch_size)


# -- params -----------------------------------------------------------------------------
def test_registry_params_and_directions_agree():
    assert set(MODEL_METRICS.names()) == set(MODEL_METRIC_PARAMS) == set(MODEL_METRIC_INFO)
    assert {n: MODEL_METRICS.get(n).higher_is_better for n in MODEL_METRICS.names()} == {
        "ssr_crop": False,
        "deletion_auc": False,
        "insertion_auc": True,
    }


def test_labels_fill_in_defaults():
    assert model_metric_label("ssr_crop") == "ssr_crop@mean_std"
    assert model_metric_label("ssr_crop", {"threshold": {"fraction": 0.5}}) == "ssr_crop@f0.5"
    assert model_metric_label("ssr_crop", {"threshold": {"percentile": 90}}) == "ssr_crop@p90"
    assert model_metric_label("deletion_auc") == "deletion_auc@0,32"
    assert model_metric_label("deletion_auc", {"fill": [1, 2, 3], "steps": 8}) == (
        "deletion_auc@1-2-3,8"
    )
    assert model_metric_label("insertion_auc", {"steps": 32}) == "insertion_auc@11,5,32"


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("deletion_auc", {"steps": 0}, "'steps'"),
        ("deletion_auc", {"steps": True}, "'steps'"),
        ("deletion_auc", {"fill": 256}, "'fill'"),
        ("deletion_auc", {"fill": [0, 0]}, "'fill'"),
        ("deletion_auc", {"fill": "black"}, "'fill'"),
        ("insertion_auc", {"blur_klen": 10}, "'blur_klen'"),
        ("insertion_auc", {"blur_sigma": 0}, "'blur_sigma'"),
        ("insertion_auc", {"fill": 0}, "unknown parameter 'fill'"),
        ("ssr_crop", {"threshold": {"percentile": 100}}, "'threshold'"),
        ("ssr_crop", {"threshold": {"fraction": 0}}, "'threshold'"),
        ("ssr_crop", {"threshold": "otsu"}, "'threshold'"),
        ("aopc", {}, "unknown model metric 'aopc'"),
    ],
)
def test_bad_params_name_the_param(name, params, needle):
    with pytest.raises(ValueError, match=needle):
        check_model_metric(name, params)


def test_bad_inputs_are_refused():
    images = quadrant_image()[None]
    with pytest.raises(ValueError, match="maps must be"):
        score("deletion_auc", images, np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        score("deletion_auc", images, np.full((1, 4, 4), np.nan))
    with pytest.raises(ValueError, match="target outside"):
        score("deletion_auc", images, quadrant_map()[None], np.array([2]))
    with pytest.raises(ValueError, match="listed twice"):
        score_model_metrics(
            [{"name": "ssr_crop"}, {"name": "ssr_crop"}],
            QuadrantClassifier(),
            images,
            quadrant_map()[None],
            np.array([0]),
        )


# -- curves -----------------------------------------------------------------------------
def test_ranks_are_descending_with_ties_in_raster_order():
    m = np.array([[[0.5, 1.0], [0.5, -1.0]]])
    assert saliency_ranks(m).tolist() == [[1, 0, 2, 3]]
    assert saliency_ranks(np.zeros((1, 2, 2))).tolist() == [[0, 1, 2, 3]]
    assert step_counts(16, 4).tolist() == [0, 4, 8, 12, 16]
    assert step_counts(10, 4).tolist() == [0, 2, 5, 7, 10]
    assert step_counts(4, 100).tolist() == [0, 1, 2, 3, 4]  # at most one step per pixel


def test_deletion_of_the_quadrant_by_hand():
    images = quadrant_image()[None]
    hi, lo = sigmoid(GAIN * 0.5), sigmoid(-GAIN * 0.5)
    # Perfect map, 4 steps of 4 pixels: the whole quadrant goes black in step 1.
    got = score("deletion_auc", images, quadrant_map()[None], steps=4)
    assert got[0] == pytest.approx(0.25 * ((hi + lo) / 2 + 3 * lo), rel=1e-6)
    # Inverted map: the quadrant goes last, q stays 1 until x = 1.
    got = score("deletion_auc", images, -quadrant_map()[None], steps=4)
    assert got[0] == pytest.approx(0.25 * (3 * hi + (hi + lo) / 2), rel=1e-6)
    # One pixel per step: after j quadrant pixels, q = (4 - j) / 4.
    curve = [sigmoid(GAIN * ((4 - j) / 4 - 0.5)) for j in range(5)] + [lo] * 12
    got = score("deletion_auc", images, quadrant_map()[None], steps=16)
    assert got[0] == pytest.approx(trapezoid(curve, 1 / 16), rel=1e-6)


def test_deletion_fill_and_target():
    images = quadrant_image()[None]
    # Deleting to white leaves q = 1: the curve is flat at p(q=1).
    got = score("deletion_auc", images, quadrant_map()[None], steps=4, fill=255)
    assert got[0] == pytest.approx(sigmoid(GAIN * 0.5), rel=1e-6)
    # The image's mean colour is 255/4 per channel: q falls to 0.25.
    got = score("deletion_auc", images, quadrant_map()[None], steps=4, fill="mean")
    hi, mid = sigmoid(GAIN * 0.5), sigmoid(GAIN * (0.25 - 0.5))
    assert got[0] == pytest.approx(0.25 * ((hi + mid) / 2 + 3 * mid), rel=1e-5)
    # Target 1 has p = 1 - p(class 0).
    got = score("deletion_auc", images, quadrant_map()[None], np.array([1]), steps=4)
    lo = sigmoid(-GAIN * 0.5)
    assert got[0] == pytest.approx(1 - 0.25 * ((hi + lo) / 2 + 3 * lo), rel=1e-6)


def test_gkern_is_rises_kernel_and_blur_reflects():
    k = gkern(11, 5)
    assert k.shape == (11, 11) and k.sum() == pytest.approx(1.0)
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1]) and k.argmax() == 60
    assert gkern(1, 5).tolist() == [[1.0]]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 5, 6, 3), dtype=np.uint8)
    kern = gkern(3, 1.0)
    padded = np.pad(images.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)), "symmetric")
    expected = np.zeros(images.shape)
    for dy in range(3):
        for dx in range(3):
            expected += kern[dy, dx] * padded[:, dy : dy + 5, dx : dx + 6]
    assert np.allclose(blur_images(images, 3, 1.0), expected, atol=1e-3)
    flat = np.full((1, 4, 4, 3), 77, dtype=np.uint8)
    assert np.allclose(blur_images(flat, 11, 5.0), 77.0, atol=1e-3)


def test_insertion_by_hand():
    size = 6
    images = quadrant_image(size)[None]
    blurred = blur_images(images, 3, 1.0)[0]
    m = quadrant_map(size)
    order = np.argsort(-m.ravel(), kind="stable")
    steps = 3
    curve = []
    for k in (0, 12, 24, 36):  # 36 pixels in 3 steps of 12
        step = blurred.reshape(-1, 3).copy()
        step[order[:k]] = images[0].reshape(-1, 3)[order[:k]]
        curve.append(p_quadrant(step.reshape(size, size, 3)))
    got = score("insertion_auc", images, m[None], steps=steps, blur_klen=3, blur_sigma=1.0)
    assert got[0] == pytest.approx(trapezoid(curve, 1 / 3), rel=1e-5)
    assert curve[1] == pytest.approx(p_quadrant(images[0]), rel=1e-6)  # quadrant back first


def test_ssr_crop_by_hand():
    images = quadrant_image()[None]
    hi = sigmoid(GAIN * 0.5)
    # The quadrant: a = 4/16, the crop is all white so q = 1.
    got = score("ssr_crop", images, quadrant_map()[None])
    assert got[0] == pytest.approx(math.log(0.25) - math.log(hi), rel=1e-6)
    # One pixel of 64: a = 1/64 is floored at 0.05; the pixel is white, so the crop is.
    image8 = quadrant_image(8)[None]
    m = np.zeros((1, 8, 8))
    m[0, 1, 2] = 1.0
    got = score("ssr_crop", image8, m)
    assert got[0] == pytest.approx(math.log(0.05) - math.log(hi), rel=1e-6)
    # A constant map selects nothing: a = 1 and p is the whole image's.
    got = score("ssr_crop", images, np.zeros((1, 4, 4)))
    assert got[0] == pytest.approx(-math.log(p_quadrant(images[0])), rel=1e-6)
    # A box [0:2, 0:4] (fraction rule keeps the two top rows): half the image, and the
    # top-left quadrant of the resized crop is the crop's left half: white, q = 1.
    m = np.array([[[1.0, 0.9, 0.8, 0.7], [0.9, 0.8, 0.7, 0.6], [0, 0, 0, 0], [0, 0, 0, 0.1]]])
    got = score("ssr_crop", images, m, threshold={"fraction": 0.55})
    assert got[0] == pytest.approx(math.log(0.5) - math.log(hi), rel=1e-6)


def test_batches_mix_maps_and_do_not_change_scores():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    maps = rng.random((3, 8, 8))
    targets = np.array([0, 1, 0])
    specs = [{"name": n, "steps": 5} for n in ("deletion_auc", "insertion_auc")]
    specs.append({"name": "ssr_crop"})
    small = score_model_metrics(specs, QuadrantClassifier(), images, maps, targets, 1)
    classifier = QuadrantClassifier()
    large = score_model_metrics(specs, classifier, images, maps, targets, 7)
    assert list(large) == ["deletion_auc@0,5", "insertion_auc@11,5,5", "ssr_crop@mean_std"]
    for label in small:
        assert np.allclose(small[label], large[label], rtol=1e-6)
    # 3 maps x 6 steps = 18 step images per curve metric, in batches of up to 7.
    assert classifier.batches == [7, 7, 4, 7, 7, 4, 3]


def test_the_quadrant_map_beats_random_and_inverted_maps():
    rng = np.random.default_rng(2)
    size = 8
    n = 6
    images = rng.integers(0, 80, (n, size, size, 3), dtype=np.uint8)
    images[:, : size // 2, : size // 2] = 240
    perfect = np.broadcast_to(quadrant_map(size), (n, size, size)) + 0.01 * rng.random(
        (n, size, size)
    )
    random = rng.random((n, size, size))
    inverted = -perfect
    results = {
        name: [score(name, images, m, **params).mean() for m in (perfect, random, inverted)]
        for name, params in (
            ("deletion_auc", {"steps": 16}),
            ("insertion_auc", {"steps": 16}),
            ("ssr_crop", {}),
        )
    }
    d_perfect, d_random, d_inverted = results["deletion_auc"]
    i_perfect, i_random, i_inverted = results["insertion_auc"]
    s_perfect, s_random, s_inverted = results["ssr_crop"]
    assert d_perfect < d_random < d_inverted
    assert i_perfect > i_random > i_inverted
    assert s_perfect < s_random and s_perfect < s_inverted
    for values in results.values():
        assert np.isfinite(values).all()


# -- config -----------------------------------------------------------------------------
BASE = {
    "study": {"seed": 0, "device": "cpu"},
    "datasets": {"digits": {"source": "sklearn_digits"}},
    "models": {"cnn": {"source": "train", "datasets": ["digits"]}},
    "perturbations": {"gaussian_blur": {"levels": [3]}},
    "saliency": {"methods": {"sliding_window": {}}},
}


def test_study_splits_map_and_model_metrics():
    config = dict(BASE, metrics=["entropy", {"name": "deletion_auc", "steps": 8}, "ssr_crop"])
    study = Study(config)
    assert study.metric_specs() == [{"name": "entropy"}]
    assert study.model_metric_specs() == [
        {"name": "deletion_auc", "steps": 8},
        {"name": "ssr_crop"},
    ]
    assert Study(dict(BASE, metrics=["xcorr"])).model_metric_specs() == []


@pytest.mark.parametrize(
    ("metrics", "key", "needle"),
    [
        (["entropy", {"name": "insertion_auc", "steps": 0}], "metrics[1]", "'steps'"),
        (["ssr_crop", {"name": "ssr_crop", "threshold": "mean_std"}], "metrics[1]", "twice"),
        (["aopc"], "metrics[0]", "ssr_crop"),  # the error lists model metrics too
    ],
)
def test_study_names_a_bad_model_metric(metrics, key, needle):
    with pytest.raises(ConfigError) as error:
        Study(dict(BASE, metrics=metrics))
    assert error.value.key == key
    assert needle in str(error.value)


# -- stage and pipeline -----------------------------------------------------------------
def test_stage_writes_a_long_table(tmp_path, standins, monkeypatch):
    from salsweep.stages.model_metrics import score_model_sweep

    images, labels = tiny_images(3, seed=3)
    ids = [f"im-{i}" for i in range(3)]
    table = pd.DataFrame(
        {"image_id": ids, "image": [encode_png(im) for im in images], "label": labels}
    )
    write_table(table, tmp_path / "images.parquet")
    (tmp_path / "classes.json").write_text(json.dumps(TINY_CLASSES))
    rng = np.random.default_rng(0)
    maps = SaliencyMaps(
        maps=rng.random((3, 2, 16, 16)).astype(np.float32),
        targets=np.stack([labels, (labels + 1) % 3], axis=1).astype(np.int64),
        image_ids=ids,
        target_names=["truth", "pred"],
        method="vanilla_gradient",
        signed=False,
        class_names=list(TINY_CLASSES),
    )
    save_maps(maps, tmp_path / "maps.safetensors")

    def score(out_name: str) -> pd.DataFrame:
        score_model_sweep(
            [str(tmp_path / "maps.safetensors")],
            [str(tmp_path / "images.parquet")],
            str(tmp_path / "classes.json"),
            str(tmp_path / out_name),
            metric_specs=[{"name": "deletion_auc", "steps": 4}, {"name": "ssr_crop"}],
            conditions=[Condition("tiny", "clean", "0")],
            model="vit",
            method="vanilla_gradient",
            spec={"source": "hf", "path": str(standins["vit"])},
            device="cpu",
            weights_path=None,
            batch_size=4,
            deterministic=True,
        )
        return pd.read_parquet(tmp_path / out_name)

    out = score("out.parquet")
    # Calls of 3 (image, target) pairs split image 1 across calls; each value stays its own.
    import salsweep.stages.model_metrics as stage

    monkeypatch.setattr(stage, "MAPS_PER_CALL", 3)
    pd.testing.assert_frame_equal(score("small_calls.parquet"), out)
    assert list(out.columns) == METRIC_COLUMNS
    assert len(out) == 3 * 2 * 2
    assert set(out["metric"]) == {"deletion_auc@0,4", "ssr_crop@mean_std"}
    assert np.isfinite(out["value"]).all()
    deletion = out[out["metric"] == "deletion_auc@0,4"]["value"]
    assert deletion.between(0, 1).all()


def test_model_metric_jobs_exist_only_when_listed(tmp_path, standins):
    from test_pipeline import planned_jobs

    base = tiny_study(standins, metrics=["entropy"])
    without = run_snakemake(tmp_path, write_config(tmp_path, base, "a.yaml"), "-n")
    assert "model_metrics" not in planned_jobs(without)
    with_model = dict(base, metrics=["entropy", "ssr_crop"])
    planned = planned_jobs(run_snakemake(tmp_path, write_config(tmp_path, with_model), "-n"))
    # one job per map-metric job: (dataset, model) x method x sweep (clean, blur, salt) x shard
    assert planned["model_metrics"] == planned["map_metrics"] == 2 * 2 * 3
    only_model = dict(base, metrics=["ssr_crop"])
    planned = planned_jobs(run_snakemake(tmp_path, write_config(tmp_path, only_model), "-n"))
    assert planned["model_metrics"] == 2 * 2 * 3
    assert "map_metrics" not in planned


@pytest.mark.e2e
def test_model_metrics_run_in_the_pipeline(tmp_path, standins):
    config = tiny_study(
        standins,
        datasets={
            "tiny": {
                "source": "hf",
                "path": "parquet",
                "data_files": {"test": str(standins["parquet"])},
                "split": "test",
                "subset": 3,
            }
        },
        models={"vit": {"source": "hf", "path": str(standins["vit"]), "datasets": ["tiny"]}},
        perturbations={"gaussian_blur": {"levels": [3]}},
        saliency={"targets": ["truth", "pred"], "methods": {"vanilla_gradient": {}}},
        metrics=[
            "entropy",
            "ssr_crop",
            {"name": "deletion_auc", "steps": 8},
            {"name": "insertion_auc", "steps": 8},
        ],
    )
    configfile = write_config(tmp_path, config)
    run_snakemake(tmp_path, configfile, "--cores", "2", "results/tables/metrics.parquet")
    metrics = pd.read_parquet(tmp_path / "results/tables/metrics.parquet")
    labels = ["ssr_crop@mean_std", "deletion_auc@0,8", "insertion_auc@11,5,8"]
    model_rows = metrics[metrics["metric"].isin(labels)]
    # 3 images x 2 targets x 2 conditions (clean, blur 3) x 1 method, per metric
    assert model_rows.groupby("metric").size().to_dict() == {label: 12 for label in labels}
    assert np.isfinite(model_rows["value"]).all()
    aucs = model_rows[model_rows["metric"] != "ssr_crop@mean_std"]["value"]
    assert aucs.between(0, 1).all()
    # ssr = log(max(a, 0.05)) - log p >= log 0.05 - 0
    assert (model_rows[model_rows["metric"] == "ssr_crop@mean_std"]["value"] >= np.log(0.05)).all()
    assert (metrics["metric"] == "entropy").sum() == 12
    # the map-metric shards hold map metrics only
    shard = tmp_path / "results/metrics/tiny/vit/vanilla_gradient/clean/shard-0.parquet"
    assert set(pd.read_parquet(shard)["metric"]) == {"entropy"}
