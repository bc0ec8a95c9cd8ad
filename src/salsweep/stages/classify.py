"""Step 4: class probabilities and predictions for one shard of one perturbed copy."""

from __future__ import annotations

import logging

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


def classify_shard(
    images_path: str,
    classes_path: str,
    out_path: str,
    *,
    condition: Condition,
    model: str,
    spec: dict,
    device: str,
    weights_path: str | None,
    batch_size: int | str,
    deterministic: bool,
    threads: int = 1,
    probs_path: str | None = None,
) -> None:
    """Write the predictions table to ``out_path`` and, given ``probs_path``, every
    image's full softmax vector beside it (:func:`salsweep.io.save_probs`)."""
    from salsweep.saliency.batching import inference_batch_size

    table = read_table(images_path)
    classifier, label_map = load_job_classifier(
        spec,
        classes_path,
        device,
        weights_path,
        deterministic,
        threads,
        dataset=condition.dataset,
        model=model,
    )
    log_loaded(f"{len(table)} images", spec, classifier)
    probs = np.zeros((len(table), classifier.n_classes), dtype=np.float32)
    with progress(len(table), "classified", log) as done:
        for hw, rows in rows_by_size(table):
            batch = inference_batch_size(batch_size, classifier, hw)
            for start in range(0, len(rows), batch):  # decode one batch at a time
                chunk = rows[start : start + batch]
                probs[chunk] = predict_padded(classifier, decode_rows(table, chunk), batch)
                done.update(len(chunk))
    labels = label_map[table["label"].to_numpy()]
    out = predictions_table(condition, model, table["image_id"].tolist(), labels, probs)
    write_table(out, out_path)
    if probs_path is not None:
        save_probs(table["image_id"].tolist(), probs, probs_path)
    accuracy = out["correct"].mean() if len(out) else np.nan
    log.info("wrote %s: %d images, accuracy %.3f", out_path, len(out), accuracy)
