"""Model loading shared by the model rules (classify, saliency, model-based metrics)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from salsweep.io import decode_images, read_json

log = logging.getLogger(__name__)

CPU_BATCH = 32
GPU_BATCH = 256


def load_job_classifier(
    spec: dict, classes_path: str, device: str, weights_path: str | None, deterministic: bool
) -> tuple[Any, np.ndarray]:
    """The classifier on its device, and the map from dataset label index to model index."""
    from salsweep.models import align_labels, load_classifier, resolve_device, set_deterministic

    set_deterministic(deterministic)
    torch_device = resolve_device(device)
    dataset_classes = read_json(classes_path)
    classifier = load_classifier(spec, dataset_classes, torch_device, weights_path=weights_path)
    classifier.eval()
    label_map = align_labels(dataset_classes, classifier.class_names)
    log.info("model %s on %s, %d classes", spec["source"], torch_device, classifier.n_classes)
    return classifier, label_map


def resolve_batch_size(batch_size: int | str, classifier: Any) -> int:
    if batch_size != "auto":
        return int(batch_size)
    return GPU_BATCH if classifier.device.type == "cuda" else CPU_BATCH


def images_by_shape(table: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row indices and stacked uint8 images, one group per image shape (in first-seen order)."""
    images = decode_images(table["image"])
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.shape, []).append(index)
    return [(np.asarray(rows), np.stack([images[i] for i in rows])) for rows in groups.values()]
