"""End to end: config/studies/all_methods.yaml (the ten built-in saliency methods, and any
method added since, with its defaults) through snakemake, on the local stand-ins (tiny
parquet dataset, tiny ViT) swapped in for its paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_snakemake, write_config

from salsweep.io import load_maps
from salsweep.saliency.params import METHOD_PARAMS

pytestmark = pytest.mark.e2e

STUDY = REPO / "config" / "studies" / "all_methods.yaml"
N_IMAGES = 4
CONDITIONS = [("clean", "0"), ("gaussian_blur", "3")]


def study_config(standins) -> dict:
    config = yaml.safe_load(STUDY.read_text())
    dataset = config["datasets"]["local"]
    dataset["data_files"] = {"test": str(standins["parquet"])}
    dataset["subset"] = N_IMAGES
    config["models"]["local_model"]["path"] = str(standins["vit"])
    config["study"]["device"] = "cpu"
    # A method added after the study was written runs here too, with its defaults.
    methods = config["saliency"]["methods"]
    methods.update({name: {} for name in sorted(METHOD_PARAMS) if name not in methods})
    return config


def test_the_study_lists_the_ten_built_in_methods() -> None:
    config = yaml.safe_load(STUDY.read_text())
    assert set(config["saliency"]["methods"]) <= set(METHOD_PARAMS)
    assert len(config["saliency"]["methods"]) == 10
    assert [list(spec["levels"]) for spec in config["perturbations"].values()] == [[3]]


@pytest.fixture(scope="module")
def study_run(tmp_path_factory, standins):
    workdir = tmp_path_factory.mktemp("all_methods")
    config = study_config(standins)
    run_snakemake(workdir, write_config(workdir, config), "--cores", "2")
    return workdir, config


def test_every_method_has_maps_for_every_condition(study_run) -> None:
    workdir, config = study_run
    for method in config["saliency"]["methods"]:
        for perturbation, level in CONDITIONS:
            path = (
                workdir
                / f"results/saliency/local/local_model/{method}/{perturbation}/shard-0"
                / f"{level}.safetensors"
            )
            maps = load_maps(path)
            assert maps.method == method
            assert maps.maps.shape == (N_IMAGES, 2, 16, 16), method
            assert np.isfinite(maps.maps).all(), method
            if not maps.signed:
                assert maps.maps.min() >= 0.0, method
            assert np.abs(maps.maps).max() > 0.0, method


def test_the_masker_was_trained_on_the_eval_images(study_run) -> None:
    workdir, _ = study_run
    folder = workdir / "results/maskers/local/local_model"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["split"] == "eval" and metrics["n_train"] == N_IMAGES
    assert metrics["steps"] == 20 and metrics["feature_shape"] == [32, 4, 4]
    assert (folder / "masker.safetensors").stat().st_size > 0


def test_metrics_cover_all_ten_methods_without_nan_entropy(study_run) -> None:
    workdir, config = study_run
    metrics = pd.read_parquet(workdir / "results/tables/metrics.parquet")
    assert set(metrics["method"]) == set(config["saliency"]["methods"])
    entropy = metrics[metrics["metric"] == "entropy"].set_index(
        ["method", "perturbation", "image_id", "target"]
    )["value"]
    checked = 0
    for method in config["saliency"]["methods"]:
        for perturbation, level in CONDITIONS:
            maps = load_maps(
                workdir
                / f"results/saliency/local/local_model/{method}/{perturbation}/shard-0"
                / f"{level}.safetensors"
            )
            for i, image_id in enumerate(maps.image_ids):
                for t, target in enumerate(maps.target_names):
                    m = maps.maps[i, t]
                    if m.max() > m.min():  # a map with values: its entropy is defined
                        value = entropy.loc[(method, perturbation, image_id, target)]
                        assert np.isfinite(value), (method, perturbation, image_id, target)
                        checked += 1
    assert checked >= 10 * len(CONDITIONS) * N_IMAGES  # most maps are not constant
    drift = metrics[(metrics["metric"] == "ssd") & (metrics["perturbation"] != "clean")]
    assert set(drift["method"]) == set(config["saliency"]["methods"])
