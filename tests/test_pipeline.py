"""End to end: the tiny study through snakemake, offline, on local stand-ins of the hub."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_snakemake, tiny_study, write_config

pytestmark = pytest.mark.e2e


def planned_jobs(result) -> dict[str, int]:
    """Rule -> job count from snakemake's dry-run job table."""
    counts = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


@pytest.fixture(scope="module")
def study_run(tmp_path_factory, standins):
    workdir = tmp_path_factory.mktemp("study")
    config = tiny_study(standins, metrics=[*tiny_study(standins)["metrics"], *NEW_METRICS])
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile, "--cores", "2")
    return workdir, configfile, config


# Stability, truth-vs-pred and localisation metrics: their inputs (clean images, softmax
# files, pred maps, masks) reach map_metrics through the DAG.
NEW_METRICS = [
    "ris",
    "ros",
    "lipschitz",
    "truth_pred_ssd",
    "truth_pred_xcorr",
    "pointing_game",
    "relevance_mass",
    "relevance_rank",
]


def test_tables_have_the_documented_columns(study_run):
    workdir, _, _ = study_run
    tables = workdir / "results" / "tables"
    predictions = pd.read_parquet(tables / "predictions.parquet")
    assert list(predictions.columns) == [
        "dataset",
        "model",
        "perturbation",
        "level",
        "image_id",
        "label",
        "pred",
        "prob_label",
        "prob_pred",
        "correct",
    ]
    metrics = pd.read_parquet(tables / "metrics.parquet")
    assert list(metrics.columns) == [
        "dataset",
        "model",
        "perturbation",
        "level",
        "method",
        "target",
        "image_id",
        "metric",
        "value",
    ]
    summary = pd.read_csv(tables / "summary.csv")
    assert {"mean", "ci_low", "ci_high", "n"} <= set(summary.columns)
    assert (summary["metric"] == "accuracy").any()


def test_floors_and_changes_tables(study_run):
    from salsweep.io import CHANGE_COLUMNS, FLOOR_COLUMNS, read_summary

    workdir, _, _ = study_run
    tables = workdir / "results" / "tables"
    changes = pd.read_parquet(tables / "changes.parquet")
    assert list(changes.columns) == CHANGE_COLUMNS
    # one row per perturbed copy: 12 images x 2 sweeps x 2 levels, per (dataset, model)
    assert changes.groupby(["dataset", "model"]).size().to_dict() == {
        ("digits", "cnn"): 48,
        ("tiny", "vit"): 48,
    }
    assert "clean" not in set(changes["perturbation"])
    assert changes["flipped"].dtype == bool
    assert changes["ssim"].between(-1, 1).all() and changes["input_l2"].gt(0).all()
    predictions = pd.read_parquet(tables / "predictions.parquet")
    keys = ["dataset", "model", "perturbation", "level", "image_id"]
    clean = predictions[predictions["perturbation"] == "clean"]
    merged = changes.merge(predictions, on=keys).merge(
        clean[["dataset", "model", "image_id", "pred"]], on=["dataset", "model", "image_id"]
    )
    assert len(merged) == len(changes)
    assert (merged["flipped"] == (merged["pred_x"] != merged["pred_y"])).all()

    floors = pd.read_parquet(tables / "floors.parquet")
    assert list(floors.columns) == FLOOR_COLUMNS
    assert set(floors["floor"]) == {"random_logit", "randomised_head", "randomised_all"}
    assert set(floors["metric"]) == {"ssd", "xcorr"}  # the study's drift metrics
    # 24 images x 2 methods x 2 targets x 3 floors x 2 drift metrics
    assert len(floors) == 24 * 2 * 2 * 3 * 2
    for floor in ("random_logit", "randomised_head", "randomised_all"):
        for method in ("sliding_window", "vanilla_gradient"):
            path = workdir / f"results/floors/tiny/vit/{method}/{floor}/shard-0.safetensors"
            assert path.is_file()
    summary = read_summary(tables / "summary.csv")
    rows = summary[summary["perturbation"].str.startswith("floor:")]
    assert len(rows) == 2 * 2 * 2 * 3 * 2
    assert rows["level"].isna().all() and (rows["n"] == 12).all()


