"""Step 1: materialise one split of a configured dataset as an image table."""

from __future__ import annotations

import logging

import pandas as pd

from salsweep.io import DATASET_COLUMNS, write_json, write_table

log = logging.getLogger(__name__)


def materialize_dataset(
    spec: dict,
    split: str,
    seed: int,
    table_path: str,
    rejects_path: str,
    classes_path: str | None = None,
    dataset: str | None = None,
) -> None:
    from salsweep.datasets import prepare_split

    # The first log line (bench/overhead.py): reading the source is this job's work.
    log.info("reading the %s split of dataset %s (source %s)", split, dataset, spec.get("source"))
    try:
        result = prepare_split(spec, split, seed)
    except ValueError as error:
        if dataset is None:
            raise
        raise ValueError(f"datasets.{dataset} ({split} split): {error}") from error
    table = result.table[DATASET_COLUMNS].reset_index(drop=True)
    rejects = pd.DataFrame(
        {
            "image_id": result.rejects["image_id"].astype(str),
            "reason": result.rejects["reason"].astype(str),
            "source": result.rejects["source"].astype(str),
        }
    )
    write_table(table, table_path)
    write_table(rejects, rejects_path)
    if classes_path is not None:
        write_json(result.class_names, classes_path)
    log.info(
        "wrote %s: %s split: %d images kept + %d rejected = %d read; %d classes",
        table_path,
        split,
        len(table),
        len(rejects),
        len(table) + len(rejects),
        len(result.class_names),
    )
