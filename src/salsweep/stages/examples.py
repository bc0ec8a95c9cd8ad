"""Example images and their maps across levels, stored as a table so figures need only tables."""

from __future__ import annotations

import logging

import pandas as pd

from salsweep.condition import Condition
from salsweep.io import EXAMPLE_COLUMNS, example_rows, load_maps, read_table, write_table

log = logging.getLogger(__name__)


def collect_examples(
    map_paths: list[str],
    image_paths: list[str],
    out_path: str,
    *,
    conditions: list[Condition],
    n_examples: int,
    model: str,
    method: str,
) -> None:
    """``conditions[i]`` is the condition of both ``map_paths[i]`` and ``image_paths[i]``."""
    if not len(map_paths) == len(image_paths) == len(conditions):
        raise ValueError(
            f"examples: {len(map_paths)} map files and {len(image_paths)} image files for "
            f"{len(conditions)} conditions; each list needs one entry per condition and shard"
        )
    images = {}
    for condition, path in zip(conditions, image_paths, strict=True):
        table = read_table(path, columns=["image_id", "image"])
        for image_id, blob in zip(table["image_id"], table["image"], strict=True):
            images[(condition, image_id)] = blob
    chosen: list[str] = []
    rows = []
    for condition, path in zip(conditions, map_paths, strict=True):
        result = load_maps(path)
        if condition.is_clean:
            chosen.extend(result.image_ids[: max(0, n_examples - len(chosen))])
        rows.append((condition, result))
    wanted = set(chosen)
    records = []
    for condition, result in rows:
        for i, image_id in enumerate(result.image_ids):
            if image_id not in wanted:
                continue
            records += example_rows(
                result,
                i,
                dataset=condition.dataset,
                model=model,
                method=method,
                perturbation=condition.perturbation,
                level=condition.table_level,
                image=images[(condition, image_id)],
            )
    table = pd.DataFrame(records, columns=EXAMPLE_COLUMNS)
    order = {image_id: rank for rank, image_id in enumerate(chosen)}
    table["_rank"] = table["image_id"].map(order)
    table = table.sort_values(["_rank", "perturbation", "level", "target"], kind="stable")
    write_table(table.drop(columns="_rank").reset_index(drop=True), out_path)
    log.info("%d example images, %d rows", len(chosen), len(table))


def combine_examples(paths: list[str], out_path: str) -> None:
    frames = [read_table(path) for path in paths]
    table = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EXAMPLE_COLUMNS)
    )
    write_table(table[EXAMPLE_COLUMNS], out_path)