def test_every_image_is_classified_at_every_level(study_run):
    workdir, _, _ = study_run
    predictions = pd.read_parquet(workdir / "results/tables/predictions.parquet")
    # tiny: 12 images, digits: 12; clean + 2 sweeps x 2 levels = 5 conditions each
    counts = predictions.groupby(["dataset", "model"]).size().to_dict()
    assert counts == {("digits", "cnn"): 60, ("tiny", "vit"): 60}
    assert set(predictions["perturbation"]) == {"clean", "gaussian_blur", "salt"}
    assert np.allclose(predictions["correct"], predictions["label"] == predictions["pred"])
    assert predictions["prob_pred"].ge(predictions["prob_label"] - 1e-9).all()


def test_metrics_cover_methods_targets_and_drift(study_run):
    workdir, _, _ = study_run
    metrics = pd.read_parquet(workdir / "results/tables/metrics.parquet")
    assert set(metrics["method"]) == {"sliding_window", "vanilla_gradient"}
    assert set(metrics["target"]) == {"truth", "pred"}
    clean = metrics[metrics["perturbation"] == "clean"]
    perturbed = metrics[metrics["perturbation"] != "clean"]
    # drift is measured against the clean map, so it exists only for perturbed copies
    assert not clean["metric"].isin(["ssd", "xcorr"]).any()
    assert {"ssd", "xcorr", "entropy"} <= set(perturbed["metric"])
    # every map gets every map-only metric: 24 images x 5 conditions x 2 methods x 2 targets
    assert (metrics["metric"] == "entropy").sum() == 24 * 5 * 2 * 2
    # the digits carry ink masks, so Shared Interest is present for them only where enabled
    assert metrics["value"].notna().any()
    # stability metrics: every perturbed map, no clean one; defined where the prediction held
    for name in ("ris", "ros", "lipschitz"):
        rows = metrics[metrics["metric"] == name]
        assert len(rows) == 24 * 4 * 2 * 2
        assert set(rows["perturbation"]) == {"gaussian_blur", "salt"}
        assert rows["value"].notna().any()
        assert (rows["value"].dropna() >= 0).all()
    assert metrics.loc[metrics["metric"] == "lipschitz", "value"].notna().all()
    # truth vs pred: on the truth row of every map, clean included
    for name in ("truth_pred_ssd", "truth_pred_xcorr"):
        rows = metrics[metrics["metric"] == name]
        assert set(rows["target"]) == {"truth"} and len(rows) == 24 * 5 * 2
    # localisation against the digits' ink
    digits = metrics[metrics["dataset"] == "digits"]
    for name in ("pointing_game", "relevance_mass", "relevance_rank"):
        values = digits.loc[digits["metric"] == name, "value"]
        assert len(values) == 12 * 5 * 2 * 2 and values.dropna().between(0, 1).all()
    assert set(digits.loc[digits["metric"] == "pointing_game", "value"].dropna()) <= {0.0, 1.0}


def test_entropy_is_defined_wherever_the_map_has_values_of_that_sign(study_run):
    from salsweep.io import load_maps

    workdir, _, _ = study_run
    metrics = pd.read_parquet(workdir / "results/tables/metrics.parquet")
    checked = 0
    for path in (workdir / "results" / "saliency").rglob("*.safetensors"):
        # saliency/{dataset}/{model}/{method}/{perturbation}/shard-{k}/{level}.safetensors
        parts = path.relative_to(workdir / "results" / "saliency").parts
        dataset, model, method, perturbation = parts[:4]
        level = path.stem
        maps = load_maps(path)
        for i, image_id in enumerate(maps.image_ids):
            for t, target in enumerate(maps.target_names):
                sal = maps.maps[i, t]
                rows = metrics[
                    (metrics["dataset"] == dataset)
                    & (metrics["method"] == method)
                    & (metrics["perturbation"] == perturbation)
                    & (metrics["level"] == float(level))
                    & (metrics["image_id"] == image_id)
                    & (metrics["target"] == target)
                ].set_index("metric")["value"]
                if (sal > 0).any():
                    assert np.isfinite(rows["entropy_pos"]), (path, image_id, target)
                if (sal < 0).any():
                    assert np.isfinite(rows["entropy_neg"]), (path, image_id, target)
                if sal.max() > sal.min():
                    assert np.isfinite(rows["entropy"]), (path, image_id, target)
                checked += 1
    assert checked == 24 * 5 * 2 * 2


