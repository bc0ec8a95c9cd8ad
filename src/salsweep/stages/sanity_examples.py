"""The sanity figure's table: for one (dataset, model), the clean maps and the noise-floor
maps (random_logit, randomised_head, randomised_all) of one example image for every method,
in the examples table's format, so the figure needs only tables."""

from __future__ import annotations

import logging
import math

import pandas as pd

from salsweep.condition import CLEAN
from salsweep.io import (
    EXAMPLE_COLUMNS,
    FLOOR_PREFIX,
    example_rows,
    load_maps,
    read_table,
    write_table,
)

log = logging.getLogger(__name__)


def collect_sanity_examples(
    clean_map_paths: list[str],
    floor_map_paths: list[str],
    image_path: str,
    out_path: str,
    *,
    dataset: str,
    model: str,
    methods: list[str],
    floors: list[str],
) -> None:
    """``clean_map_paths[i]`` holds ``methods[i]``'s clean maps of the shard that
    ``image_path`` holds; ``floor_map_paths`` holds, per method in that order, one file per
    floor in ``floors`` order, rows aligned with the clean maps of the same shard. The
    example image is the shard's first image (the first the examples table shows)."""
    if len(clean_map_paths) != len(methods) or len(floor_map_paths) != len(methods) * len(floors):
        raise ValueError(
            f"sanity_examples: {len(clean_map_paths)} clean map files and "
            f"{len(floor_map_paths)} floor map files for methods {methods} and floors {floors}; "
            "it needs one clean file per method and one floor file per (method, floor)"
        )
    images = read_table(image_path, columns=["image_id", "image"])
    records = []
    chosen = None
    for m, method in enumerate(methods):
        clean = load_maps(clean_map_paths[m])
        if not clean.image_ids:
            raise ValueError(f"{clean_map_paths[m]}: no maps, so no example image to show")
        chosen = chosen or clean.image_ids[0]
        if chosen not in clean.image_ids:
            raise ValueError(f"{clean_map_paths[m]}: no map of example image {chosen!r}")
        matches = images.loc[images["image_id"] == chosen, "image"]
        if matches.empty:
            raise ValueError(f"{image_path}: no image {chosen!r}")
        image = matches.iloc[0]
        records += _rows(clean, CLEAN, 0.0, chosen, image, dataset, model, method)
        for f, floor in enumerate(floors):
            path = floor_map_paths[m * len(floors) + f]
            result = load_maps(path)
            if result.image_ids != clean.image_ids or result.target_names != clean.target_names:
                raise ValueError(
                    f"{path}: its images or targets are not aligned with the clean maps "
                    f"{clean_map_paths[m]} (floor {floor!r}, method {method!r})"
                )
            records += _rows(
                result, FLOOR_PREFIX + floor, math.nan, chosen, image, dataset, model, method
            )
    write_table(pd.DataFrame(records, columns=EXAMPLE_COLUMNS), out_path)
    log.info("example image %s, %d rows", chosen, len(records))


def _rows(result, perturbation, level, image_id, image, dataset, model, method) -> list[dict]:
    return example_rows(
        result,
        result.image_ids.index(image_id),
        dataset=dataset,
        model=model,
        method=method,
        perturbation=perturbation,
        level=level,
        image=image,
    )
