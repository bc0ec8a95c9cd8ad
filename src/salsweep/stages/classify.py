"""Step 4: class probabilities and predictions for one shard of every level of a sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import PREDICTION_COLUMNS, read_table, save_probs, write_table
from salsweep.model_jobs import (
    decode_rows,
    load_job_classifier,
    log_loaded,
    predict_padded,
    rows_by_size,
)
from salsweep.progress import progress

log = logging.getLogger(__name__)


def predictions_table(
    condition: Condition, model: str, image_ids: list[str], labels: np.ndarray, probs: np.ndarray
) -> pd.DataFrame:
    """The predictions table of one job; ``labels`` are model class indices."""
    n = len(image_ids)
    pred = probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    rows = np.arange(n)
    table = pd.DataFrame(
        {
            "dataset": [condition.dataset] * n,
            "model": [model] * n,
            "perturbation": [condition.perturbation] * n,
            "level": np.full(n, condition.table_level),
            "image_id": list(image_ids),
            "label": labels.astype(np.int64),
            "pred": pred.astype(np.int64),
            "prob_label": probs[rows, labels].astype(np.float64) if n else np.zeros(0),
            "prob_pred": probs[rows, pred].astype(np.float64) if n else np.zeros(0),
        }
    )
    table["correct"] = table["label"] == table["pred"]
    return table[PREDICTION_COLUMNS]


def classify_sweep(
    image_paths: list[str],
    classes_path: str,
    out_paths: list[str],
    *,
    conditions: list[Condition],
    model: str,
    spec: dict,
    device: str,
    weights_path: str | None,
    batch_size: int | str,
    deterministic: bool,
    threads: int = 1,
    probs_paths: list[str] | None = None,
) -> None:
    """Classify one shard of each condition of a sweep (``image_paths[i]`` is
    ``conditions[i]``'s copy) with one loaded model: write its predictions table to
    ``out_paths[i]`` and, given ``probs_paths``, every image's full softmax vector to
    ``probs_paths[i]`` (:func:`salsweep.io.save_probs`). Each condition's files are what a
    job of that condition alone would write."""
    if not len(image_paths) == len(out_paths) == len(conditions):
        raise ValueError("classify_sweep: one image file and one output per condition")
    if probs_paths is not None and len(probs_paths) != len(conditions):
        raise ValueError("classify_sweep: one probabilities file per condition")
    table = read_table(image_paths[0])  # the first condition's images, before the model
    classifier, label_map = load_job_classifier(
        spec,
        classes_path,
        device,
        weights_path,
        deterministic,
        threads,
        dataset=conditions[0].dataset,
        model=model,
    )
    n_images = len(table)
    log_loaded(f"{n_images} images x {len(conditions)} levels", spec, classifier)
    with progress(n_images * len(conditions), "classified", log) as done:
        for index, condition in enumerate(conditions):
            if index:
                table = read_table(image_paths[index])
            probs = classify_table(classifier, table, batch_size, on_chunk=done.update)
            labels = label_map[table["label"].to_numpy()]
            out = predictions_table(condition, model, table["image_id"].tolist(), labels, probs)
            write_table(out, out_paths[index])
            if probs_paths is not None:
                save_probs(table["image_id"].tolist(), probs, probs_paths[index])
            accuracy = out["correct"].mean() if len(out) else np.nan
            log.info(
                "%s %s: %d images, accuracy %.3f",
                condition.perturbation,
                condition.level,
                len(out),
                accuracy,
            )
    log.info("wrote %s", ", ".join(out_paths))  # the last line: bench/overhead.py


def classify_table(
    classifier: Any,
    table: pd.DataFrame,
    batch_size: int | str,
    on_chunk: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Softmax vectors float32 [N, C] of the images of ``table``, decoded a batch at a time."""
    from salsweep.saliency.batching import inference_batch_size

    probs = np.zeros((len(table), classifier.n_classes), dtype=np.float32)
    for hw, rows in rows_by_size(table):
        batch = inference_batch_size(batch_size, classifier, hw)
        for start in range(0, len(rows), batch):  # decode one batch at a time
            chunk = rows[start : start + batch]
            probs[chunk] = predict_padded(classifier, decode_rows(table, chunk), batch)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return probs
