"""The seed studies (config/studies/s00*.yaml): each parses, validates and dry-runs as it is,
and runs end to end offline with one extra config file of ``stand_ins`` that swaps every hub
dataset and model for a local stand-in of the same features (tests/standins.py) and
shrinks the evaluated subset. Nothing else of a study changes: levels, methods, their
parameters and the metrics are the seed's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_snakemake, write_config
from standins import build_all

from salsweep.config import CLEAN, Study

STUDIES_DIR = REPO / "config" / "studies"
STUDIES = [
    "s000_cifar10_vit_sliding_window",
    "s001_eurosat_convnext_rise",
    "s002_resnet_gradcam_shared_interest",
    "s003_gradient_family",
    "s004_realtime_saliency",
]
TABLES = ("results/tables/predictions.parquet", "results/tables/metrics.parquet")
DRIFT_METRICS = ("ssd", "xcorr", "spearman", "topk_iou")
# Images evaluated per hub dataset in the end-to-end runs; bundled_photos (matched by its
# source name) keeps two of its boxed photos, at 64 px.
SUBSET = 3
PHOTOS = ["coffee", "camera"]


def study_file(name: str) -> Path:
    return STUDIES_DIR / f"{name}.yaml"


def load_study(name: str) -> dict:
    return yaml.safe_load(study_file(name).read_text())


def hub_paths(config: dict) -> set[str]:
    """The dataset and model paths of a config that only the hub can resolve."""
    return {
        spec["path"]
        for section in ("datasets", "models")
        for spec in config[section].values()
        if spec["source"] == "hf"
    }


def stand_ins(si: dict) -> dict:
    """Every hub id of the seed studies -> its local stand-in (and a smaller subset)."""
    cifar = {"path": "parquet", "data_files": si["cifar10"], "subset": SUBSET, "train_subset": 40}
    return {
        "cifar10": cifar,
        "cm93/eurosat": {"path": "parquet", "data_files": si["eurosat"], "subset": SUBSET},
        "aaraki/vit-base-patch16-224-in21k-finetuned-cifar10": si["vit"],
        "nielsr/convnext-tiny-224-finetuned-eurosat-albumentations": si["convnext"],
        "microsoft/resnet-50": si["resnet"],
        "bundled_photos": {"photos": PHOTOS, "image_size": 64},
    }


def planned_jobs(stdout: str) -> dict[str, int]:
    """Rule -> job count from snakemake's dry-run job table."""
    counts = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


@pytest.fixture(scope="session")
def seed_standins(tmp_path_factory) -> dict:
    return build_all(tmp_path_factory.mktemp("seed_standins"))


# -- the configs as written -------------------------------------------------------------


@pytest.mark.parametrize("name", STUDIES)
def test_config_header_names_what_it_reproduces(name):
    text = study_file(name).read_text()
    assert text.startswith(f"# {name[:4]} - "), "the first line names the study"
    header = text.split("\nstudy:", 1)[0]
    for topic in ("Reproduces", "Corrected bug", "Hub:", "Cost"):
        assert topic in header, f"{name}: the header comment says nothing under {topic!r}"
    assert load_study(name)["study"]["name"] == name


@pytest.mark.parametrize("name", STUDIES)
def test_config_dry_runs(name, tmp_path):
    result = run_snakemake(tmp_path, study_file(name), "-n")
    jobs = planned_jobs(result.stdout)
    config = load_study(name)
    # One model job per sweep (the clean reference is one), whatever its number of levels.
    n_sweeps = 1 + len(config["perturbations"])
    assert jobs["classify"] == n_sweeps
    assert jobs["saliency"] == n_sweeps * len(config["saliency"]["methods"])
    assert ("train" in jobs) == (name == "s003_gradient_family")
    assert ("model_metrics" in jobs) == (name == "s004_realtime_saliency")


def test_s000_reproduces_the_sliding_window_seed():
    config = load_study("s000_cifar10_vit_sliding_window")
    study = Study(config)
    assert config["datasets"]["cifar10"] == {
        "source": "hf",
        "path": "cifar10",
        "split": "test",
        "subset": 100,
    }
    assert config["models"]["vit"]["path"] == "aaraki/vit-base-patch16-224-in21k-finetuned-cifar10"
    assert config["perturbations"]["average_blur"]["kind"] == "average_blur"
    assert study.levels("average_blur") == ["3", "5", "7"]
    assert config["saliency"]["methods"] == {
        "sliding_window": {"window": 2, "stride": 1, "fill": [128, 128, 128]}
    }
    assert config["metrics"] == ["entropy", "entropy_pos", "entropy_neg", "ssd", "xcorr"]


