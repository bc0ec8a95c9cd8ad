"""Step 2: write the perturbed copy of one shard of a dataset at one level."""

from __future__ import annotations

import logging

import pandas as pd

from salsweep.condition import Condition
from salsweep.io import IMAGE_COLUMNS, decode_png, encode_png, read_table, write_table
from salsweep.seeding import item_rng

log = logging.getLogger(__name__)


def shard_slice(n_rows: int, n_shards: int, shard: int) -> slice:
    """Contiguous rows of one shard, as numpy.array_split divides them."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} outside 0..{n_shards - 1}")
    base, extra = divmod(n_rows, n_shards)
    start = shard * base + min(shard, extra)
    stop = start + base + (1 if shard < extra else 0)
    return slice(start, stop)


def read_shard(table_path: str, shard: int, n_shards: int) -> pd.DataFrame:
    table = read_table(table_path)
    return table.iloc[shard_slice(len(table), n_shards, shard)].reset_index(drop=True)


def perturb_shard(
    table_path: str,
    out_path: str,
    *,
    condition: Condition,
    kind: str | None,
    params: dict,
    seed: int,
    shard: int,
    n_shards: int,
) -> None:
    rows = read_shard(table_path, shard, n_shards)
    dataset, perturbation, level = condition.dataset, condition.perturbation, condition.level
    if kind is None:
        log.info("loaded: %d images of shard %d/%d", len(rows), shard, n_shards)
        out = rows[IMAGE_COLUMNS]
        summary = f"clean reference: {len(out)} images copied"
    else:
        from salsweep.perturbations import PERTURBATIONS

        perturber = PERTURBATIONS.get(kind)(condition.value, **params)
        # The first log line (bench/overhead.py): inputs read, the perturbation's code loaded.
        log.info("loaded: %d images of shard %d/%d", len(rows), shard, n_shards)
        images = []
        for image_id, blob in zip(rows["image_id"], rows["image"], strict=True):
            rng = item_rng(seed, dataset, perturbation, level, image_id)
            try:
                images.append(encode_png(perturber.perturb(decode_png(blob), rng)))
            except Exception as error:
                raise ValueError(f"{perturbation}@{level}: image {image_id!r}: {error}") from error
        out = rows[IMAGE_COLUMNS].assign(image=images)
        summary = f"{perturbation} ({kind}) at {level}: {len(out)} images"
    write_table(out, out_path)
    log.info("wrote %s: %s", out_path, summary)
