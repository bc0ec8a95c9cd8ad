"""Step 6b: model-based (faithfulness) metrics of the maps of one shard: the classifier
re-scores each image cropped, deleted or inserted according to each map."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import (
    METRIC_COLUMNS,
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


def score_model_shard(
    maps_path: str,
    images_path: str,
    classes_path: str,
    out_path: str,
    *,
    metric_specs: list[dict],
    condition: Condition,
    model: str,
    method: str,
    spec: dict,
    device: str,
    weights_path: str | None,
    batch_size: int | str,
    deterministic: bool,
    threads: int = 1,
) -> None:
    from salsweep.faithfulness import parse_specs, score_model_metrics
    from salsweep.saliency.batching import inference_batch_size

    labels = [label for label, _, _ in parse_specs(metric_specs)]  # fail before the model
    result = load_maps(maps_path)
    table = read_table(images_path)
    if table["image_id"].tolist() != result.image_ids:
        raise ValueError(f"{maps_path}: image ids differ from {images_path}")
    n, n_targets = len(result.image_ids), len(result.target_names)
    values = {label: np.full((n, n_targets), np.nan) for label in labels}
    started = time.perf_counter()
    if n:
        classifier, _ = load_job_classifier(
            spec,
            classes_path,
            device,
            weights_path,
            deterministic,
            threads,
            dataset=condition.dataset,
            model=model,
        )
        if result.class_names and result.class_names != list(classifier.class_names):
            raise ValueError(f"{maps_path}: maps were made for other classes than the model's")
        log_loaded(f"{n} images x {n_targets} targets of {method}", spec, classifier)
        # Images are decoded per call, not all up front: memory does not grow with the shard.
        with progress(n * n_targets, "scored", log, unit="maps") as done:
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
    else:
        log.info("loaded: %s has no maps; no model needed", maps_path)
    frames = [
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
        n * n_targets,
        seconds,
        ", ".join(labels),
    )