def test_s001_levels_are_the_notebook_linspaces_and_start_at_the_identity():
    config = load_study("s001_eurosat_convnext_rise")
    study = Study(config)
    assert study.levels("gaussian_blur") == ["1", "5", "11", "15", "21"]
    assert [float(x) for x in study.levels("salt")] == pytest.approx(np.linspace(0, 0.2, 5))
    assert study.levels("salt") == ["0", "0.05", "0.1", "0.15", "0.2"]  # clean paths
    assert config["datasets"]["eurosat"]["subset"] == 0.01
    assert config["saliency"]["methods"] == {
        "rise_debiased": {"n": 200, "s": 8, "p1": 0.5, "seed": 123}
    }


def test_stand_ins_replace_hub_entries_by_path_and_others_by_source():
    config = load_study("s002_resnet_gradcam_shared_interest")
    # a hub-id-shaped path: a missing absolute folder would fail the model-folder check
    fake = {"cifar10": {}, "eurosat": {}, "vit": "v", "convnext": "c", "resnet": "tiny/resnet"}
    config["stand_ins"] = stand_ins(fake)
    study = Study(config)
    assert study.dataset_spec("photos")["photos"] == PHOTOS
    assert study.dataset_spec("photos")["image_size"] == 64
    assert study.model_spec("resnet50")["path"] == "tiny/resnet"
    assert study.model_spec("resnet50")["label_match"] == "index"
    assert study.levels("contrast") == ["0.8", "0.6", "0.4", "0.2"]


def test_every_hub_id_of_every_study_has_a_stand_in(tmp_path):
    fake = {"cifar10": {}, "eurosat": {}, "vit": "v", "convnext": "c", "resnet": "r"}
    for name in STUDIES:
        missing = hub_paths(load_study(name)) - set(stand_ins(fake))
        assert not missing, f"{name}: no stand-in for {missing}"


# -- end to end on the stand-ins ----------------------------------------------------------


def expected_metric_labels(config: dict) -> set[str]:
    from salsweep.faithfulness.params import MODEL_METRIC_PARAMS, model_metric_label
    from salsweep.metrics.params import metric_label

    labels = set()
    for item in config["metrics"]:
        entry = {"name": item} if isinstance(item, str) else dict(item)
        name = entry.pop("name")
        label = model_metric_label if name in MODEL_METRIC_PARAMS else metric_label
        labels.add(label(name, entry))
    return labels


def expected_images(config: dict) -> int:
    (spec,) = config["datasets"].values()
    return len(PHOTOS) if spec["source"] == "bundled_photos" else SUBSET


def load_all_maps(workdir: Path) -> dict[tuple, np.ndarray]:
    """(method, perturbation, level, image_id, target) -> map, for every saliency shard."""
    from salsweep.io import load_maps

    root = workdir / "results" / "saliency"
    out = {}
    for path in root.rglob("*.safetensors"):
        _, _, method, perturbation, _ = path.parent.relative_to(root).parts
        level = path.stem  # {perturbation}/shard-{k}/{level}.safetensors
        maps = load_maps(path)
        for i, image_id in enumerate(maps.image_ids):
            for t, target in enumerate(maps.target_names):
                out[(method, perturbation, float(level), image_id, target)] = maps.maps[i, t]
    return out


def check_entropy_is_defined(maps: dict[tuple, np.ndarray], metrics: pd.DataFrame) -> None:
    """entropy_pos / entropy_neg / entropy are finite wherever the map has values of that
    sign (any two distinct values, for entropy): the seed notebooks' 0/0 NaN is gone."""
    wanted = {"entropy", "entropy_pos", "entropy_neg"} & set(metrics["metric"])
    keys = ["method", "perturbation", "level", "image_id", "target", "metric"]
    index = metrics.set_index(keys)["value"]
    for key, sal in maps.items():
        checks = {
            "entropy_pos": (sal > 0).any(),
            "entropy_neg": (sal < 0).any(),
            "entropy": sal.max() > sal.min(),
        }
        for metric, has_values in checks.items():
            if metric in wanted and has_values:
                assert np.isfinite(index[(*key, metric)]), (key, metric)


