"""The GPU check's steps (started by bench/gpu_check.sh, which installs the wheels first).

Runs, each in a subprocess with its own time limit so that one slow step cannot eat the
others' time: the auto batch-size probe, the default study (timed), a tiny study twice (are
its tables byte-identical?), and bench/saliency.py at fp32, bf16 and fp16 with the ratios
(a) and (b). Prints one markdown table with every figure; it and each step's output are
kept in --out ($OUT/gpu_check by default), the studies in --work. --dry-run runs the same
steps on the CPU with tiny sizes, the default study as a snakemake dry run (-n).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import overhead

REPO = Path(__file__).resolve().parents[1]
TABLES = ("predictions.parquet", "metrics.parquet", "summary.csv", "rejects.parquet")
# Seconds per step on the GPU machine; all together within the 8-minute run.
GPU_LIMITS = {"probe": 40, "default": 170, "tiny": 50, "fp32": 80, "bf16": 50, "fp16": 50}
TOTAL_SECONDS = 465
# The dry run is a test on a possibly busy 2-core CPU: what counts there is that it completes.
DRY_LIMIT_SECONDS, DRY_TOTAL_SECONDS = 300, 1500
DRY_SLIDING_WINDOW = {"window": 0.5, "stride": 0.5, "fill": [0, 0, 0]}


class Report:
    def __init__(self, out: Path, budget_seconds: float) -> None:
        self.out = out
        self.rows: list[tuple[str, str, str, str]] = []
        self.failed = False
        self.deadline = time.monotonic() + budget_seconds

    def add(self, check: str, item: str, figure: str, seconds: float | None = None) -> None:
        self.rows.append((check, item, figure, "" if seconds is None else f"{seconds:.1f}"))

    def run(self, name: str, command: list[str], limit: float, cwd: Path = REPO):
        """Runs ``command``; returns (stdout, seconds), or (None, seconds) after adding a
        failure row (non-zero exit, or past its time limit or the run's deadline)."""
        limit = min(limit, self.deadline - time.monotonic())
        log = self.out / f"{name}.log"
        if limit < 5:
            self.add(name, "", "skipped: the run's time is spent")
            self.failed = True
            return None, 0.0
        start = time.monotonic()
        try:
            result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired as error:
            # TimeoutExpired keeps the output as bytes even with text=True
            output = [
                part.decode(errors="replace") if isinstance(part, bytes) else part or ""
                for part in (error.stdout, error.stderr)
            ]
            log.write_text(f"$ {' '.join(command)}\n" + "\n".join(output))
            self.add(name, "", f"FAILED: past its {limit:.0f} s limit ({log.name})", limit)
            self.failed = True
            return None, limit
        seconds = time.monotonic() - start
        log.write_text(f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}")
        if result.returncode != 0:
            self.add(name, "", f"FAILED: exit {result.returncode} ({log.name})", seconds)
            self.failed = True
            print(f"--- {name} failed:\n{result.stderr[-3000:]}", file=sys.stderr)
            return None, seconds
        return result.stdout, seconds

    def table(self) -> str:
        lines = ["| check | item | figure | seconds |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return "\n".join(lines)


ENVIRONMENT = """
import json, sys, torch
cuda = torch.cuda.is_available()
print(json.dumps({
    "python": sys.version.split()[0],
    "torch": torch.__version__,
    "torch_file": torch.__file__,
    "gpu": torch.cuda.get_device_name(0) if cuda else "none",
}))
"""

PROBE = """
import json, sys, time, torch
from salsweep.models import load_classifier
from salsweep.saliency.batching import auto_batch_size, probe_batch_size
device, side, limit = torch.device(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
names = [str(i) for i in range(1000)]
model = load_classifier({"source": "efficientnet_lite0"}, names, device)
start = time.perf_counter()
# auto_batch_size probes on CUDA only; probe_batch_size is that probe on any device
size = (auto_batch_size(model, (side, side), device, limit) if device.type == "cuda"
        else probe_batch_size(model, (side, side), device, limit))
print(json.dumps({"batch": size, "seconds": time.perf_counter() - start}))
"""


def tiny_study(device: str, with_photos: bool) -> dict:
    """A study of built-in sources only (no files to ship): digits with a CNN trained in the
    DAG, and on the GPU also two photos with EfficientNet-Lite0 and a gradient method (the
    CPU dry run keeps to the fewest jobs); a few jobs of each rule."""
    config = {
        "study": {"name": "gpu_tiny", "seed": 0, "device": device},
        "datasets": {"digits": {"source": "sklearn_digits", "image_size": 32, "subset": 12}},
        "models": {
            "cnn": {
                "source": "train",
                "datasets": ["digits"],
                "train": {"dataset": "digits", "epochs": 1, "width": 8},
            }
        },
        "perturbations": {"gaussian_blur": {"levels": [3]}},
        "saliency": {
            "targets": ["pred"],
            "methods": {"sliding_window": {"window": 0.25, "stride": 0.25, "fill": "mean"}},
        },
        "metrics": ["entropy", "ssd"],
    }
    if with_photos:
        config["saliency"]["methods"]["vanilla_gradient"] = {}
        config["datasets"]["photos"] = {
            "source": "bundled_photos",
            "image_size": 224,
            "subset": 2,
        }
        config["models"]["lite0"] = {"source": "efficientnet_lite0", "datasets": ["photos"]}
    return config


def snakemake(workdir: Path, configs: list[Path], cores: int, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        *map(str, configs),
        "--cores",
        str(cores),
        *args,
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def markdown_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown tables in ``text`` (no header, no separator)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "model":
            continue
        rows.append(cells)
    return rows


def saliency_figures(check: str, text: str, report: Report) -> None:
    """One row per saliency.py row: maps/s, and the ratios (a) and (b) where it has them."""
    rows = markdown_rows(text)
    if not rows:
        raise ValueError(f"{check}: bench/saliency.py printed no table rows")
    for model, method, _params, batch, speed, ratio_a, ratio_b in rows:
        figure = speed if speed.endswith("img/s") else f"{speed} maps/s"
        if ratio_a:
            figure += f"; (a) {ratio_a}; (b) {ratio_b}"
        report.add(check, f"{model} {method} (batch {batch})", figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="the CPU, tiny sizes")
    parser.add_argument("--out", type=Path, default=None, help="step logs and the table")
    parser.add_argument(
        "--work", type=Path, default=None, help="the studies' folders (default: a temp folder)"
    )
    parser.add_argument("--site", default="", help="where gpu_check.sh installed the wheels")
    parser.add_argument("--installed", type=int, default=0)
    parser.add_argument("--install-seconds", type=float, default=0.0)
    args = parser.parse_args(argv)
    out = args.out or Path(os.environ.get("OUT") or "/tmp") / "gpu_check"
    out.mkdir(parents=True, exist_ok=True)
    # the studies stay out of $OUT, which the device tool copies back
    work = args.work or Path(tempfile.mkdtemp(prefix="salsweep_gpu_check_"))
    work.mkdir(parents=True, exist_ok=True)
    device = "cpu" if args.dry_run else "cuda"
    cores = min(os.cpu_count() or 1, 2 if args.dry_run else 16)
    limits = {name: DRY_LIMIT_SECONDS for name in GPU_LIMITS} if args.dry_run else GPU_LIMITS
    total = DRY_TOTAL_SECONDS if args.dry_run else TOTAL_SECONDS
    report = Report(out, total - args.install_seconds)
    report.add("install", f"{args.installed} wheels absent here", "installed", args.install_seconds)

    text, _ = report.run("environment", [sys.executable, "-c", ENVIRONMENT], 60)
    if text is None:
        print(report.table())
        return 1
    env = json.loads(text)
    report.add("environment", f"Python {env['python']}, torch {env['torch']}", env["gpu"])
    if args.site and env["torch_file"].startswith(str(Path(args.site).resolve())):
        report.add("environment", "torch", f"FAILED: imported from {env['torch_file']}")
        report.failed = True
    if not args.dry_run and env["gpu"] == "none":
        report.add("environment", "CUDA", "FAILED: torch sees no GPU")
        print(report.table())
        return 1

    # The batch-size probe: lite0 at 224 on CUDA; on the CPU a real probe at a small size.
    side, limit = ("32", "4") if args.dry_run else ("224", "512")
    text, _ = report.run(
        "probe", [sys.executable, "-c", PROBE, device, side, limit], limits["probe"]
    )
    if text is not None:
        probe = json.loads(text)
        report.add(
            "auto batch size",
            f"efficientnet_lite0 {side}x{side}",
            f"{probe['batch']} images",
            probe["seconds"],
        )

    # The default study, timed, with its start-up share per model rule.
    default = work / "default"
    device_config = work / "device.json"
    device_config.write_text(json.dumps({"study": {"device": device}}))
    configs = [REPO / "config" / "config.yaml", device_config]
    dry = ["-n"] if args.dry_run else []
    text, seconds = report.run(
        "default", snakemake(default, configs, cores, *dry), limits["default"]
    )
    if text is not None:
        report.add("default study", "snakemake -n (dry run)" if dry else "wall", "done", seconds)
        if not dry:
            for cost in overhead.collect(default / "results"):
                report.add(
                    "default study",
                    f"{cost.rule}: {cost.jobs} jobs, {cost.job_seconds:.1f} job-s",
                    f"start-up share {cost.startup_share:.0%}",
                )

    # A tiny study twice: its tables must be byte-identical.
    tiny_config = work / "tiny.json"
    tiny_config.write_text(json.dumps(tiny_study(device, with_photos=not args.dry_run)))
    targets = [f"results/tables/{name}" for name in TABLES]
    runs = []
    for run in ("tiny-a", "tiny-b"):
        workdir = work / run
        text, seconds = report.run(
            run, snakemake(workdir, [tiny_config], cores, *targets), limits["tiny"]
        )
        if text is not None:
            report.add("tiny study", run, "done", seconds)
            runs.append(workdir / "results" / "tables")
    if len(runs) == 2:
        for name in TABLES:
            same = sha256(runs[0] / name) == sha256(runs[1] / name)
            figure = f"identical (sha256 {sha256(runs[0] / name)[:12]})" if same else "DIFFERENT"
            report.add("tiny study twice", name, figure)
            report.failed |= not same

    # bench/saliency.py: the full table at fp32; bf16 / fp16 change only black-box methods.
    for precision in ("fp32", "bf16", "fp16"):
        command = [
            sys.executable,
            str(REPO / "bench" / "saliency.py"),
            "--device",
            device,
            "--precision",
            precision,
        ]
        if args.dry_run:
            command += ["--images", "1", "--rounds", "1", "--image-size", "32"]
            command += ["--batch-size", "8", "--threads", "1"]
            command += ["--models", "efficientnet_lite0", "--methods", "sliding_window"]
            # 5 forwards per image, not 50: fp16 autocast on a CPU is ~10x slower than fp32
            command += ["--params", json.dumps({"sliding_window": DRY_SLIDING_WINDOW})]
        elif precision != "fp32":
            command += ["--methods", "sliding_window,rise,rise_debiased"]
        text, seconds = report.run(f"saliency-{precision}", command, limits[precision])
        if text is not None:
            saliency_figures(f"saliency {precision}", text, report)
            report.add(f"saliency {precision}", "the whole script", "done", seconds)

    table = report.table()
    (out / "gpu_check.md").write_text(table + "\n")
    print(table)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
