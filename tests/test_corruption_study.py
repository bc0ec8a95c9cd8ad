"""config/studies/corruptions.yaml end to end on stand-ins: the study as written, with the
tiny stand-in dataset and model of tests/conftest.py in place of the default ones, a few of
its corruptions at two severities, few images and one shard. Everything else (the
imagenet_c shorthand, saliency methods and their parameters, the metrics) is the study's own."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from conftest import REPO, run_snakemake, tiny_study, write_config

from salsweep.config import CLEAN

STUDY = REPO / "config" / "studies" / "corruptions.yaml"
# A noise, a blur and a weather corruption (7 conditions: each model job costs ~5-15 s of
# imports on a loaded machine); the costly glass_blur and frost (an optional package's
# images) are left to the full study.
CORRUPTIONS = ["gaussian_noise", "motion_blur", "fog"]
SEVERITIES = [2, 5]
N_IMAGES = 4
FIGURES = ("results/figures/accuracy.png", "results/figures/drift_heatmap.png")


def shrunk_study(standins) -> dict:
    config = yaml.safe_load(STUDY.read_text())
    (entry,) = [e for e in config["perturbations"].values() if "corruptions" in e]
    assert entry["corruptions"] == "benchmark" and entry["levels"] == [1, 2, 3, 4, 5]
    entry.update(corruptions=CORRUPTIONS, levels=SEVERITIES)
    # Other sweeps of the study (rotation, once the geometric kinds exist) keep two levels.
    for other in config["perturbations"].values():
        if other is not entry:
            other["levels"] = other["levels"][:2]
    tiny = tiny_study(standins)
    dataset = tiny["datasets"]["tiny"] | {"subset": N_IMAGES}
    config["datasets"] = {"tiny": dataset}
    config["models"] = {"vit": tiny["models"]["vit"]}
    config["study"] |= {"device": "cpu", "shards": 1}
    config["figures"] = {"examples": 1, "dpi": 60}
    config["floors"] = []  # the noise floors have their own tests; here they only cost time
    return config


@pytest.mark.e2e
@pytest.mark.seed_studies
def test_corruption_study_runs_end_to_end_on_stand_ins(standins, tmp_path):
    config = shrunk_study(standins)
    others = {name: spec["levels"] for name, spec in config["perturbations"].items()}
    others.pop(next(n for n, e in config["perturbations"].items() if "corruptions" in e))
    configfile = write_config(tmp_path, config)
    run_snakemake(tmp_path, configfile, "--cores", "2", "figures")

    tables = tmp_path / "results" / "tables"
    predictions = pd.read_parquet(tables / "predictions.parquet")
    metrics = pd.read_parquet(tables / "metrics.parquet")
    # One sweep per corruption, named by it, at exactly the severities asked for.
    sweeps = {CLEAN, *CORRUPTIONS, *others}
    assert set(predictions["perturbation"]) == sweeps
    assert set(metrics["perturbation"]) == sweeps
    for name in CORRUPTIONS:
        levels = predictions.loc[predictions["perturbation"] == name, "level"]
        assert sorted(levels.unique()) == SEVERITIES, name
    assert predictions["image_id"].nunique() == N_IMAGES
    n_conditions = 1 + len(CORRUPTIONS) * len(SEVERITIES) + sum(map(len, others.values()))
    assert len(predictions) == N_IMAGES * n_conditions
    assert set(metrics["method"]) == set(config["saliency"]["methods"])
    # A strong corruption changes the image, so the maps drift: not all xcorr are 1.
    xcorr = metrics[(metrics["metric"] == "xcorr") & (metrics["perturbation"] == "gaussian_noise")]
    assert len(xcorr) and (xcorr["value"].dropna() < 1 - 1e-6).any()

    for figure in FIGURES:
        assert (tmp_path / figure).stat().st_size > 1000, figure
    for name in CORRUPTIONS:
        (png,) = (tmp_path / "results" / "figures").rglob(f"metrics_tiny_vit_{name}.png")
        assert png.stat().st_size > 1000, name
