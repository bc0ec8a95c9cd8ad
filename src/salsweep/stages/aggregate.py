"""Step 7: gather the per-shard results into the study's tidy tables."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from salsweep.io import (
    METRIC_COLUMNS,
    METRIC_KEYS,
    PREDICTION_COLUMNS,
    PREDICTION_KEYS,
    REJECT_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_GROUP,
    empty_table,
    read_table,
    write_summary,
    write_table,
)
from salsweep.stats import mean_ci, wilson_interval

log = logging.getLogger(__name__)


def concat_tables(paths: list[str], columns: list[str], sort_by: list[str]) -> pd.DataFrame:
    frames = [read_table(path) for path in paths]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_table(columns)
    table = pd.concat(frames, ignore_index=True)[columns]
    # A stable order independent of job completion order and sharding.
    return table.sort_values(sort_by, kind="stable").reset_index(drop=True)


def summarize(predictions: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in metrics.groupby(SUMMARY_GROUP, sort=True, dropna=False):
        n, mean, low, high = mean_ci(group["value"].to_numpy(dtype=np.float64))
        rows.append((*key, n, mean, low, high))
    keys = ["dataset", "model", "perturbation", "level"]
    for key, group in predictions.groupby(keys, sort=True):
        n = len(group)
        correct = int(group["correct"].sum())
        low, high = wilson_interval(correct, n)
        rows.append((*key, "", "", "accuracy", n, correct / n, low, high))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return summary.sort_values(SUMMARY_GROUP, kind="stable").reset_index(drop=True)


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
    if not frames:
        return pd.DataFrame(columns=REJECT_COLUMNS, dtype=str)
    return pd.concat(frames, ignore_index=True)[REJECT_COLUMNS].astype(str)
