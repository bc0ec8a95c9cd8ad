"""How a study's cost grows with its work (a script, not a test): `python bench/scaling.py`.

Runs parts of the default study (config/config.yaml), each in a fresh folder under
``--workdir`` with ``snakemake --cores 2`` (all targets):

- ``digits-60``, ``digits-240``, ``digits-449``: the digits dataset and its trained CNN at 60,
  240 and all 449 held-out images, on 1, 2 and 4 shards;
- ``photos-1``, ``photos-2``, ``photos-4``: the 8 bundled photos and EfficientNet-Lite0 with
  1, 2 and 4 perturbation sweeps of 4 levels (the default's two, then brightness and JPEG
  quality).

Per run it records the wall time, the job-seconds (the sum of every job's benchmark ``s``),
the start-up share of all jobs and of the model jobs (bench/overhead.py), the peak RSS of
any job (benchmark ``max_rss``), and job-seconds per image and condition (conditions: the
clean reference plus every level), over all jobs and over the model jobs (classify,
saliency, floors). The **compute floor** is the cost of the model's work alone per image and
condition: classify, every saliency method and the floors' maps, timed in this warm process
on the run's clean images at one torch thread (what a job gets), with the run's own model
and parameters, after one warm-up call.

Writes ``<out>.csv`` and ``<out>.png`` (job-seconds per image and condition against the work,
with the floor) and prints a markdown table. ``--plot-only`` redraws from the CSV.
"""

from __future__ import annotations

import argparse
import copy
import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MODEL_RULES = ("classify", "saliency", "floors")
FLOOR_ROUNDS = 3  # the floor is the fastest of these timings, after a warm-up
# The photos runs' sweeps, in order: the default study's two, then two more of 4 levels.
EXTRA_SWEEPS = {
    "brightness": {"levels": [0.4, 0.7, 1.3, 1.6]},
    "jpeg_quality": {"levels": [80, 50, 25, 10]},
}
# name: (dataset, held-out images (None: all), shards, sweeps (None: the default's))
RUNS = {
    "digits-60": ("digits", 60, 1, None),
    "digits-240": ("digits", 240, 2, None),
    "digits-449": ("digits", None, 4, None),
    "photos-1": ("photos", None, 1, 1),
    "photos-2": ("photos", None, 1, 2),
    "photos-4": ("photos", None, 1, 4),
}
COLUMNS = [
    "run",
    "images",
    "conditions",
    "shards",
    "sweeps",
    "jobs",
    "model_jobs",
    "wall_s",
    "job_s",
    "startup_share",
    "model_job_s",
    "model_startup_share",
    "peak_rss_mb",
    "job_s_per_image_condition",
    "model_job_s_per_image_condition",
    "floor_s_per_image_condition",
]


