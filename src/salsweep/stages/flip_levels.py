"""flip_levels.parquet (per image and sweep, the first level that flips the prediction) and
the flip examples: chosen images at the level just before their flip and at it."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salsweep.condition import CLEAN, CLEAN_LEVEL, Condition, format_level
from salsweep.failure import flip_levels, strength
from salsweep.io import EXAMPLE_COLUMNS, example_rows, load_maps, read_table, write_table

log = logging.getLogger(__name__)


def write_flip_levels(predictions_path: str, out_path: str, identity_levels: dict) -> None:
    table = flip_levels(read_table(predictions_path), identity_levels)
    write_table(table, out_path)
    log.info("%d (image, sweep) rows, %d flip", len(table), int(table["flip_level"].notna().sum()))


def choose_flips(
    flips: pd.DataFrame, levels: dict[str, list[float]], identity_levels: dict, per_sweep: int
) -> list[tuple[str, str, Condition, Condition]]:
    """Per sweep, the first ``per_sweep`` images (by id) that flip: (sweep, image id, the
    condition just before the flip (clean at the mildest level), the flip's condition)."""
    chosen = []
    for sweep, group in flips.sort_values(["perturbation", "image_id"]).groupby("perturbation"):
        order = sorted(levels[sweep], key=lambda lv: float(strength(lv, identity_levels[sweep])))
        for row in group[group["flip_level"].notna()].head(per_sweep).itertuples():
            at = order.index(float(row.flip_level))
            dataset = row.dataset
            before = (
                Condition(dataset, sweep, format_level(order[at - 1]))
                if at > 0
                else Condition(dataset, CLEAN, CLEAN_LEVEL)
            )
            chosen.append(
                (
                    sweep,
                    row.image_id,
                    before,
                    Condition(dataset, sweep, format_level(row.flip_level)),
                )
            )
    return chosen


def collect_flip_examples(
    flip_levels_path: str,
    map_paths: list[str],
    map_conditions: list[dict],
    map_methods: list[str],
    image_paths: list[str],
    image_conditions: list[dict],
    out_path: str,
    *,
    dataset: str,
    model: str,
    levels: dict[str, list[float]],
    identity_levels: dict,
    per_sweep: int,
) -> None:
    """Rows in the examples table format (``EXAMPLE_COLUMNS``, every method and target) of
    the images :func:`choose_flips` picks, at their two conditions. ``map_conditions[i]``
    and ``map_methods[i]`` belong to ``map_paths[i]``, ``image_conditions[i]`` to
    ``image_paths[i]``; files of other conditions are not read."""
    if len(map_paths) != len(map_conditions) or len(map_paths) != len(map_methods):
        raise ValueError("flip examples: one condition and method per map file needed")
    if len(image_paths) != len(image_conditions):
        raise ValueError("flip examples: one condition per image file needed")
    flips = read_table(flip_levels_path)
    flips = flips[(flips["dataset"] == dataset) & (flips["model"] == model)]
    chosen = choose_flips(flips, levels, identity_levels, per_sweep)
    wanted = {(c, image_id) for _, image_id, before, at in chosen for c in (before, at)}
    conditions = {c for c, _ in wanted}
    images = {}
    for fields, path in zip(image_conditions, image_paths, strict=True):
        condition = Condition(**fields)
        if condition not in conditions:
            continue
        table = read_table(path, columns=["image_id", "image"])
        for image_id, blob in zip(table["image_id"], table["image"], strict=True):
            if (condition, image_id) in wanted:
                images[(condition, image_id)] = blob
    records = []
    for fields, method, path in zip(map_conditions, map_methods, map_paths, strict=True):
        condition = Condition(**fields)
        if condition not in conditions:
            continue
        result = load_maps(path)
        for i, image_id in enumerate(result.image_ids):
            if (condition, image_id) not in wanted:
                continue
            records += example_rows(
                result,
                i,
                dataset=dataset,
                model=model,
                method=method,
                perturbation=condition.perturbation,
                level=condition.table_level,
                image=images[(condition, image_id)],
            )
    table = pd.DataFrame(records, columns=EXAMPLE_COLUMNS)
    table["level"] = table["level"].astype(np.float64)
    table = table.sort_values(
        ["image_id", "method", "perturbation", "level", "target"], kind="stable"
    )
    write_table(table.reset_index(drop=True), out_path)
    log.info("%d flip examples, %d rows", len(chosen), len(table))
