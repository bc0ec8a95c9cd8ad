"""Start-up share per rule of a finished run (a script, not a test): `python bench/overhead.py`.

Reads every job's wall time from ``<results>/benchmarks/<rule>/...tsv`` (snakemake's ``s``
column) and the span between the first and last timestamped line of its log, the mirrored
``<results>/logs/<rule>/...log``. A job logs its first line once its inputs are read and its
model loaded, and its last once its output is written, so start-up (interpreter, imports,
model load, writing) is ``wall - span``, and the share printed is ``1 - sum(span) / sum(wall)``
over the rule's jobs. A job whose log has no timestamped line counts as all start-up.

``--floor`` also measures what no model job can skip while each job is its own process: a
fresh interpreter that imports Snakemake's script preamble and torch, and nothing else. From
its median it prints the lowest start-up share each model rule could reach with its present
number of jobs, and with all of its work in a single job.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# "2026-11-29 17:57:04,308 INFO salsweep...": the logging module's default asctime.
TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass
class RuleCost:
    rule: str
    jobs: int = 0
    job_seconds: float = 0.0
    span_seconds: float = 0.0
    jobs_without_log: int = 0

    @property
    def startup_share(self) -> float:
        return 1.0 - self.span_seconds / self.job_seconds if self.job_seconds > 0 else 0.0


def log_span_seconds(path: Path) -> float | None:
    """Seconds between the first and last timestamped line of ``path``; None if it has none
    (lines without a timestamp, such as a traceback's, are skipped)."""
    stamps = []
    for line in path.read_text(errors="replace").splitlines():
        match = TIMESTAMP.match(line)
        if match:
            stamps.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    if not stamps:
        return None
    return (stamps[-1] - stamps[0]).total_seconds()


def benchmark_seconds(path: Path) -> float:
    """The wall time of a snakemake benchmark file (its first row's ``s`` column)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise ValueError(f"{path}: not a snakemake benchmark file (no 's' column or no row)")
    try:
        return float(rows[0]["s"])
    except ValueError:
        raise ValueError(f"{path}: 's' is {rows[0]['s']!r}, not a number of seconds") from None


def collect(results: Path) -> list[RuleCost]:
    """One :class:`RuleCost` per rule (the first folder under ``benchmarks/``, or the file's
    stem for a rule with one job), sorted by job-seconds, largest first."""
    benchmarks = results / "benchmarks"
    if not benchmarks.is_dir():
        raise FileNotFoundError(f"{benchmarks}: no benchmarks folder; is {results} a run?")
    costs: dict[str, RuleCost] = {}
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        relative = tsv.relative_to(benchmarks)
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        cost = costs.setdefault(rule, RuleCost(rule))
        wall = benchmark_seconds(tsv)
        log = (results / "logs" / relative).with_suffix(".log")
        span = log_span_seconds(log) if log.is_file() else None
        cost.jobs += 1
        cost.job_seconds += wall
        if span is None:
            cost.jobs_without_log += 1
        else:
            cost.span_seconds += min(span, wall)
    return sorted(costs.values(), key=lambda c: (-c.job_seconds, c.rule))


# The model jobs of issue 15's goal: their start-up share is printed together as well.
MODEL_RULES = ("classify", "saliency")


def combined(name: str, costs: list[RuleCost]) -> RuleCost:
    total = RuleCost(name)
    for cost in costs:
        total.jobs += cost.jobs
        total.job_seconds += cost.job_seconds
        total.span_seconds += cost.span_seconds
        total.jobs_without_log += cost.jobs_without_log
    return total


def row(cost: RuleCost) -> str:
    return (
        f"| {cost.rule} | {cost.jobs} | {cost.job_seconds:.1f} | {cost.span_seconds:.1f} | "
        f"{cost.startup_share:.0%} | {cost.jobs_without_log} |"
    )


def table(costs: list[RuleCost]) -> str:
    lines = [
        "| rule | jobs | job-s | log span s | start-up share | jobs without log lines |",
        "|---|---|---|---|---|---|",
        *(row(cost) for cost in costs),
        row(
            combined(
                "**model jobs** (classify + saliency)", [c for c in costs if c.rule in MODEL_RULES]
            )
        ),
        row(combined("**all**", costs)),
    ]
    return "\n".join(lines)


# What every model job runs before its first line: Snakemake's script preamble, then torch.
FLOOR_CODE = "import snakemake.script, torch"


def import_floor_seconds(runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running :data:`FLOOR_CODE`, no work at all."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR_CODE], check=True)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def lowest_share(jobs: int, span_seconds: float, floor_seconds: float) -> float:
    """The start-up share of ``jobs`` jobs that together do ``span_seconds`` of work and each
    pay only the import floor."""
    startup = jobs * floor_seconds
    return startup / (startup + span_seconds) if startup + span_seconds > 0 else 0.0


def floor_table(costs: list[RuleCost], floor_seconds: float) -> str:
    lines = [
        f"Import floor (python -c {FLOOR_CODE!r}, median): {floor_seconds:.2f} s per job",
        "",
        "| rule | jobs | log span s | start-up share | lowest share, these jobs "
        "| lowest share, one job |",
        "|---|---|---|---|---|---|",
    ]
    for cost in costs:
        if cost.rule in MODEL_RULES:
            lines.append(
                f"| {cost.rule} | {cost.jobs} | {cost.span_seconds:.1f} | "
                f"{cost.startup_share:.0%} | "
                f"{lowest_share(cost.jobs, cost.span_seconds, floor_seconds):.0%} | "
                f"{lowest_share(1, cost.span_seconds, floor_seconds):.0%} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the import floor and print each model rule's lowest possible share",
    )
    args = parser.parse_args(argv)
    try:
        costs = collect(args.results)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"error: {error}")
    print(table(costs))
    if args.floor:
        print()
        print(floor_table(costs, import_floor_seconds()))


if __name__ == "__main__":
    main()
