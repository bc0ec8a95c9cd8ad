"""Step 7: gather the per-shard results into the study's tidy tables."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from salsweep.io import atomic_path, read_table, write_table
from salsweep.stages.classify import PREDICTION_COLUMNS
from salsweep.stages.map_metrics import METRIC_COLUMNS

log = logging.getLogger(__name__)

GROUP = ["dataset", "model", "perturbation", "level", "method", "target", "metric"]
SUMMARY_COLUMNS = [*GROUP, "n", "mean", "ci_low", "ci_high"]
PREDICTION_KEYS = ["dataset", "model", "perturbation", "level", "image_id"]
METRIC_KEYS = [
    "dataset",
    "model",
    "method",
    "perturbation",
    "level",
    "target",
    "metric",
    "image_id",
]


def concat_tables(paths: list[str], columns: list[str], sort_by: list[str]) -> pd.DataFrame:
    frames = [read_table(path) for path in paths]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        # Typed empty columns, so readers (figures) can use numeric operations on them.
        numeric = {"level", "value", "prob_label", "prob_pred"}
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c in numeric else "object") for c in columns}
        )
    table = pd.concat(frames, ignore_index=True)[columns]
    # A stable order independent of job completion order and sharding.
    return table.sort_values(sort_by, kind="stable").reset_index(drop=True)


def mean_ci(values: np.ndarray) -> tuple[int, float, float, float]:
    """n, mean and the 95% t-interval of the finite values (NaN bounds for n < 2)."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return 0, np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return n, mean, np.nan, np.nan
    from scipy import stats  # here: figures import this module and need no scipy

    sem = float(values.std(ddof=1)) / np.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * sem
    return n, mean, mean - half, mean + half


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def summarize(predictions: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in metrics.groupby(GROUP, sort=True, dropna=False):
        n, mean, low, high = mean_ci(group["value"].to_numpy(dtype=np.float64))
        rows.append((*key, n, mean, low, high))
    keys = ["dataset", "model", "perturbation", "level"]
    for key, group in predictions.groupby(keys, sort=True):
        n = len(group)
        correct = int(group["correct"].sum())
        low, high = wilson_interval(correct, n)
        rows.append((*key, "", "", "accuracy", n, correct / n, low, high))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return summary.sort_values(GROUP, kind="stable").reset_index(drop=True)


SUMMARY_FLOATS = ["level", "n", "mean", "ci_low", "ci_high"]


def write_summary(summary: pd.DataFrame, path: str) -> None:
    with atomic_path(path) as tmp:
        summary.to_csv(tmp, index=False, float_format="%.10g")


def read_summary(path: str) -> pd.DataFrame:
    """summary.csv as written: names stay strings (accuracy rows have empty method and
    target, not NaN), empty numbers are NaN."""
    return pd.read_csv(
        path,
        dtype={c: (np.float64 if c in SUMMARY_FLOATS else str) for c in SUMMARY_COLUMNS},
        keep_default_na=False,
        na_values={c: [""] for c in SUMMARY_FLOATS},
    )


def aggregate(
    prediction_paths: list[str],
    metric_paths: list[str],
    reject_paths: list[str],
    out_predictions: str,
    out_metrics: str,
    out_summary: str,
    out_rejects: str,
) -> None:
    predictions = concat_tables(prediction_paths, PREDICTION_COLUMNS, PREDICTION_KEYS)
    metrics = concat_tables(metric_paths, METRIC_COLUMNS, METRIC_KEYS)
    rejects = gather_rejects(reject_paths)
    summary = summarize(predictions, metrics)
    write_table(predictions, out_predictions)
    write_table(metrics, out_metrics)
    write_table(rejects, out_rejects)
    write_summary(summary, out_summary)
    log.info(
        "predictions %d rows, metrics %d rows, summary %d rows, rejects %d",
        len(predictions),
        len(metrics),
        len(summary),
        len(rejects),
    )


def gather_rejects(paths: list[str]) -> pd.DataFrame:
    """One table of rejected items; the dataset is read from the path (datasets/{name}/...)."""
    frames = []
    for path in paths:
        table = read_table(path)
        dataset = Path(path).parent.name
        stage = Path(path).name.removesuffix("_rejects.parquet")
        if "source" not in table.columns:  # written before the column existed
            table = table.assign(source="")
        frames.append(table.assign(dataset=dataset, split=stage))
    columns = ["dataset", "split", "image_id", "source", "reason"]
    if not frames:
        return pd.DataFrame(columns=columns, dtype=str)
    return pd.concat(frames, ignore_index=True)[columns].astype(str)