def test_figures_are_written(study_run):
    workdir, _, _ = study_run
    figures = workdir / "results" / "figures"
    names = ["accuracy", "drift_heatmap", "methods/tiny_vit_0", "methods/digits_cnn_0"] + [
        f"metrics_{pair}_{sweep}"
        for pair in ("tiny_vit", "digits_cnn")
        for sweep in ("gaussian_blur", "salt")
    ]
    names += [
        f"{kind}_{pair}" for kind in ("failure", "flips") for pair in ("tiny_vit", "digits_cnn")
    ]
    for name in names:
        for ext in ("png", "pdf"):
            assert (figures / f"{name}.{ext}").stat().st_size > 1000
    grids = sorted(p.name for p in (figures / "grids").glob("*.png"))
    assert grids == sorted(
        f"{pair}_{method}_0.png"
        for pair in ("tiny_vit", "digits_cnn")
        for method in ("sliding_window", "vanilla_gradient")
    )


def test_failure_tables_have_a_row_for_every_group(study_run):
    workdir, _, config = study_run
    tables = workdir / "results" / "tables"
    flips = pd.read_parquet(tables / "flip_levels.parquet")
    assert len(flips) == 2 * 2 * 12  # (dataset, model) pairs x sweeps x images
    failure = pd.read_parquet(tables / "failure.parquet")
    from salsweep.metrics import METRIC_INFO

    names = [m if isinstance(m, str) else m["name"] for m in config["metrics"]]
    drift = [name for name in names if "reference" in METRIC_INFO[name]["requires"]]
    assert {"ssd", "xcorr"} <= set(drift)
    # pairs x sweeps x methods x targets x drift metrics x outcomes
    assert len(failure) == 2 * 2 * 2 * 2 * len(drift) * 2
    assert not failure.duplicated(
        ["dataset", "model", "perturbation", "method", "target", "metric", "outcome"]
    ).any()
    undefined = failure["auroc"].isna()
    assert (failure.loc[undefined, "note"] != "").all()
    findings = pd.read_csv(tables / "findings.csv")
    assert len(findings) == 2 * 2 * 2  # pairs x sweeps x methods
    assert (workdir / "results" / "report" / "findings.html").stat().st_size > 1000


def test_figures_fit_the_page_at_the_default_dpi(study_run):
    """No figure is wider than 12 in (2400 px at the default 200 dpi; this study draws at
    its own dpi)."""
    from PIL import Image

    workdir, _, config = study_run
    pngs = list((workdir / "results" / "figures").rglob("*.png"))
    assert pngs
    for png in pngs:
        inches = Image.open(png).size[0] / config["figures"]["dpi"]
        assert inches <= 12.05, f"{png.name} is {inches:.2f} in wide"


def test_class_grids_without_targets_all_draw_nothing_and_succeed(study_run):
    """This study maps truth and pred only: figure_class_grids has no outputs, and forcing
    it runs a job that draws nothing instead of failing."""
    workdir, configfile, config = study_run
    assert "all" not in config["saliency"]["targets"]
    result = run_snakemake(
        workdir, configfile, "--forcerun", "figure_class_grids", "--cores", "1", "figures"
    )
    assert "figure_class_grids" in result.stdout + result.stderr
    assert not (workdir / "results" / "figures" / "classes").exists()


# "<desc>: 12/12 img (100%), 3.10img/s, elapsed 00:04, ETA 00:00"
PROGRESS_LINE = re.compile(r": (\d+)/(\d+) img \(\d+%\), \S+/s?\S*, elapsed \S+, ETA \S+$")
STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ")


