"""Step 3b: train the masking model of ``realtime_mask`` for one (dataset, model) pair.

The images are the dataset's train split or its eval images (``salsweep.masker.plan``
decides; the rule passes the table), their labels mapped to the model's class indices. At
most ``train_images`` of them are used (a seeded subset). The classifier stays frozen.
"""

from __future__ import annotations

import logging

import numpy as np

from salsweep.io import decode_images, read_table, stack_images, write_json
from salsweep.model_jobs import load_job_classifier, log_loaded
from salsweep.seeding import derive_seed

log = logging.getLogger(__name__)


def training_subset(n: int, limit: int, seed: int) -> np.ndarray:
    """Sorted row indices: all ``n`` rows, or a seeded draw of ``limit`` of them."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def train_masker_job(
    images_path: str,
    classes_path: str,
    masker_path: str,
    metrics_path: str,
    *,
    dataset: str,
    model: str,
    split: str,
    spec: dict,
    method_params: dict,
    seed: int,
    device: str,
    weights_path: str | None,
    deterministic: bool,
    threads: int = 1,
) -> None:
    from salsweep.masker.model import save_masker
    from salsweep.masker.training import train_masker
    from salsweep.saliency.params import resolve_params

    params = resolve_params("realtime_mask", dict(method_params or {}))
    table = read_table(images_path, columns=["image_id", "image", "label"])
    if not len(table):
        raise ValueError(f"train_masker: {images_path} has no images")
    rows = training_subset(
        len(table), int(params["train_images"]), derive_seed(seed, "masker-subset", dataset)
    )
    table = table.iloc[rows]
    try:
        images = stack_images(decode_images(table["image"]))
    except ValueError as error:
        raise ValueError(
            f"train_masker: the {split} images of dataset {dataset!r} differ in size ({error}); "
            "set the dataset's image_size"
        ) from None
    classifier, label_map = load_job_classifier(
        spec,
        classes_path,
        device,
        weights_path,
        deterministic,
        threads,
        dataset=dataset,
        model=model,
    )
    log_loaded(f"{len(images)} {split} images of {dataset}", spec, classifier)
    targets = label_map[table["label"].to_numpy()]
    net, metrics = train_masker(
        classifier, images, targets, params, seed=derive_seed(seed, "masker", dataset, model)
    )
    metrics.update(dataset=dataset, model=model, split=split, device=str(classifier.device))
    save_masker(
        net, masker_path, layer=params["layer"], class_names=classifier.class_names, metrics=metrics
    )
    write_json(metrics, metrics_path)
    log.info("wrote %s and %s", masker_path, metrics_path)
