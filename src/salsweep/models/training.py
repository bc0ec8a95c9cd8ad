"""Train the small CNN (source ``train``) reproducibly.

Everything random comes from ``seed``: the weight init runs under a forked, seeded torch
RNG (the caller's global RNG is left as it was) and the batch order comes from its own
``torch.Generator``. On CPU two runs with the same inputs give bitwise-identical weights.
No augmentation: the study perturbs the images later and the model should not have seen
those perturbations in training.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from salsweep.models.device import resolve_device
from salsweep.models.small_cnn import MIN_SIZE, SmallCNN
from salsweep.progress import progress

log = logging.getLogger(__name__)


def _check_split(images: np.ndarray, labels: np.ndarray, n_classes: int, split: str) -> None:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        raise ValueError(f"{split}_images must be a uint8 numpy array [N, H, W, 3]")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{split}_images must be [N, H, W, 3], got {images.shape}")
    if images.shape[0] == 0:
        raise ValueError(f"{split}_images is empty")
    if min(images.shape[1:3]) < MIN_SIZE:
        raise ValueError(f"{split}_images must be >= {MIN_SIZE} px, got {images.shape[1:3]}")
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{split}_labels must be {images.shape[0]} integers, got {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{split}_labels must be in [0, {n_classes - 1}]")


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    return int(value)


@torch.no_grad()
def accuracy(model: SmallCNN, images: np.ndarray, labels: np.ndarray, batch_size: int) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size]).to(model.device)
        pred = model(batch).argmax(dim=1).cpu().numpy()
        correct += int((pred == np.asarray(labels[start : start + batch_size])).sum())
    return correct / len(images)


def train_small_cnn(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    class_names: list[str],
    *,
    seed: int = 0,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 1e-3,
    width: int = 32,
    device: str | torch.device = "cpu",
    threads: int = 1,
) -> tuple[SmallCNN, dict]:
    """Train with Adam and cross-entropy; return the model (eval mode) and its metrics.

    ``threads``: CPU threads for training (restored afterwards; 0 keeps torch's setting).
    CPU float sums depend on the thread count, so a fixed count makes the weights the same
    on every machine; one thread is also the fastest for this small a net (2-thread
    convolutions on 8x8 images ran 1.3 to 15x slower on a busy 2-core machine).

    Metrics: ``train_accuracy``, ``test_accuracy``, ``epochs``, ``n_train``, ``n_test``,
    ``seconds`` (training wall time), plus ``input_size``, ``width``, ``stem_stride``,
    ``threads`` (None on a GPU).
    """
    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"class_names must list >= 2 classes, got {n_classes}")
    _check_split(train_images, train_labels, n_classes, "train")
    _check_split(test_images, test_labels, n_classes, "test")
    if test_images.shape[1:] != train_images.shape[1:]:
        raise ValueError(
            f"test images are {test_images.shape[1:]} but train images {train_images.shape[1:]}"
        )
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    epochs = _check_int("epochs", epochs, 1, 1000)
    batch_size = _check_int("batch_size", batch_size, 1, 65536)
    width = _check_int("width", width, 4, 512)
    threads = _check_int("threads", threads, 0, 1024)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
        raise ValueError(f"lr must be a number in (0, 1], got {lr!r}")
    dev = resolve_device(device) if isinstance(device, str) else torch.device(device)

    # normalisation stats of the training set, on 0..1 values (float64 for exact sums)
    scaled = train_images.reshape(-1, 3).astype(np.float64) / 255.0
    mean = scaled.mean(axis=0)
    std = np.maximum(scaled.std(axis=0), 1e-3)  # a constant channel must not divide by 0

    previous_threads = torch.get_num_threads()
    if threads and dev.type == "cpu":
        torch.set_num_threads(threads)
    try:
        model, metrics = _train(
            train_images,
            train_labels,
            test_images,
            test_labels,
            class_names,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            lr=float(lr),
            width=width,
            dev=dev,
            mean=mean,
            std=std,
        )
        metrics["threads"] = torch.get_num_threads() if dev.type == "cpu" else None
        return model, metrics
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    class_names: list[str],
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
    width: int,
    dev: torch.device,
    mean: np.ndarray,
    std: np.ndarray,
) -> tuple[SmallCNN, dict]:
    started = time.perf_counter()
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = SmallCNN(
            list(class_names),
            input_size=train_images.shape[1:3],
            width=width,
            mean=mean.tolist(),
            std=std.tolist(),
        ).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    images = torch.from_numpy(train_images).to(dev)
    labels = torch.from_numpy(np.asarray(train_labels, dtype=np.int64)).to(dev)
    with progress(epochs * len(images), "trained on", log) as done:
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(images), generator=order).to(dev)
            loss_sum = torch.zeros((), device=dev)
            for start in range(0, len(images), batch_size):
                index = perm[start : start + batch_size]
                loss = F.cross_entropy(model(images[index]), labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(index)  # one device sync per epoch, below
                done.update(len(index))
            mean_loss = loss_sum.item() / len(images)
            log.info("epoch %d/%d: mean loss %.6f", epoch + 1, epochs, mean_loss)
    model.eval()
    seconds = time.perf_counter() - started
    metrics = {
        "train_accuracy": accuracy(model, train_images, train_labels, 256),
        "test_accuracy": accuracy(model, test_images, test_labels, 256),
        "epochs": epochs,
        "n_train": int(len(train_images)),
        "n_test": int(len(test_images)),
        "seconds": round(seconds, 3),
        **model.arch(),
    }
    return model, metrics
