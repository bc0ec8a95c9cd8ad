"""Step 7: gather the per-shard results into the study's tidy tables."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from salsweep.io import (
    CHANGE_COLUMNS,
    CHANGE_KEYS,
    FLOOR_COLUMNS,
    FLOOR_KEYS,
    FLOOR_PREFIX,
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


def floor_summary_rows(floors: pd.DataFrame) -> list[tuple]:
    """Mean and 95% t-interval of each floor's drift values: summary rows with perturbation
    "floor:<floor>" and an empty (NaN) level."""
    rows = []
    keys = ["dataset", "model", "floor", "method", "target", "metric"]
    for (dataset, model, floor, method, target, metric), group in floors.groupby(keys, sort=True):
        n, mean, low, high = mean_ci(group["value"].to_numpy(dtype=np.float64))
        rows.append(
            (
                dataset,
                model,
                FLOOR_PREFIX + floor,
                np.nan,
                method,
                target,
                metric,
                n,
                mean,
                low,
                high,
            )
        )
    return rows


def summarize(
    predictions: pd.DataFrame, metrics: pd.DataFrame, floors: pd.DataFrame | None = None
) -> pd.DataFrame:
    rows = [] if floors is None else floor_summary_rows(floors)
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
    *,
    change_paths: list[str] = (),
    floor_paths: list[str] = (),
    out_changes: str | None = None,
    out_floors: str | None = None,
) -> None:
    """``out_changes`` / ``out_floors``: where to gather the changes and floors shards
    (written, empty if there are none, whenever given)."""
    predictions = concat_tables(prediction_paths, PREDICTION_COLUMNS, PREDICTION_KEYS)
    metrics = concat_tables(metric_paths, METRIC_COLUMNS, METRIC_KEYS)
    rejects = gather_rejects(reject_paths)
    floors = concat_tables(list(floor_paths), FLOOR_COLUMNS, FLOOR_KEYS)
    summary = summarize(predictions, metrics, floors)
    write_table(predictions, out_predictions)
    write_table(metrics, out_metrics)
    write_table(rejects, out_rejects)
    write_summary(summary, out_summary)
    if out_floors is not None:
        write_table(floors, out_floors)
    if out_changes is not None:
        changes = concat_tables(list(change_paths), CHANGE_COLUMNS, CHANGE_KEYS)
        changes["flipped"] = changes["flipped"].astype(bool)
        write_table(changes, out_changes)
    log.info(
        "predictions %d rows, metrics %d rows, summary %d rows, rejects %d, floors %d",
        len(predictions),
        len(metrics),
        len(summary),
        len(rejects),
        len(floors),
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
