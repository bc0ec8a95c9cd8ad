"""Step 6: score the maps of one shard (entropy, drift from the clean map, mask agreement)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import (
    METRIC_COLUMNS,
    decode_png,
    empty_table,
    load_maps,
    metric_frame,
    read_table,
    write_table,
)

log = logging.getLogger(__name__)


def ground_truth_masks(
    table: pd.DataFrame, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a mask, and those masks as booleans [n_with_mask, H, W]."""
    has_mask = table["mask"].notna().to_numpy(dtype=bool)
    if not has_mask.any():
        return has_mask, np.zeros((0, *shape), dtype=bool)
    masks = np.stack([decode_png(blob) > 0 for blob in table["mask"][has_mask]])
    if masks.shape[1:] != shape:
        raise ValueError(f"masks are {masks.shape[1:]}, maps are {shape}")
    return has_mask, masks


def score_shard(
    maps_path: str,
    images_path: str,
    out_path: str,
    *,
    reference_path: str | None,
    metric_specs: list[dict],
    condition: Condition,
    model: str,
    method: str,
) -> None:
    from salsweep.metrics import METRIC_INFO, score_maps

    result = load_maps(maps_path)
    table = read_table(images_path)
    if table["image_id"].tolist() != result.image_ids:
        raise ValueError(f"{maps_path}: image ids differ from {images_path}")
    reference = None
    if reference_path is not None:
        reference = load_maps(reference_path)
        if reference.image_ids != result.image_ids:
            raise ValueError(f"{maps_path}: image ids differ from the clean maps")
    n = len(result.image_ids)
    # The first log line (bench/overhead.py): inputs read, the metrics' code loaded.
    log.info(
        "loaded: %d images x %d targets%s",
        n,
        len(result.target_names),
        " and their clean maps" if reference is not None else "",
    )
    # Mask metrics are scored for the images that have a mask (a photo without a box gets
    # none, not NaN); every other metric for every image.
    has_mask, masks = ground_truth_masks(table, result.maps.shape[2:])
    needs_mask = [s for s in metric_specs if "mask" in METRIC_INFO[s["name"]]["requires"]]
    other = [s for s in metric_specs if s not in needs_mask]
    ids = np.asarray(result.image_ids, dtype=object)
    frames = []
    for t, target in enumerate(result.target_names):
        ref = reference.maps[:, t] if reference is not None else None
        scores = (
            [(label, ids, v) for label, v in score_maps(other, result.maps[:, t], ref).items()]
            if n
            else []
        )
        if needs_mask and has_mask.any():
            masked = score_maps(needs_mask, result.maps[has_mask, t], None, masks)
            scores += [(label, ids[has_mask], v) for label, v in masked.items()]
        for label, image_ids, values in scores:
            frames.append(
                metric_frame(
                    condition,
                    model=model,
                    method=method,
                    target=target,
                    image_ids=image_ids,
                    metric=label,
                    values=values,
                )
            )
    out = pd.concat(frames, ignore_index=True) if frames else empty_table(METRIC_COLUMNS)
    write_table(out[METRIC_COLUMNS], out_path)
    undefined = int(out["value"].isna().sum())
    log.info(
        "wrote %s: %d values (%d undefined by definition, kept as NaN)",
        out_path,
        len(out),
        undefined,
    )