def check_nans_are_degenerate_maps(maps: dict[tuple, np.ndarray], metrics: pd.DataFrame) -> None:
    """A metric is NaN only where the metrics document it: a map (or its clean reference)
    that is constant, or, for entropy_pos / entropy_neg, one without values of that sign."""
    for row in metrics[metrics["value"].isna()].itertuples():
        key = (row.method, row.perturbation, row.level, row.image_id, row.target)
        sal = maps[key]
        ref = maps[(row.method, CLEAN, 0.0, row.image_id, row.target)]
        name = row.metric.split("@")[0]
        if name == "entropy_pos":
            assert not (sal > 0).any(), row
        elif name == "entropy_neg":
            assert not (sal < 0).any(), row
        else:
            assert sal.max() == sal.min() or ref.max() == ref.min(), row


@pytest.mark.e2e
@pytest.mark.seed_studies
@pytest.mark.parametrize("name", STUDIES)
def test_study_runs_end_to_end_on_stand_ins(name, seed_standins, tmp_path):
    overlay = write_config(tmp_path, {"stand_ins": stand_ins(seed_standins)}, "stand_ins.yaml")
    args = ("--configfile", str(study_file(name)), str(overlay))
    run_snakemake(tmp_path, None, *args, "--cores", "2", *TABLES)

    check_run(name, tmp_path)


def check_run(name: str, workdir: Path) -> None:
    """The tables hold every image, condition, method, target and metric of the study."""
    config = load_study(name)
    predictions = pd.read_parquet(workdir / TABLES[0])
    metrics = pd.read_parquet(workdir / TABLES[1])
    study = Study(load_study(name))
    conditions = study.conditions(study.datasets[0])
    n_images = predictions["image_id"].nunique()
    assert n_images == expected_images(config)
    assert len(predictions) == n_images * len(conditions)
    assert set(predictions["perturbation"]) == {CLEAN, *config["perturbations"]}

    labels = expected_metric_labels(config)
    assert set(metrics["method"]) == set(config["saliency"]["methods"])
    assert set(metrics["target"]) == set(config["saliency"]["targets"])
    assert set(metrics["metric"]) == labels
    # every map gets every metric once; drift metrics (against the clean map) skip the clean
    drift = {label for label in labels if label.split("@")[0] in DRIFT_METRICS}
    per_map = metrics.groupby(["method", "perturbation", "level", "image_id", "target"])
    counts = per_map["metric"].agg(lambda m: (len(m), m.nunique()))
    # truth-vs-pred metrics are scored on the truth row only
    truth_only = {label for label in labels if label.startswith("truth_pred_")}
    for (_, perturbation, _, _, target), (n_rows, n_unique) in counts.items():
        expected = labels - drift if perturbation == CLEAN else labels
        expected = expected if target == "truth" else expected - truth_only
        assert n_rows == n_unique == len(expected), (perturbation, target, n_rows, expected)
    maps = load_all_maps(workdir)
    n_maps = n_images * len(conditions) * len(config["saliency"]["targets"])
    assert len(maps) == len(counts) == n_maps * len(config["saliency"]["methods"])
    check_nans_are_degenerate_maps(maps, metrics)
    check_entropy_is_defined(maps, metrics)
    check_study(name, workdir, metrics)


def check_study(name: str, workdir: Path, metrics: pd.DataFrame) -> None:
    """What each study adds beyond the shared checks."""
    if name == "s001_eurosat_convnext_rise":
        # ksize 1 and amount 0 are identities: the same image, masks and seed, so no drift
        for perturbation, level in (("gaussian_blur", 1.0), ("salt", 0.0)):
            rows = metrics[(metrics["perturbation"] == perturbation) & (metrics["level"] == level)]
            values = rows.set_index("metric")["value"]
            assert np.allclose(values.loc["ssd"], 0.0, atol=1e-12), perturbation
            assert np.allclose(values.loc["xcorr"], 1.0, atol=1e-9), perturbation
    if name == "s002_resnet_gradcam_shared_interest":
        values = metrics["value"].dropna()
        assert len(values) > len(metrics) / 2 and values.between(0.0, 1.0).all()
    if name == "s003_gradient_family":
        trained = json.loads((workdir / "results/models/cnn/train_metrics.json").read_text())
        assert trained["epochs"] == 15 and trained["n_train"] == 40
    if name == "s004_realtime_saliency":
        assert (workdir / "results/maskers/photos/resnet50/masker.safetensors").is_file()
        ssr = metrics[metrics["metric"].str.startswith("ssr_crop")]["value"]
        # log(max(area, 0.05)) - log(p): area <= 1 and p <= 1 bound it below by log 0.05
        assert (ssr >= np.log(0.05) - 1e-9).all()
        for auc in ("deletion_auc", "insertion_auc"):
            values = metrics[metrics["metric"].str.startswith(auc)]["value"]
            assert values.between(0.0, 1.0).all(), auc
