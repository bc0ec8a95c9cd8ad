"""The bench/ scripts' CPU-testable parts: bench/overhead.py's parsing, the CUDA batch-size
probe under a simulated out-of-memory error, and bench/gpu_check.sh end to end in its
--dry-run mode on the CPU."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from salsweep.models.base import Classifier
from salsweep.saliency import auto_batch_size, batching
from salsweep.saliency.batching import probe_batch_size

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


overhead = load_script("overhead")

BENCHMARK_HEADER = (
    "\t".join(
        [
            "s",
            "h:m:s",
            "max_rss",
            "max_vms",
            "max_uss",
            "max_pss",
            "io_in",
            "io_out",
            "mean_load",
            "cpu_time",
        ]
    )
    + "\n"
)


def write_job(results: Path, job: str, seconds: float, log: str | None) -> None:
    tsv = results / "benchmarks" / f"{job}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    tsv.write_text(BENCHMARK_HEADER + f"{seconds}\t0:00:01\t1\t1\t1\t1\t0\t0\t1\t1\n")
    if log is not None:
        path = results / "logs" / f"{job}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(log)


def test_overhead_per_rule(tmp_path: Path) -> None:
    write_job(
        tmp_path,
        "saliency/photos/lite0/rise/blur/3/shard-0",
        10.0,
        "2026-11-29 17:57:04,308 INFO salsweep.stages.saliency: model loaded\n"
        "Traceback-free continuation line without a timestamp\n"
        "2026-11-29 17:57:10,808 INFO salsweep.stages.saliency: wrote maps\n",
    )
    write_job(
        tmp_path,
        "saliency/photos/lite0/rise/blur/7/shard-0",
        6.0,
        "2026-11-29 23:59:59,500 INFO a\n2026-11-30 00:00:01,000 INFO b\n",
    )
    write_job(tmp_path, "perturb/digits/blur/3/shard-0", 0.5, "2026-11-29 17:00:00,000 INFO x\n")
    write_job(tmp_path, "manifest", 2.0, "no timestamp at all\n")
    write_job(tmp_path, "aggregate", 1.0, None)

    costs = {cost.rule: cost for cost in overhead.collect(tmp_path)}
    assert set(costs) == {"saliency", "perturb", "manifest", "aggregate"}
    saliency = costs["saliency"]
    assert saliency.jobs == 2 and saliency.job_seconds == pytest.approx(16.0)
    # 6.5 s in the first job, 1.5 s across midnight in the second
    assert saliency.span_seconds == pytest.approx(8.0)
    assert saliency.startup_share == pytest.approx(0.5)
    assert costs["perturb"].startup_share == pytest.approx(1.0)  # one log line: no span
    assert costs["perturb"].jobs_without_log == 0
    assert costs["manifest"].jobs_without_log == 1 and costs["aggregate"].jobs_without_log == 1

    text = overhead.table(list(costs.values()))
    assert "| saliency | 2 | 16.0 | 8.0 | 50% | 0 |" in text
    assert "| **all** | 5 | 19.5 | 8.0 | 59% | 2 |" in text
    # classify and saliency together: only saliency ran here
    assert "| **model jobs** (classify + saliency) | 2 | 16.0 | 8.0 | 50% | 0 |" in text


def test_overhead_span_capped_by_wall_time(tmp_path: Path) -> None:
    # a log appended to by an earlier run of the same job spans more than the job's wall time
    write_job(tmp_path, "classify/a", 2.0, "2026-11-29 10:00:00,000 I\n2026-11-29 11:00:00,000 I\n")
    (cost,) = overhead.collect(tmp_path)
    assert cost.span_seconds == 2.0 and cost.startup_share == 0.0


def test_overhead_floor_gives_the_lowest_share_each_model_rule_could_reach() -> None:
    # six jobs with 3.5 s of work in all, each paying a 1.5 s import floor: 9 / 12.5
    assert overhead.lowest_share(6, 3.5, 1.5) == pytest.approx(0.72)
    assert overhead.lowest_share(1, 3.5, 1.5) == pytest.approx(0.3)
    assert overhead.lowest_share(0, 0.0, 1.5) == 0.0
    costs = [
        overhead.RuleCost("saliency", jobs=12, job_seconds=90.0, span_seconds=67.5),
        overhead.RuleCost("classify", jobs=6, job_seconds=14.0, span_seconds=3.5),
        overhead.RuleCost("perturb", jobs=18, job_seconds=12.0, span_seconds=1.6),
    ]
    text = overhead.floor_table(costs, 1.5)
    assert "1.50 s per job" in text
    assert "| classify | 6 | 3.5 | 75% | 72% | 30% |" in text
    assert "| saliency | 12 | 67.5 | 25% | 21% | 2% |" in text
    assert "perturb" not in text  # CPU rules import no torch
    # the floor itself: a fresh interpreter importing the preamble and torch, timed
    assert 0.0 < overhead.import_floor_seconds(runs=1) < 60.0


def test_overhead_bad_input_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no benchmarks folder"):
        overhead.collect(tmp_path)
    bad = tmp_path / "benchmarks" / "classify" / "x.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("s\n1.2.3\n")
    with pytest.raises(ValueError, match=r"classify/x\.tsv: 's' is '1\.2\.3'"):
        overhead.collect(tmp_path)
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "overhead.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "x.tsv" in result.stderr


class OutOfMemoryAbove(Classifier):
    """A classifier whose forward raises CUDA's out-of-memory error above ``limit`` images,
    as a GPU with room for ``limit`` would."""

    name = "oom_above"

    def __init__(self, limit: int) -> None:
        super().__init__(["a", "b"])
        self.limit = limit
        self.sizes: list[int] = []
        self.scale = nn.Parameter(torch.ones(1))

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        self.sizes.append(len(images))
        if len(images) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        pooled = images.mean(dim=(1, 2, 3))[:, None] * self.scale
        return torch.cat([pooled, -pooled], dim=1)


def test_batch_probe_halves_on_out_of_memory() -> None:
    model = OutOfMemoryAbove(limit=100)
    # 512, 256, 128 fail, 64 fits; halved once more as headroom
    assert probe_batch_size(model, (8, 8), torch.device("cpu")) == 32
    assert model.sizes == [512, 256, 128, 64]
    assert probe_batch_size(OutOfMemoryAbove(limit=1), (8, 8), torch.device("cpu")) == 1
    assert probe_batch_size(OutOfMemoryAbove(limit=5), (8, 8), torch.device("cpu"), 16) == 2
    with pytest.raises(RuntimeError, match="not even one 8x8 image fits on cpu for oom_above"):
        probe_batch_size(OutOfMemoryAbove(limit=0), (8, 8), torch.device("cpu"))


def test_batch_probe_lets_other_errors_through() -> None:
    class Broken(OutOfMemoryAbove):
        def _logits(self, images: torch.Tensor) -> torch.Tensor:
            raise ValueError("a bug, not a full GPU")

    with pytest.raises(ValueError, match="a bug"):
        probe_batch_size(Broken(limit=10), (8, 8), torch.device("cpu"))


def test_auto_batch_size_probes_on_cuda_only(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(
        batching, "probe_batch_size", lambda *args: calls.append(args[2].type) or 64
    )
    model = OutOfMemoryAbove(limit=10)
    assert auto_batch_size(model, (224, 224), "cuda") == 64
    assert auto_batch_size(model, (224, 224), "cpu") == 8
    assert calls == ["cuda"]


absent = load_script("absent_wheels")


def test_absent_wheels_skips_installed_distributions(tmp_path: Path) -> None:
    for name in (
        "PyYAML-6.0.4-cp312-cp312-manylinux2014_x86_64.whl",  # installed here as pyyaml
        "torch-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        "surely_absent.dist-1.0-py3-none-any.whl",
    ):
        (tmp_path / name).write_bytes(b"")
    assert [w.name for w in absent.absent_wheels(tmp_path)] == [
        "surely_absent.dist-1.0-py3-none-any.whl"
    ]
    with pytest.raises(FileNotFoundError, match="no wheels; run bench/gpu_wheels.sh"):
        absent.absent_wheels(tmp_path / "missing")


SALIENCY_OUTPUT = """# salsweep saliency benchmark: some CPU
| model | method | params | batch | maps/s | (a) vs raw forwards | (b) vs xaitk |
|---|---|---|---|---|---|---|
| efficientnet_lite0 | (raw forward) | | 8 | 25.1 img/s | | |
| efficientnet_lite0 | rise | n=200, s=8, p1=0.5, precision=bf16 | 64 | 3.20 | 0.97 | 4.10x |
| efficientnet_lite0 | gradcam | defaults | 64 | 35.28 |  |  |
"""


def test_gpu_check_reads_the_saliency_table(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))  # gpu_check imports overhead as a sibling
    gpu_check = load_script("gpu_check")
    report = gpu_check.Report(tmp_path, 60)
    gpu_check.saliency_figures("saliency bf16", SALIENCY_OUTPUT, report)
    assert report.rows == [
        ("saliency bf16", "efficientnet_lite0 (raw forward) (batch 8)", "25.1 img/s", ""),
        (
            "saliency bf16",
            "efficientnet_lite0 rise (batch 64)",
            "3.20 maps/s; (a) 0.97; (b) 4.10x",
            "",
        ),
        ("saliency bf16", "efficientnet_lite0 gradcam (batch 64)", "35.28 maps/s", ""),
    ]
    with pytest.raises(ValueError, match="saliency fp16: bench/saliency.py printed no table"):
        gpu_check.saliency_figures("saliency fp16", "Traceback ...", report)


@pytest.mark.e2e
def test_gpu_check_dry_run(tmp_path: Path) -> None:
    """bench/gpu_check.sh end to end on the CPU: every step runs and the table has every
    figure. No wheels are given, so it installs nothing (gpu_wheels.sh needs the network)."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, GPU_WHEELS=str(tmp_path / "no_wheels"))
    env["GPU_SITE"] = str(tmp_path / "site")
    result = subprocess.run(
        [
            *("bash", str(REPO / "bench" / "gpu_check.sh"), "--dry-run"),
            *("--out", str(out), "--work", str(tmp_path / "work")),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    table = result.stdout[result.stdout.index("| check |") :]
    assert (out / "gpu_check.md").read_text() == table
    assert "FAILED" not in table and "DIFFERENT" not in table
    assert f"torch {torch.__version__}" in table
    assert "| auto batch size | efficientnet_lite0 32x32 | 2 images |" in table
    assert "| default study | snakemake -n (dry run) | done |" in table
    for name in ("predictions.parquet", "metrics.parquet", "summary.csv", "rejects.parquet"):
        assert f"| tiny study twice | {name} | identical (sha256 " in table
    for precision in ("fp32", "bf16", "fp16"):
        assert f"| saliency {precision} | efficientnet_lite0 sliding_window (batch 8) |" in table
    assert table.count("; (a) ") == 3 and table.count("; (b) ") == 3


scaling = load_script("scaling")


def test_scaling_runs_are_the_default_study_cut_down():
    from salsweep.config import Study

    digits = scaling.study_config(*scaling.RUNS["digits-240"])
    assert list(digits["datasets"]) == ["digits"] and list(digits["models"]) == ["cnn"]
    assert digits["datasets"]["digits"]["subset"] == 240 and digits["study"]["shards"] == 2
    assert scaling.study_config(*scaling.RUNS["digits-449"])["datasets"]["digits"]["subset"] is None
    photos = [scaling.study_config(*scaling.RUNS[f"photos-{n}"]) for n in (1, 2, 4)]
    assert [len(c["perturbations"]) for c in photos] == [1, 2, 4]
    assert list(photos[1]["perturbations"]) == ["gaussian_blur", "gaussian_noise"]
    for config in [digits, *photos]:
        Study(config)  # a valid study
    assert len(Study(photos[2]).conditions("photos")) == 17  # clean + 4 sweeps x 4 levels


def test_scaling_table_and_plot(tmp_path):
    rows = [
        {c: 1 for c in scaling.COLUMNS}
        | {"run": f"{part}-{n}", "images": n, "sweeps": n, "floor_s_per_image_condition": 0.5}
        for part in ("digits", "photos")
        for n in (1, 2, 4)
    ]
    text = scaling.markdown(rows)
    assert text.count("\n") == 7 and "| digits-2 | 2 |" in text and "| 2.0x |" in text
    scaling.plot(rows, tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
