"""The SLURM profile on a real (single-node, throwaway) Slurm: the tiny study submitted with
the slurm executor plugin gives the same tables, byte for byte, as a local run, and the
model rules are submitted and scheduled as GPU jobs (fake GPUs: /dev/null device files).

Needs root (slurmd) and the Debian slurm packages (installed with apt-get when missing);
skipped elsewhere with the reason. That test is marked `slurm` so quick runs can leave it
out; the profile checks (a dry run) run everywhere."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_snakemake, tiny_study, write_config
from slurm_cluster import PARTITION, SlurmCluster, SlurmUnavailable

PROFILE = REPO / "profiles" / "slurm" / "profile.yaml"
MODEL_RULES = ("classify", "saliency")  # the model rules in the tiny study's DAG
TARGETS = ("results/tables/predictions.parquet", "results/tables/metrics.parquet")
RUN_TIMEOUT = 300  # the plugin can poll forever when status queries fail: always bounded


def gpu_rules() -> set[str]:
    """Every rule whose resources carry the GPU tag (gpu=GPU) in rules/*.smk."""
    rules = set()
    for path in (REPO / "rules").glob("*.smk"):
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M):
            if re.search(r"^\s+gpu=GPU,", match.group(2), re.M):
                rules.add(match.group(1))
    return rules


needs_plugin = pytest.mark.skipif(
    importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
    reason="snakemake-executor-plugin-slurm is not installed (pip install -e .[test])",
)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("starting a single-node SLURM (slurmd) needs root")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as error:
        pytest.skip(f"cannot start SLURM here: {error}")
    yield cluster
    cluster.stop()


def slurm_study(standins) -> dict:
    """One dataset, one model, one sweep of two levels, one method: 3 conditions in 2 model
    jobs per rule (the clean reference and the sweep), 1 shard.
    device cpu, but gpu_jobs forces the GPU tag on the model rules."""
    base = tiny_study(standins)
    return tiny_study(
        standins,
        study={
            "name": "slurm",
            "seed": 7,
            "device": "cpu",
            "gpu_jobs": True,
            "gpu_resources": {"mem_mb": 1000, "runtime": 10, "threads": 1},
        },
        datasets={"tiny": base["datasets"]["tiny"]},
        models={"vit": base["models"]["vit"]},
        perturbations={"gaussian_blur": {"levels": [3, 5]}},
        saliency={
            "targets": ["truth", "pred"],
            "batch_size": 16,
            "methods": {"sliding_window": {"window": 4, "stride": 4, "fill": [128, 128, 128]}},
        },
        metrics=["entropy", "ssd"],
    )


def test_profile_entries(tmp_path):
    """The profile parses and sets what a cluster run needs (no SLURM needed for this)."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    assert {"slurm_partition", "slurm_account", "runtime", "mem_mb"} <= set(
        profile["default-resources"]
    )
    assert {"classify", "saliency", "train"} <= gpu_rules()
    for rule in sorted(gpu_rules()):  # every GPU rule goes to the GPU partition
        assert rule in profile["set-resources"], f"{rule} missing from set-resources"
        assert {"cpus_per_gpu", "slurm_partition"} <= set(profile["set-resources"][rule]), rule
    groups = dict(entry.split("=") for entry in profile["group-components"])
    assert set(groups) == {"perturb", "map_metrics"}
    for key in ("slurm-requeue", "retries", "latency-wait"):
        assert key in profile, key
    # rerun-incomplete comes from profiles/default, which Snakemake merges over this one.
    shared = yaml.safe_load((PROFILE.parents[1] / "default" / "profile.yaml").read_text())
    assert shared["rerun-incomplete"] is True and "rerun-incomplete" not in profile
    # Every entry is explained: a comment line right above each top-level key.
    lines = PROFILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z][\w-]*:", line):
            assert lines[i - 1].startswith("#"), f"profile entry without a comment: {line}"


@needs_plugin
def test_slurm_profile_marks_model_rules_as_gpu_jobs(tmp_path, standins):
    """Dry run with the profile: model rules carry gpu=1 (gpu_jobs) and cpus_per_gpu."""
    configfile = write_config(tmp_path, slurm_study(standins))
    result = run_snakemake(tmp_path, configfile, "-n", "--profile", str(PROFILE.parent))
    blocks = re.split(r"\n(?=\s*\[[^\]]+\]\n\s*(?:local)?rule )", result.stdout)
    seen = set()
    for block in blocks:
        match = re.search(r"^\s*(local)?rule (\w+):", block, re.M)
        resources = re.search(r"resources: (.*)", block)
        if not match or not resources:
            continue
        rule = match.group(2)
        seen.add(rule)
        has_gpu = "gpu=1" in resources.group(1)
        assert has_gpu == (rule in gpu_rules()), f"{rule}: {resources.group(1)}"
        if has_gpu:
            assert "cpus_per_gpu=" in resources.group(1)
    assert set(MODEL_RULES) <= seen


def patched_profile(folder: Path) -> Path:
    """The profile with this cluster's site values and fast polling; the rest unchanged."""
    profile = yaml.safe_load(PROFILE.read_text())
    profile["default-resources"].update(slurm_partition=PARTITION, mem_mb=1000, runtime=10)
    # No slurmdbd here: no accounts to validate, and sacct fails (the plugin would poll
    # forever), so squeue answers status queries.
    del profile["default-resources"]["slurm_account"]
    profile["slurm-no-account"] = True
    profile["slurm-status-command"] = "squeue"
    for resources in profile["set-resources"].values():
        resources.update(slurm_partition=PARTITION, cpus_per_gpu=1)
    profile["cores"] = min(int(profile["cores"]), os.cpu_count() or 1)  # group job size
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile["seconds-between-status-checks"] = 2
    profile["latency-wait"] = 5
    profile["verbose"] = True  # the plugin logs its sbatch calls at debug level
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def slurm_jobs() -> list[dict[str, str]]:
    """Finished jobs stay in slurmctld for MinJobAge: their comment (rule) and allocation
    (JOB_GRES: the generic resources the job was given, e.g. gpu:fake:1)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "--details", "--oneliner"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    jobs = []
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields:
            jobs.append(fields)
    return jobs


@pytest.mark.slurm
@needs_plugin
def test_study_on_slurm_matches_local_run(slurm, tmp_path, standins, record_property):
    config = slurm_study(standins)
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    run_snakemake(local_dir, write_config(local_dir, config), "--cores", "2", *TARGETS)

    cluster_dir = tmp_path / "cluster"
    cluster_dir.mkdir()
    configfile = write_config(cluster_dir, config)
    profile = patched_profile(tmp_path / "profile")
    command = [
        "timeout", "-k", "10", str(RUN_TIMEOUT),
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(cluster_dir),
        "--configfile", str(configfile), "--profile", str(profile), *TARGETS,
    ]  # fmt: skip
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cluster_dir)
    wall = time.monotonic() - start
    record_property("slurm_run_seconds", round(wall, 1))
    print(f"snakemake --executor slurm on the tiny study: {wall:.1f} s")
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"slurm run failed ({result.returncode}, {wall:.0f} s):\n{output[-6000:]}\n"
        f"slurmctld:\n{slurm.log('slurmctld')}"
    )

    # Byte-identical tables: where a job ran does not change a result.
    for target in TARGETS:
        assert sha256(cluster_dir / target) == sha256(local_dir / target), target

    # The plugin's sbatch calls: model rules asked for a GPU, the short rules did not and
    # went in as one group job each; localrules were not submitted.
    calls = re.findall(r"sbatch call: (sbatch .*)", output)
    assert calls, f"no sbatch call in the log:\n{output[-3000:]}"
    submitted: dict[tuple[str, str], list[str]] = {}
    for call in calls:
        # --output <workdir>/.snakemake/slurm_logs/rule_<rule>/... or group_<group>_<id>/...
        where = re.search(r"/slurm_logs/(rule|group)_([^/]+)/", call)
        assert where, call
        submitted.setdefault(where.groups(), []).append(call)
    for rule in MODEL_RULES:  # a model job per sweep: the clean reference and the blur sweep
        assert len(submitted.get(("rule", rule), [])) == 2, f"{rule}: {sorted(submitted)}"
        assert all("--gpus=1" in call for call in submitted[("rule", rule)])
    for group in ("perturb", "map_metrics"):
        keys = [key for key in submitted if key[0] == "group" and key[1].startswith(group)]
        assert len(keys) == 1 and len(submitted[keys[0]]) == 1, f"{group}: {sorted(submitted)}"
        assert "--gpus" not in submitted[keys[0]][0]
    # The noise floors (a model rule) ask for a GPU too; the changes job (CPU) does not.
    floors, changes = submitted.get(("rule", "floors"), []), submitted.get(("rule", "changes"), [])
    assert floors and all("--gpus=1" in call for call in floors), sorted(submitted)
    assert changes and not any("--gpus" in call for call in changes), sorted(submitted)
    rules = {name for kind, name in submitted if kind == "rule"}
    assert rules == {*MODEL_RULES, "floors", "changes"}, f"submitted rules: {sorted(rules)}"

    # And SLURM allocated one (fake) GPU to each model job.
    jobs = [job for job in slurm_jobs() if job.get("Comment", "").startswith("rule_")]
    gpu_rule_names = "|".join([*MODEL_RULES, "floors"])
    model_jobs = [job for job in jobs if re.match(rf"rule_({gpu_rule_names})_", job["Comment"])]
    assert len(model_jobs) == 4 + len(floors), [job.get("Comment") for job in jobs]
    for job in model_jobs:
        assert job["JobState"] == "COMPLETED", job
        assert re.fullmatch(r"gpu(:\w+)?:1", job.get("JOB_GRES", "")), job
    for job in jobs:
        if job not in model_jobs:
            assert "gpu" not in job.get("JOB_GRES", ""), job
