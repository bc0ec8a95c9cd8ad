"""The report's "Scale" tables (sanity.csv, truth_vs_pred.csv) and the sanity figure's
examples table, from hand-made tables shaped as contracts C3/C4 say."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salsweep.io import (
    EXAMPLE_COLUMNS,
    SaliencyMaps,
    encode_png,
    read_table,
    save_maps,
    write_table,
)
from salsweep.stages.sanity_examples import collect_sanity_examples
from salsweep.stages.scale_tables import (
    SANITY_COLUMNS,
    SANITY_XCORR_THRESHOLD,
    TRUTH_VS_PRED_COLUMNS,
    sanity_table,
    truth_vs_pred_table,
)


def _floor_row(method, mean, low, high, target="truth", floor="randomised_all", metric="xcorr"):
    return dict(dataset="d", model="m", perturbation=f"floor:{floor}", level=math.nan,
                method=method, target=target, metric=metric, n=8.0, mean=mean, ci_low=low,
                ci_high=high)  # fmt: skip


def test_sanity_table_passes_only_where_the_ci_lies_below_the_threshold():
    assert SANITY_XCORR_THRESHOLD == 0.5
    summary = pd.DataFrame(
        [
            _floor_row("below", 0.30, 0.20, 0.49),
            _floor_row("at", 0.40, 0.30, 0.50),  # the bound touches it: not below
            _floor_row("above", 0.70, 0.60, 0.80),
            _floor_row("mean_below_ci_above", 0.45, 0.35, 0.55),
            _floor_row("one_image", 0.10, math.nan, math.nan),
            _floor_row("negative", -0.20, -0.30, -0.10),
            # The predicted target's row and other floors/metrics do not decide it.
            _floor_row("below", 0.90, 0.85, 0.95, target="pred"),
            _floor_row("above", 0.10, 0.05, 0.15, floor="randomised_head"),
            _floor_row("above", 0.10, 0.05, 0.15, metric="ssd"),
            _floor_row("pred_only", 0.10, 0.05, 0.15, target="pred"),
        ]
    )
    table = sanity_table(summary)
    assert list(table.columns) == SANITY_COLUMNS
    table = table.set_index("method")
    assert table["passes"].to_dict() == {
        "above": False,
        "at": False,
        "below": True,
        "mean_below_ci_above": False,
        "negative": True,
        "one_image": False,
        "pred_only": True,
    }
    assert table.loc["below", "target"] == "truth" and table.loc["below", "ci_high"] == 0.49
    assert table.loc["pred_only", "target"] == "pred"
    assert (table["threshold"] == 0.5).all()


def test_sanity_table_is_empty_without_floor_rows():
    summary = pd.DataFrame([_floor_row("x", 0.1, 0.0, 0.2)]).assign(perturbation="clean")
    table = sanity_table(summary)
    assert table.empty and list(table.columns) == SANITY_COLUMNS


def test_truth_vs_pred_table_is_seed_001s_table_for_the_example_image():
    rows = []
    for perturbation, level in (("salt", 0.05), ("clean", 0.0), ("gaussian_blur", 5.0),
                                ("gaussian_blur", 1.0)):  # fmt: skip
        for image_id in ("b", "a"):
            for target in ("truth", "pred"):
                values = (("entropy", 1.0 + level), ("truth_pred_ssd", level / 10),
                          ("truth_pred_xcorr", 1 - level / 10), ("ssd", 9.0))  # fmt: skip
                for metric, value in values:
                    if target == "pred" and metric.startswith("truth_pred"):
                        continue  # scored on the truth-target row only (C4)
                    value = (
                        value + (100 if image_id == "a" else 0) + (50 if target == "pred" else 0)
                    )
                    rows.append(dict(dataset="d", model="m", perturbation=perturbation,
                                     level=level, method="rise", target=target,
                                     image_id=image_id, metric=metric, value=value))  # fmt: skip
    metrics = pd.DataFrame(rows)
    examples = pd.DataFrame(
        {"dataset": "d", "model": "m", "method": "rise", "image_id": ["b", "b", "a"]}
    )  # "b" is the first example image
    table = truth_vs_pred_table(metrics, examples)
    assert list(table.columns) == TRUTH_VS_PRED_COLUMNS
    assert table["perturb_config"].tolist() == [
        "clean",
        "gaussian_blur=1",
        "gaussian_blur=5",
        "salt=0.05",
    ]
    assert (table["image_id"] == "b").all()
    np.testing.assert_allclose(table["entropy"], [1.0, 2.0, 6.0, 1.05])  # the truth map's
    np.testing.assert_allclose(table["ssd"], [0.0, 0.1, 0.5, 0.005])
    np.testing.assert_allclose(table["xcorr"], [1.0, 0.9, 0.5, 0.995])


def test_truth_vs_pred_table_without_those_metrics_has_its_columns_and_no_rows():
    metrics = pd.DataFrame([dict(dataset="d", model="m", perturbation="clean", level=0.0,
                                 method="rise", target="truth", image_id="a", metric="entropy",
                                 value=1.0)])  # fmt: skip
    examples = pd.DataFrame(
        {"dataset": ["d"], "model": ["m"], "method": ["rise"], "image_id": ["a"]}
    )
    table = truth_vs_pred_table(metrics[metrics["metric"] != "entropy"], examples)
    assert table.empty and list(table.columns) == TRUTH_VS_PRED_COLUMNS


def _maps(path, method, ids, offset, floor_ids=None):
    maps = np.arange(len(ids) * 2 * 4 * 4, dtype=np.float32).reshape(len(ids), 2, 4, 4) + offset
    save_maps(
        SaliencyMaps(maps=maps, targets=np.array([[1, 2]] * len(ids)), image_ids=list(ids),
                     target_names=["truth", "pred"], method=method, signed=True,
                     class_names=["zero", "one", "two"]),
        path,
    )  # fmt: skip
    return maps


def test_sanity_examples_hold_the_first_images_clean_and_floor_maps(tmp_path):
    rng = np.random.default_rng(0)
    blobs = [encode_png(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)) for _ in range(2)]
    write_table(pd.DataFrame({"image_id": ["x", "y"], "image": blobs}), tmp_path / "img.parquet")
    methods, floors = ["grad", "rise"], ["randomised_head", "randomised_all"]
    clean_paths, floor_paths, expected = [], [], {}
    for m, method in enumerate(methods):
        clean_paths.append(str(tmp_path / f"{method}_clean.safetensors"))
        expected[(method, "clean")] = _maps(clean_paths[-1], method, ["x", "y"], 100 * m)
        for f, floor in enumerate(floors):
            floor_paths.append(str(tmp_path / f"{method}_{floor}.safetensors"))
            expected[(method, floor)] = _maps(floor_paths[-1], method, ["x", "y"], 1000 + f)
    out = tmp_path / "sanity.parquet"
    collect_sanity_examples(
        clean_paths, floor_paths, str(tmp_path / "img.parquet"), str(out),
        dataset="d", model="m", methods=methods, floors=floors,
    )  # fmt: skip
    table = read_table(out)
    assert list(table.columns) == EXAMPLE_COLUMNS
    assert len(table) == 2 * 3 * 2  # methods x (clean + 2 floors) x targets
    assert set(table["image_id"]) == {"x"} and (table["image"] == blobs[0]).all()
    assert table.loc[table["perturbation"] == "clean", "level"].eq(0.0).all()
    assert table.loc[table["perturbation"] != "clean", "level"].isna().all()
    from salsweep.io import decode_map

    row = table[(table["method"] == "rise") & (table["perturbation"] == "floor:randomised_all")
                & (table["target"] == "pred")].iloc[0]  # fmt: skip
    np.testing.assert_array_equal(decode_map(row), expected[("rise", "randomised_all")][0, 1])
    assert row["class_name"] == "two"


def test_sanity_examples_name_a_floor_file_not_aligned_with_the_clean_maps(tmp_path):
    write_table(pd.DataFrame({"image_id": ["x"], "image": [b""]}), tmp_path / "img.parquet")
    _maps(tmp_path / "clean.safetensors", "grad", ["x", "y"], 0)
    _maps(tmp_path / "floor.safetensors", "grad", ["y", "x"], 0)
    with pytest.raises(ValueError, match=r"floor\.safetensors.*not aligned.*randomised_all"):
        collect_sanity_examples(
            [str(tmp_path / "clean.safetensors")], [str(tmp_path / "floor.safetensors")],
            str(tmp_path / "img.parquet"), str(tmp_path / "out.parquet"),
            dataset="d", model="m", methods=["grad"], floors=["randomised_all"],
        )  # fmt: skip