def load_overhead():
    """bench/overhead.py, the start-up share's one definition."""
    spec = importlib.util.spec_from_file_location("overhead", REPO / "bench" / "overhead.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["overhead"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def study_config(part: str, images: int | None, shards: int, sweeps: int | None) -> dict:
    """The default study cut to dataset ``part`` with its model, ``images`` held-out images
    (None: the default's subset, or all), ``shards`` shards and the first ``sweeps`` sweeps."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["study"]["device"] = "cpu"
    config["datasets"] = {part: config["datasets"][part]}
    config["models"] = {
        name: spec for name, spec in config["models"].items() if part in spec["datasets"]
    }
    if part == "digits":
        config["datasets"]["digits"]["subset"] = images
    config["study"]["shards"] = shards
    if sweeps is not None:
        available = {**config["perturbations"], **copy.deepcopy(EXTRA_SWEEPS)}
        config["perturbations"] = dict(list(available.items())[:sweeps])
    return config


def run_study(name: str, config: dict, workdir: Path) -> float:
    folder = workdir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    configfile = folder / "study.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(folder),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        "--quiet",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=folder)
    return time.perf_counter() - started


def peak_rss_mb(results: Path) -> float:
    peak = 0.0
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        with tsv.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                try:
                    peak = max(peak, float(row["max_rss"]))
                except (KeyError, ValueError):
                    continue
    return peak


def compute_floor(config: dict, results: Path) -> float:
    """Seconds per image and condition of the model work alone (see the module docstring)."""
    import numpy as np
    from snakemake.utils import validate

    from salsweep.config import CLEAN, CLEAN_LEVEL, Study
    from salsweep.io import read_table
    from salsweep.model_jobs import build_explainer, explain_table, load_job_classifier
    from salsweep.stages.classify import classify_table

    config = copy.deepcopy(config)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))  # defaults
    study = Study(config)
    ((dataset, model),) = study.pairs()
    spec = study.model_spec(model)
    weights = results / "models" / model / "model.safetensors"
    classifier, _ = load_job_classifier(
        spec,
        str(results / "datasets" / dataset / "classes.json"),
        "cpu",
        str(weights) if weights.exists() else None,
        True,
        1,
        dataset=dataset,
        model=model,
    )
    table = read_table(results / "perturbed" / dataset / CLEAN / CLEAN_LEVEL / "shard-0.parquet")
    targets = np.repeat(table["label"].to_numpy()[:, None], 2, axis=1)  # truth and pred

    def timed(work) -> float:
        for _ in range(2):  # warm-up: first-call allocations, kernel selection, batch probes
            work()
        seconds = []
        for _ in range(FLOOR_ROUNDS):
            started = time.perf_counter()
            work()
            seconds.append(time.perf_counter() - started)
        return min(seconds)

    seconds = timed(lambda: classify_table(classifier, table, config["study"]["batch_size"]))
    floors = len(config.get("floors", ["random_logit", "randomised_head", "randomised_all"]))
    for method in study.methods:
        explainer = build_explainer(
            method,
            study.method_params(method, model),
            seed=0,
            batch_size=config["saliency"]["batch_size"],
        )
        maps = timed(lambda e=explainer: explain_table(e, classifier, table, targets))
        # every condition is explained once; the floors explain the clean images once per
        # floor, i.e. floors / conditions of an explanation per image and condition
        seconds += maps * (1 + floors / len(study.conditions(dataset)))
    return seconds / len(table)


def floor_of(config: dict, results: Path) -> float:
    """The faster of two :func:`compute_floor` timings: the first model of a kind that a
    process builds runs ~1.6x slower for minutes (measured on Lite0, warm-ups or not)."""
    return min(compute_floor(config, results) for _ in range(2))


def measure(name: str, workdir: Path, overhead) -> dict:
    config = study_config(*RUNS[name])
    wall = run_study(name, config, workdir)
    results = workdir / name / "results"
    costs = overhead.collect(results)
    total = overhead.combined("all", costs)
    model = overhead.combined("model", [c for c in costs if c.rule in MODEL_RULES])
    from salsweep.config import Study
    from salsweep.io import read_table

    study = Study(config)
    (dataset,) = study.datasets
    images = len(read_table(results / "datasets" / dataset / "eval.parquet", columns=["image_id"]))
    conditions = len(study.conditions(dataset))
    work = images * conditions
    return {
        "run": name,
        "images": images,
        "conditions": conditions,
        "shards": study.n_shards(dataset),
        "sweeps": len(config["perturbations"]),
        "jobs": total.jobs,
        "model_jobs": model.jobs,
        "wall_s": round(wall, 1),
        "job_s": round(total.job_seconds, 1),
        "startup_share": round(total.startup_share, 3),
        "model_job_s": round(model.job_seconds, 1),
        "model_startup_share": round(model.startup_share, 3),
        "peak_rss_mb": round(peak_rss_mb(results)),
        "job_s_per_image_condition": round(total.job_seconds / work, 4),
        "model_job_s_per_image_condition": round(model.job_seconds / work, 4),
        "floor_s_per_image_condition": round(floor_of(config, results), 4),
    }


def markdown(rows: list[dict]) -> str:
    header = (
        "| run | images | conditions | shards | sweeps | jobs | wall s | job-s | start-up "
        "share | model job-s | model start-up share | peak RSS MB | job-s / (image x "
        "condition) | model job-s / (image x condition) | floor s / (image x condition) | "
        "model job-s / floor |"
    )
    lines = [header, "|" + "---|" * 16]
    for r in rows:
        ratio = float(r["model_job_s_per_image_condition"]) / float(
            r["floor_s_per_image_condition"]
        )
        lines.append(
            f"| {r['run']} | {r['images']} | {r['conditions']} | {r['shards']} | "
            f"{r['sweeps']} | {r['jobs']} | {float(r['wall_s']):.1f} | {float(r['job_s']):.1f} "
            f"| {float(r['startup_share']):.0%} | {float(r['model_job_s']):.1f} | "
            f"{float(r['model_startup_share']):.0%} | {float(r['peak_rss_mb']):.0f} | "
            f"{float(r['job_s_per_image_condition']):.4f} | "
            f"{float(r['model_job_s_per_image_condition']):.4f} | "
            f"{float(r['floor_s_per_image_condition']):.4f} | {ratio:.1f}x |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=150)
    panels = [
        ("digits", "images (shards: 1, 2, 4)", "images", "digits, trained CNN, 9 conditions"),
        ("photos", "perturbation sweeps of 4 levels", "sweeps", "8 photos, EfficientNet-Lite0"),
    ]
    for ax, (part, xlabel, key, title) in zip(axes, panels, strict=True):
        part_rows = [r for r in rows if r["run"].startswith(part)]
        x = [float(r[key]) for r in part_rows]
        for column, label, style in [
            ("job_s_per_image_condition", "all jobs", "o-"),
            ("model_job_s_per_image_condition", "model jobs", "s-"),
            ("floor_s_per_image_condition", "compute floor (model work alone)", "k--"),
        ]:
            ax.plot(x, [float(r[column]) for r in part_rows], style, label=label)
        ax.set_xticks(x)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("job-seconds per image and condition")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_rows(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/salsweep-scaling"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "scaling_runs")
    parser.add_argument("--plot-only", action="store_true", help="redraw from <out>.csv")
    parser.add_argument(
        "--floors-only",
        action="store_true",
        help="time the compute floor again on the runs kept in --workdir, then redraw",
    )
    args = parser.parse_args(argv)
    csv_path, png_path = args.out.with_suffix(".csv"), args.out.with_suffix(".png")
    if args.plot_only or args.floors_only:
        with csv_path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if args.floors_only:
            sys.path.insert(0, str(REPO / "src"))
            for row in rows:
                config = study_config(*RUNS[row["run"]])
                results = args.workdir / row["run"] / "results"
                row["floor_s_per_image_condition"] = round(floor_of(config, results), 4)
            write_rows(rows, csv_path)
    else:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        sys.path.insert(0, str(REPO / "src"))
        overhead = load_overhead()
        rows = []
        for name in args.runs:
            rows.append(measure(name, args.workdir, overhead))
            print(markdown(rows[-1:]), flush=True)
        write_rows(rows, csv_path)
    plot(rows, png_path)
    print(markdown(rows))
    print(f"wrote {csv_path} and {png_path}")


if __name__ == "__main__":
    main()
