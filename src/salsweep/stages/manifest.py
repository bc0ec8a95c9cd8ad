"""Provenance: what produced these results (config, code, versions, device, timings)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from salsweep.io import write_json

log = logging.getLogger(__name__)

PACKAGES = ["torch", "transformers", "datasets", "captum", "numpy", "pandas", "snakemake"]


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def git_state(repo: str) -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", repo, *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def device_info(device: str) -> dict:
    info = {"requested": device, "platform": platform.platform(), "processor": platform.machine()}
    try:
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["cuda_devices"] = [
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            ]
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["cuda_available"] = None
    return info


def benchmark_summary(benchmark_dir: str) -> dict:
    """Per rule: jobs, total and max wall seconds, max RSS (MB), from Snakemake benchmark files."""
    summary: dict[str, dict] = {}
    root = Path(benchmark_dir)
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0].removesuffix(".tsv")
        with path.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for row in rows:
            entry = summary.setdefault(
                rule, {"jobs": 0, "total_s": 0.0, "max_s": 0.0, "max_rss_mb": 0.0}
            )
            seconds = float(row.get("s") or 0)
            rss = row.get("max_rss")
            entry["jobs"] += 1
            entry["total_s"] = round(entry["total_s"] + seconds, 3)
            entry["max_s"] = round(max(entry["max_s"], seconds), 3)
            if rss not in (None, "", "NA", "-"):
                entry["max_rss_mb"] = round(max(entry["max_rss_mb"], float(rss)), 1)
    return summary


def write_manifest(
    config: dict,
    repo: str,
    benchmark_dir: str,
    start_file: str,
    out_path: str,
) -> None:
    start = Path(start_file).read_text().strip() if Path(start_file).exists() else None
    manifest = {
        "study": config.get("study", {}).get("name"),
        "config": config,
        "config_sha256": config_hash(config),
        "git": git_state(repo),
        "versions": versions(),
        "device": device_info(config.get("study", {}).get("device", "auto")),
        "seeds": {
            "study": config.get("study", {}).get("seed"),
            "derivation": "blake2b(study seed, dataset, perturbation, level, image id)",
        },
        "started": start,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "benchmarks": benchmark_summary(benchmark_dir),
    }
    write_json(manifest, out_path)
    log.info("manifest: %d rules benchmarked", len(manifest["benchmarks"]))
