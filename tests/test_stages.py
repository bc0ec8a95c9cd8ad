"""Stage functions without Snakemake: sharding, tables, aggregation, metric scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CLASSES, tiny_images
from scipy import stats

from salsweep.condition import CLEAN, CLEAN_LEVEL, Condition, format_level
from salsweep.io import (
    PREDICTION_COLUMNS,
    SaliencyMaps,
    encode_png,
    load_maps,
    read_table,
    save_maps,
    write_json,
    write_table,
)
from salsweep.seeding import derive_seed, item_rng
from salsweep.stages.aggregate import summarize
from salsweep.stages.classify import predictions_table
from salsweep.stages.examples import collect_examples
from salsweep.stages.map_metrics import score_sweep
from salsweep.stages.perturb import perturb_shard, shard_slice
from salsweep.stats import mean_ci, wilson_interval


@pytest.mark.parametrize(("n", "k"), [(10, 3), (7, 7), (3, 5), (0, 2), (1000, 16)])
def test_shards_partition_the_rows_like_array_split(n, k):
    slices = [shard_slice(n, k, i) for i in range(k)]
    expected = np.array_split(np.arange(n), k)
    assert [list(range(n))[s] for s in slices] == [list(e) for e in expected]


def test_shard_outside_range_is_an_error():
    with pytest.raises(ValueError, match="shard 3 outside 0..2"):
        shard_slice(10, 3, 3)


def test_levels_and_seeds_are_canonical():
    assert [format_level(x) for x in (3, 3.0, 0.05, 1e-5, 15.25)] == [
        "3",
        "3",
        "0.05",
        "0.00001",
        "15.25",
    ]
    assert derive_seed(0, "d", "salt", "0.05", "img-1") == derive_seed(
        0, "d", "salt", "0.05", "img-1"
    )
    assert derive_seed(0, "d", "salt", "0.05", "img-1") != derive_seed(
        0, "d", "salt", "0.05", "img-2"
    )
    a = item_rng(0, "d", "salt", 0.05, "x").random(3)
    b = item_rng(0, "d", "salt", "0.05", "x").random(3)
    assert np.array_equal(a, b)


def _image_table(n: int, size: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "image_id": [f"im-{i}" for i in range(n)],
            "image": [
                encode_png(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(n)
            ],
            "label": np.arange(n) % 2,
            "mask": [None] * n,
        }
    )


def test_a_condition_owns_its_level_text_and_value():
    condition = Condition.from_wildcards(
        {"dataset": "d", "perturbation": "salt", "level": "0.05", "shard": "0"}
    )
    assert (condition.dataset, condition.perturbation, condition.level) == ("d", "salt", "0.05")
    assert condition.value == 0.05 and condition.table_level == 0.05
    blur = Condition("d", "gaussian_blur", format_level(3.0))
    assert blur.level == "3" and blur.value == 3 and isinstance(blur.value, int)
    assert isinstance(blur.table_level, float) and not blur.is_clean
    assert Condition("d", CLEAN, CLEAN_LEVEL).is_clean
    for text in ("3.0", "0.050", "abc", "nan"):
        with pytest.raises(ValueError, match=f"d/salt: level '{text}' is not a canonical"):
            Condition("d", "salt", text)


def test_examples_need_one_condition_per_file(tmp_path):
    with pytest.raises(ValueError, match="2 map files and 2 image files for 1 conditions"):
        collect_examples(
            ["a", "b"],
            ["c", "d"],
            str(tmp_path / "out.parquet"),
            conditions=[Condition("d", CLEAN, CLEAN_LEVEL)],
            n_examples=1,
            model="m",
            method="rise",
        )


def test_noise_depends_on_the_image_not_on_the_sharding(tmp_path):
    source = tmp_path / "eval.parquet"
    write_table(_image_table(9), source)
    common = dict(condition=Condition("d", "salt", "0.3"), kind="salt", params={}, seed=5)
    perturb_shard(str(source), str(tmp_path / "one.parquet"), shard=0, n_shards=1, **common)
    for shard in range(4):
        perturb_shard(
            str(source), str(tmp_path / f"s{shard}.parquet"), shard=shard, n_shards=4, **common
        )
    whole = read_table(tmp_path / "one.parquet")
    parts = pd.concat([read_table(tmp_path / f"s{s}.parquet") for s in range(4)], ignore_index=True)
    assert whole["image_id"].tolist() == parts["image_id"].tolist()
    assert whole["image"].tolist() == parts["image"].tolist()
    assert whole["image"].tolist() != read_table(source)["image"].tolist()


def test_perturb_error_names_the_image(tmp_path):
    table = _image_table(2)
    table.loc[1, "image"] = encode_png(np.zeros((8, 8), dtype=np.uint8))  # grayscale slipped in
    write_table(table, tmp_path / "eval.parquet")
    with pytest.raises(ValueError, match="im-1"):
        perturb_shard(
            str(tmp_path / "eval.parquet"),
            str(tmp_path / "out.parquet"),
            condition=Condition("d", "gaussian_blur", "3"),
            kind="gaussian_blur",
            params={},
            seed=0,
            shard=0,
            n_shards=1,
        )


def test_predictions_table():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32)
    condition = Condition("d", "salt", "0.1")
    table = predictions_table(condition, "m", ["a", "b"], np.array([0, 1]), probs)
    assert list(table.columns) == PREDICTION_COLUMNS
    assert table["pred"].tolist() == [0, 2]
    assert table["correct"].tolist() == [True, False]
    assert np.allclose(table["prob_label"], [0.7, 0.3])
    assert np.allclose(table["prob_pred"], [0.7, 0.6])
    assert table["level"].tolist() == [0.1, 0.1]


def test_mean_ci_matches_scipy_t_interval():
    values = np.array([1.0, 2.0, 4.0, 8.0, np.nan])
    n, mean, low, high = mean_ci(values)
    finite = values[np.isfinite(values)]
    expected = stats.t.interval(0.95, len(finite) - 1, loc=finite.mean(), scale=stats.sem(finite))
    assert n == 4 and mean == pytest.approx(3.75)
    assert (low, high) == pytest.approx(expected)
    assert mean_ci(np.array([np.nan]))[0] == 0


def test_wilson_interval_hand_case():
    # 8 of 10: Wilson 95% interval is (0.4902, 0.9433)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_summary_has_metric_and_accuracy_rows():
    predictions = pd.DataFrame(
        {
            "dataset": "d",
            "model": "m",
            "perturbation": "clean",
            "level": 0.0,
            "image_id": ["a", "b", "c", "d"],
            "label": 0,
            "pred": [0, 0, 1, 0],
            "prob_label": 0.5,
            "prob_pred": 0.5,
            "correct": [True, True, False, True],
        }
    )
    metrics = pd.DataFrame(
        {
            "dataset": "d",
            "model": "m",
            "perturbation": "clean",
            "level": 0.0,
            "method": "sw",
            "target": "truth",
            "image_id": ["a", "b", "c", "d"],
            "metric": "entropy",
            "value": [1.0, 2.0, 3.0, np.nan],
        }
    )
    summary = summarize(predictions, metrics)
    accuracy = summary[summary["metric"] == "accuracy"].iloc[0]
    assert accuracy["mean"] == 0.75 and accuracy["n"] == 4
    entropy = summary[summary["metric"] == "entropy"].iloc[0]
    assert entropy["n"] == 3 and entropy["mean"] == pytest.approx(2.0)


def test_score_sweep_compares_with_the_clean_map(tmp_path):
    rng = np.random.default_rng(1)
    clean = rng.uniform(-1, 1, (3, 2, 6, 6)).astype(np.float32)
    perturbed = clean.copy()
    perturbed[1] = -perturbed[1]  # image 1's maps flip sign: xcorr -1
    ids = ["a", "b", "c"]
    for name, maps in (("clean", clean), ("pert", perturbed)):
        save_maps(
            SaliencyMaps(maps, np.zeros((3, 2), np.int64), ids, ["truth", "pred"], "m", True),
            tmp_path / f"{name}.safetensors",
        )
    mask = encode_png((np.arange(36).reshape(6, 6) % 2 * 255).astype(np.uint8))
    images = _image_table(3, size=6).assign(image_id=ids, mask=[mask] * 3)
    write_table(images, tmp_path / "images.parquet")
    score_sweep(
        [str(tmp_path / "pert.safetensors")],
        [str(tmp_path / "images.parquet")],
        str(tmp_path / "out.parquet"),
        reference_path=str(tmp_path / "clean.safetensors"),
        metric_specs=[{"name": "xcorr"}, {"name": "entropy"}, {"name": "gt_coverage"}],
        conditions=[Condition("d", "salt", "0.1")],
        model="m",
        method="sw",
    )
    out = read_table(tmp_path / "out.parquet")
    xcorr = out[out["metric"] == "xcorr"].set_index(["image_id", "target"])["value"]
    assert xcorr[("a", "truth")] == pytest.approx(1.0)
    assert xcorr[("b", "pred")] == pytest.approx(-1.0)
    assert set(out["metric"]) == {"xcorr", "entropy", "gt_coverage@mean_std"}
    assert len(out) == 3 * 2 * 3


def test_maps_round_trip(tmp_path):
    maps = SaliencyMaps(
        np.ones((2, 1, 4, 5), np.float32),
        np.array([[3], [1]]),
        ["x", "y"],
        ["truth"],
        "rise",
        False,
        ["a", "b", "c", "d"],
    )
    save_maps(maps, tmp_path / "m.safetensors")
    back = load_maps(tmp_path / "m.safetensors")
    assert back.image_ids == ["x", "y"] and back.class_names == ["a", "b", "c", "d"]
    assert np.array_equal(back.maps, maps.maps) and back.targets.tolist() == [[3], [1]]


def test_mask_metrics_skip_only_the_images_without_a_mask(tmp_path):
    rng = np.random.default_rng(2)
    maps = rng.uniform(0, 1, (3, 1, 6, 6)).astype(np.float32)
    ids = ["a", "b", "c"]
    save_maps(
        SaliencyMaps(maps, np.zeros((3, 1), np.int64), ids, ["truth"], "m", False),
        tmp_path / "maps.safetensors",
    )
    mask = encode_png((np.arange(36).reshape(6, 6) % 2 * 255).astype(np.uint8))
    images = _image_table(3, size=6).assign(image_id=ids, mask=[mask, None, mask])
    write_table(images, tmp_path / "images.parquet")
    score_sweep(
        [str(tmp_path / "maps.safetensors")],
        [str(tmp_path / "images.parquet")],
        str(tmp_path / "out.parquet"),
        reference_path=None,
        metric_specs=[{"name": "entropy"}, {"name": "gt_coverage"}],
        conditions=[Condition("d", "clean", "0")],
        model="m",
        method="sw",
    )
    out = read_table(tmp_path / "out.parquet")
    assert sorted(out[out["metric"] == "entropy"]["image_id"]) == ["a", "b", "c"]
    assert sorted(out[out["metric"] == "gt_coverage@mean_std"]["image_id"]) == ["a", "c"]


def test_classify_writes_full_probability_vectors_beside_the_predictions(tmp_path, standins):
    from salsweep.io import load_probs
    from salsweep.stages.classify import classify_sweep

    images, labels = tiny_images(5, size=16, seed=4)
    write_table(
        pd.DataFrame(
            {
                "image_id": [f"i{k}" for k in range(5)],
                "image": [encode_png(image) for image in images],
                "label": labels,
                "mask": pd.Series([None] * 5, dtype=object),
            }
        ),
        tmp_path / "images.parquet",
    )
    write_json(TINY_CLASSES, tmp_path / "classes.json")
    classify_sweep(
        [str(tmp_path / "images.parquet")],
        str(tmp_path / "classes.json"),
        [str(tmp_path / "pred.parquet")],
        conditions=[Condition("tiny", CLEAN, CLEAN_LEVEL)],
        model="vit",
        spec={"source": "hf", "path": str(standins["vit"])},
        device="cpu",
        weights_path=None,
        batch_size=2,
        deterministic=True,
        probs_paths=[str(tmp_path / "probs.safetensors")],
    )
    predictions = read_table(tmp_path / "pred.parquet")
    image_ids, probs = load_probs(tmp_path / "probs.safetensors")
    assert image_ids == predictions["image_id"].tolist()
    assert probs.shape == (5, len(TINY_CLASSES)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs.argmax(axis=1) == predictions["pred"].to_numpy()).all()
    rows = np.arange(5)
    np.testing.assert_array_equal(
        probs[rows, predictions["pred"]].astype(np.float64), predictions["prob_pred"]
    )
