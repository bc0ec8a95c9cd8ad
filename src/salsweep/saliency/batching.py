"""Where ``batch_size: auto`` becomes a number: probed on CUDA for saliency forwards (with
gradients), fixed on CUDA for plain classification, by the network's input size on CPU."""

from __future__ import annotations

from collections.abc import Callable

import torch

from salsweep.models.base import Classifier

MAX_BATCH_SIZE = 512
# On CPU, throughput peaks at small batches that stay in cache: measured for
# EfficientNet-Lite0 at 224x224 on one thread, 21.7 img/s at batch 8 against 16.7 at 32.
CPU_PIXELS_PER_BATCH = 8 * 224 * 224
CPU_MAX_BATCH_SIZE = 256
# Forwards without gradients need no probe: a fixed size serves CUDA.
GPU_INFERENCE_BATCH_SIZE = 256


def cpu_batch_size(image_hw: tuple[int, int]) -> int:
    """About 8 images of 224x224 worth of pixels per batch, 1..256 images; ``image_hw`` is
    the size the network computes at (:meth:`Classifier.input_hw`), not the file's."""
    h, w = image_hw
    return max(1, min(CPU_MAX_BATCH_SIZE, CPU_PIXELS_PER_BATCH // max(1, h * w)))


def inference_batch_size(
    batch_size: int | str, classifier: Classifier, image_hw: tuple[int, int]
) -> int:
    """Images per forward when only classifying (classify, model metrics)."""
    if batch_size != "auto":
        return int(batch_size)
    if classifier.device.type == "cuda":
        return GPU_INFERENCE_BATCH_SIZE
    return cpu_batch_size(classifier.input_hw(image_hw))


def largest_fitting(fits: Callable[[int], bool], start: int) -> int:
    """Halve ``start`` until ``fits(size)`` is true; 0 if not even 1 fits."""
    size = start
    while size >= 1:
        if fits(size):
            return size
        size //= 2
    return 0


def auto_batch_size(
    classifier: Classifier,
    image_hw: tuple[int, int],
    device: torch.device | str | None = None,
    max_batch_size: int = MAX_BATCH_SIZE,
) -> int:
    """Images per forward for ``classifier`` at ``image_hw``.

    On CUDA: the largest power of two up to ``max_batch_size`` whose forward *and* backward
    (gradient methods need it) fit, halving on out-of-memory, then halved once more as
    headroom for masks, noise and the other tensors a method keeps. Elsewhere:
    :func:`cpu_batch_size`, since CPU throughput falls with batches that leave the cache.
    """
    device = torch.device(device) if device is not None else classifier.device
    if device.type != "cuda":
        return cpu_batch_size(classifier.input_hw(image_hw))
    return probe_batch_size(classifier, image_hw, device, max_batch_size)


def probe_batch_size(
    classifier: Classifier,
    image_hw: tuple[int, int],
    device: torch.device,
    max_batch_size: int = MAX_BATCH_SIZE,
) -> int:
    """The CUDA probe of :func:`auto_batch_size`, on any device (so a test can run it on the
    CPU with a forward that raises ``torch.cuda.OutOfMemoryError``)."""
    h, w = image_hw
    on_cuda = device.type == "cuda"

    def fits(size: int) -> bool:
        x = logits = None
        try:
            x = torch.full((size, h, w, 3), 128.0, device=device, requires_grad=True)
            with torch.enable_grad():
                logits = classifier(x)
                torch.autograd.grad(logits[:, 0].sum(), x)
            if on_cuda:
                torch.cuda.synchronize(device)
            return True
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            x = logits = None  # noqa: F841 - drop references before emptying the cache
            if on_cuda:
                torch.cuda.empty_cache()

    size = largest_fitting(fits, max_batch_size)
    if size == 0:
        raise RuntimeError(f"not even one {h}x{w} image fits on {device} for {classifier.name}")
    return max(1, size // 2)
