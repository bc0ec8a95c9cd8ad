"""Model loading shared by the model rules (classify, saliency, model-based metrics)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from salsweep.io import decode_images, read_json

log = logging.getLogger(__name__)

GPU_BATCH = 256


def load_job_classifier(
    spec: dict,
    classes_path: str,
    device: str,
    weights_path: str | None,
    deterministic: bool,
    threads: int = 1,
) -> tuple[Any, np.ndarray]:
    """The classifier on its device, and the map from dataset label index to model index."""
    import torch

    from salsweep.models import load_classifier, resolve_device, set_deterministic

    # One torch thread per Snakemake thread: jobs side by side must not oversubscribe cores,
    # and CPU results depend on the thread count.
    torch.set_num_threads(max(1, int(threads)))
    torch_device = resolve_device(device)
    if torch_device.type == "cuda":
        # CPU kernels are deterministic at a fixed thread count already; the call costs
        # ~2 s of imports (torch._inductor) per job, so it is made only where it matters.
        set_deterministic(deterministic)
    dataset_classes = read_json(classes_path)
    classifier = load_classifier(spec, dataset_classes, torch_device, weights_path=weights_path)
    log.info(
        "model %s on %s, %d classes, %d threads",
        spec["source"],
        torch_device,
        classifier.n_classes,
        torch.get_num_threads(),
    )
    return classifier, classifier.label_map


def resolve_batch_size(batch_size: int | str, classifier: Any, image_hw: tuple[int, int]) -> int:
    """Images per forward when classifying (no gradients, so a fixed size serves CUDA)."""
    if batch_size != "auto":
        return int(batch_size)
    if classifier.device.type == "cuda":
        return GPU_BATCH
    from salsweep.saliency.batching import cpu_batch_size

    return cpu_batch_size(image_hw)


def images_by_shape(table: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row indices and stacked uint8 images, one group per image shape (in first-seen order)."""
    images = decode_images(table["image"])
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.shape, []).append(index)
    return [(np.asarray(rows), np.stack([images[i] for i in rows])) for rows in groups.values()]
