"""Step 6b: model-based (faithfulness) metrics of the maps of one shard of every level of a
sweep: the classifier re-scores each image cropped, deleted or inserted according to each
map."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import (
    METRIC_COLUMNS,
    SaliencyMaps,
    empty_table,
    load_maps,
    metric_frame,
    read_table,
    write_table,
)
from salsweep.model_jobs import decode_rows, load_job_classifier, log_loaded, rows_by_size
from salsweep.progress import progress

log = logging.getLogger(__name__)

# (image, target) maps scored per metric call: bounds the images held on the device, and is
# large enough that the step images of several maps fill each forward.
MAPS_PER_CALL = 32


def score_model_sweep(
    maps_paths: list[str],
    image_paths: list[str],
    classes_path: str,
    out_path: str,
    *,
    metric_specs: list[dict],
    conditions: list[Condition],
    model: str,
    method: str,
    spec: dict,
    device: str,
    weights_path: str | None,
    batch_size: int | str,
    deterministic: bool,
    threads: int = 1,
) -> None:
    """Score the maps of one shard of every level of a sweep (``maps_paths[i]`` explains the
    images of ``image_paths[i]``, the copy of ``conditions[i]``) with one loaded model, into
    one table at ``out_path``."""
    from salsweep.faithfulness import parse_specs

    if not len(maps_paths) == len(image_paths) == len(conditions):
        raise ValueError("score_model_sweep: one maps file and one image file per level")
    labels = [label for label, _, _ in parse_specs(metric_specs)]  # fail before the model
    first = load_maps(maps_paths[0])
    n, n_targets = len(first.image_ids), len(first.target_names)
    started = time.perf_counter()
    classifier = None
    if n:
        classifier, _ = load_job_classifier(
            spec,
            classes_path,
            device,
            weights_path,
            deterministic,
            threads,
            dataset=conditions[0].dataset,
            model=model,
        )
        log_loaded(
            f"{n} images x {n_targets} targets x {len(conditions)} levels of {method}",
            spec,
            classifier,
        )
    else:
        log.info("loaded: %s has no maps; no model needed", maps_paths[0])
    frames = []
    with progress(n * n_targets * len(conditions), "scored", log, unit="maps") as done:
        for index, condition in enumerate(conditions):
            result = first if index == 0 else load_maps(maps_paths[index])
            table = read_table(image_paths[index])
            if table["image_id"].tolist() != result.image_ids:
                raise ValueError(f"{maps_paths[index]}: image ids differ from {image_paths[index]}")
            if len(result.image_ids) and classifier is None:
                raise ValueError(f"{maps_paths[index]}: maps, but the sweep's first level has none")
            values = {
                label: np.full((len(result.image_ids), len(result.target_names)), np.nan)
                for label in labels
            }
            if len(result.image_ids):
                score_maps_of(
                    classifier,
                    result,
                    table,
                    metric_specs,
                    batch_size,
                    values,
                    maps_paths[index],
                    done,
                )
            frames += [
                metric_frame(
                    condition,
                    model=model,
                    method=method,
                    target=target,
                    image_ids=result.image_ids,
                    metric=label,
                    values=values[label][:, t],
                )
                for t, target in enumerate(result.target_names)
                for label in labels
            ]
    frames = [frame for frame in frames if len(frame)]
    out = pd.concat(frames, ignore_index=True) if frames else empty_table(METRIC_COLUMNS)
    write_table(out[METRIC_COLUMNS], out_path)
    seconds = time.perf_counter() - started
    log.info(
        "wrote %s: %d values for %d maps in %.1f s (%s)",
        out_path,
        len(out),
        n * n_targets * len(conditions),
        seconds,
        ", ".join(labels),
    )


def score_maps_of(
    classifier: Any,
    result: SaliencyMaps,
    table: pd.DataFrame,
    metric_specs: list[dict],
    batch_size: int | str,
    values: dict[str, np.ndarray],
    maps_path: str,
    done: Any,
) -> None:
    """Fill ``values[label]`` [N, T] with the model metrics of every (image, target) map of
    one condition; images are decoded per call, so memory does not grow with the shard."""
    from salsweep.faithfulness import score_model_metrics
    from salsweep.saliency.batching import inference_batch_size

    if result.class_names and result.class_names != list(classifier.class_names):
        raise ValueError(f"{maps_path}: maps were made for other classes than the model's")
    n_targets = len(result.target_names)
    for hw, rows in rows_by_size(table):
        if result.maps.shape[2:] != hw:
            raise ValueError(f"{maps_path}: maps are {result.maps.shape[2:]}, images {hw}")
        batch = inference_batch_size(batch_size, classifier, hw)
        # Every (image, target) pair of this size, so a call mixes targets and images.
        pair_row = np.repeat(rows, n_targets)
        pair_target = np.tile(np.arange(n_targets), len(rows))
        for start in range(0, len(pair_row), MAPS_PER_CALL):
            row = pair_row[start : start + MAPS_PER_CALL]
            target = pair_target[start : start + MAPS_PER_CALL]
            unique_rows, inverse = np.unique(row, return_inverse=True)
            scores = score_model_metrics(
                metric_specs,
                classifier,
                decode_rows(table, unique_rows)[inverse],
                result.maps[row, target],
                result.targets[row, target],
                batch,
            )
            for label, score in scores.items():
                values[label][row, target] = score
            done.update(len(row))
