"""Example images and their maps across levels, stored as a table so figures need only tables."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from salsweep.io import load_maps, read_table, write_table

log = logging.getLogger(__name__)

EXAMPLE_COLUMNS = [
    "dataset",
    "model",
    "method",
    "perturbation",
    "level",
    "image_id",
    "target",
    "class_index",
    "class_name",
    "signed",
    "image",
    "map",
    "height",
    "width",
]


def _condition(path: str) -> tuple[str, float]:
    level_dir = Path(path).parent
    return level_dir.parent.name, float(level_dir.name)


def collect_examples(
    map_paths: list[str],
    image_paths: list[str],
    out_path: str,
    *,
    n_examples: int,
    keys: dict,
) -> None:
    images = {}
    for path in image_paths:
        perturbation, level = _condition(path)
        table = read_table(path, columns=["image_id", "image"])
        for image_id, blob in zip(table["image_id"], table["image"], strict=True):
            images[(perturbation, level, image_id)] = blob
    chosen: list[str] = []
    rows = []
    for path in map_paths:
        perturbation, level = _condition(path)
        result = load_maps(path)
        if perturbation == "clean":
            chosen.extend(result.image_ids[: max(0, n_examples - len(chosen))])
        rows.append((perturbation, level, result))
    wanted = set(chosen)
    records = []
    for perturbation, level, result in rows:
        for i, image_id in enumerate(result.image_ids):
            if image_id not in wanted:
                continue
            for t, target in enumerate(result.target_names):
                class_index = int(result.targets[i, t])
                sal = result.maps[i, t].astype(np.float16)
                records.append(
                    {
                        **keys,
                        "perturbation": perturbation,
                        "level": level,
                        "image_id": image_id,
                        "target": target,
                        "class_index": class_index,
                        "class_name": _class_name(result.class_names, class_index),
                        "signed": result.signed,
                        "image": images[(perturbation, level, image_id)],
                        "map": sal.tobytes(),
                        "height": sal.shape[0],
                        "width": sal.shape[1],
                    }
                )
    table = pd.DataFrame(records, columns=EXAMPLE_COLUMNS)
    order = {image_id: rank for rank, image_id in enumerate(chosen)}
    table["_rank"] = table["image_id"].map(order)
    table = table.sort_values(["_rank", "perturbation", "level", "target"], kind="stable")
    write_table(table.drop(columns="_rank").reset_index(drop=True), out_path)
    log.info("%d example images, %d rows", len(chosen), len(table))


def _class_name(class_names: list[str], index: int) -> str:
    return class_names[index] if 0 <= index < len(class_names) else str(index)


def combine_examples(paths: list[str], out_path: str) -> None:
    frames = [read_table(path) for path in paths]
    table = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EXAMPLE_COLUMNS)
    )
    write_table(table[EXAMPLE_COLUMNS], out_path)


def decode_map(row: pd.Series) -> np.ndarray:
    return np.frombuffer(row["map"], dtype=np.float16).reshape(row["height"], row["width"])
