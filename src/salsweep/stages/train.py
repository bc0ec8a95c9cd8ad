"""Step 3: train the small CNN of a model whose source is ``train``."""

from __future__ import annotations

import logging

import numpy as np

from salsweep.io import decode_images, read_json, read_table, stack_images, write_json

log = logging.getLogger(__name__)


def _arrays(path: str) -> tuple[np.ndarray, np.ndarray]:
    table = read_table(path, columns=["image_id", "image", "label"])
    return stack_images(decode_images(table["image"])), table["label"].to_numpy(np.int64)


def train_model(
    train_path: str,
    test_path: str,
    classes_path: str,
    weights_path: str,
    metrics_path: str,
    *,
    params: dict,
    seed: int,
    device: str,
    deterministic: bool,
    threads: int = 1,
) -> None:
    import torch

    from salsweep.models import resolve_device, save_small_cnn, set_deterministic, train_small_cnn
    from salsweep.seeding import derive_seed

    torch.set_num_threads(max(1, threads))
    torch_device = resolve_device(device)
    if torch_device.type == "cuda":
        set_deterministic(deterministic)
    train_images, train_labels = _arrays(train_path)
    test_images, test_labels = _arrays(test_path)
    # The first log line (bench/overhead.py): inputs read; the model is built in training.
    log.info(
        "loaded: %d train and %d test images; training on %s, %d threads",
        len(train_images),
        len(test_images),
        torch_device,
        max(1, threads),
    )
    options = {k: v for k, v in params.items() if k != "dataset"}
    model, metrics = train_small_cnn(
        train_images,
        train_labels,
        test_images,
        test_labels,
        read_json(classes_path),
        seed=derive_seed(seed, "train") % (2**31),
        device=str(torch_device),
        threads=max(1, threads),
        **options,
    )
    save_small_cnn(model, weights_path)
    write_json(metrics, metrics_path)
    log.info("wrote %s and %s: trained: %s", weights_path, metrics_path, metrics)
