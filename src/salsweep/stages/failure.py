"""failure.parquet: how well each drift metric's value predicts a flipped or wrong
prediction, against the confidence drop and the level (salsweep.failure)."""

from __future__ import annotations

import logging

from salsweep.failure import BOOTSTRAP_REPLICATES, failure_copies, failure_table
from salsweep.io import read_table, write_table

log = logging.getLogger(__name__)

CHANGE_KEYS = ["dataset", "model", "perturbation", "level", "image_id", "prob_clean_pred"]


def write_failure(
    predictions_path: str,
    metrics_path: str,
    changes_path: str,
    out_path: str,
    *,
    drift_metrics: dict[str, bool],
    identity_levels: dict,
    seed: int,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> None:
    copies = failure_copies(
        read_table(predictions_path), read_table(changes_path, columns=CHANGE_KEYS), identity_levels
    )
    metrics = read_table(metrics_path)
    table = failure_table(copies, metrics, drift_metrics, seed, replicates)
    write_table(table, out_path)
    log.info("%d rows, %d with a note", len(table), int((table["note"] != "").sum()))