@pytest.mark.parametrize(
    "rule, first, progress",
    [
        ("classify", "loaded: ", "classified"),
        ("saliency", "loaded: ", "explained"),
        ("train", "loaded: ", "trained on"),
        ("perturb", "loaded: ", None),
        ("map_metrics", "loaded: ", None),
        ("dataset", "reading the eval split", None),
        ("floors", "loaded: ", "explained"),
        ("changes", "loaded: ", None),
    ],
)
def test_job_logs_have_a_first_and_a_last_line_and_progress(study_run, rule, first, progress):
    """What bench/overhead.py reads: a first line once inputs are read and the model loaded,
    a last once the output is written; in model jobs, progress lines between them."""
    workdir, _, _ = study_run
    logs = sorted((workdir / "results" / "logs" / rule).rglob("*.log"))
    assert logs, rule
    for path in logs:
        text = path.read_bytes().decode()
        assert "\r" not in text, f"{path}: a progress bar redrew in the log"
        lines = [line for line in text.splitlines() if STAMPED.match(line)]
        assert lines and first in lines[0], f"{path}: first line {lines[:1]}"
        assert "wrote " in lines[-1], f"{path}: last line {lines[-1:]}"
        if progress is not None:
            found = [PROGRESS_LINE.search(line) for line in lines if f" {progress}" in line]
            counts = [match.groups() for match in found if match]
            assert counts and counts[0][0] == "0" and counts[-1][0] == counts[-1][1], path


def test_rerun_does_nothing_and_a_level_edit_reruns_only_its_dependents(study_run):
    workdir, configfile, config = study_run
    again = run_snakemake(workdir, configfile, "-n", "--cores", "2")
    assert "Nothing to be done" in again.stdout + again.stderr

    config = {**config, "perturbations": {**config["perturbations"]}}
    config["perturbations"]["gaussian_blur"] = {"levels": [3, 7]}
    edited = write_config(workdir, config, "edited.yaml")
    result = run_snakemake(workdir, edited, "-n", "--cores", "2")
    plan = planned_jobs(result)
    # One new level x 2 datasets (1 shard each) to perturb; a model or metrics job covers
    # its sweep (issue 15), so the blur sweep's jobs rerun: per dataset one classify job,
    # and per method one saliency and one map_metrics job. No job of the salt sweep, the
    # clean copies, the datasets or the trained model reruns.
    assert plan["perturb"] == 2
    assert plan["classify"] == 2
    assert plan["saliency"] == 4
    assert plan["map_metrics"] == 4
    assert plan["changes"] == 2  # one per (dataset, model, shard): it reads every copy
    for rule in ("dataset", "dataset_train_split", "train", "floors"):
        assert rule not in plan
    assert plan["aggregate"] == 1
    assert "perturbation=salt" not in result.stdout
    assert "perturbation=clean" not in result.stdout


def test_a_method_edit_reruns_only_that_methods_jobs(study_run):
    workdir, configfile, config = study_run
    config = {**config, "saliency": {**config["saliency"]}}
    config["saliency"]["methods"] = {
        **config["saliency"]["methods"],
        "sliding_window": {"window": 4, "stride": 2, "fill": [128, 128, 128]},
    }
    edited = write_config(workdir, config, "method_edited.yaml")
    result = run_snakemake(workdir, edited, "-n", "--cores", "2")
    plan = planned_jobs(result)
    # 2 datasets x 3 sweeps (clean, blur, salt) of sliding window, and their metrics
    assert plan["saliency"] == 6
    assert plan["map_metrics"] == 6
    assert plan["floors"] == 2
    for rule in ("dataset", "perturb", "train", "classify", "changes"):
        assert rule not in plan
    assert "method=vanilla_gradient" not in result.stdout


def test_lint_is_clean():
    result = run_snakemake(REPO, None, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(study_run, tmp_path):
    import subprocess

    browser = chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    workdir, configfile, _ = study_run
    run_snakemake(workdir, configfile, "--report", "report.html")
    report = workdir / "report.html"
    assert report.stat().st_size > 100_000
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # The React app rendered: its navigation lists every category. (Scripts are stripped
    # so that the embedded data cannot satisfy the check.)
    rendered = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    app = rendered[rendered.index('<div id="app">') :]
    assert "<nav" in app
    for text in ("Accuracy", "Saliency grids", "Metrics against level", "Provenance", "Tables",
                 "Scale", "Findings"):  # fmt: skip
        assert text in app, text
    # self-contained: the figures are embedded in the file itself
    html = report.read_text(errors="ignore")
    assert "accuracy.png" in html and "data:image/png" in html
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, "--window-size=1280,900", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 10_000
