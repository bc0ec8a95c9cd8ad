"""The saliency-method interface: one class per algorithm, one verb (``explain``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import torch

from salsweep.models.base import Classifier
from salsweep.registry import Registry
from salsweep.saliency.batching import auto_batch_size


class SaliencyMethod(ABC):
    """Explain classes of a batch of images.

    ``explain(classifier, images, targets)`` takes uint8 images [N, H, W, 3] and class
    indices [N, T] and returns float32 maps [N, T, H, W] at image resolution. ``signed``
    methods return maps in [-1, 1] (positive = evidence for the class); unsigned ones in
    [0, 1].

    ``explain`` owns the checks around ``_explain``, as xaitk's ``generate()`` does around
    ``_generate()``: it validates the inputs and the result, resolves ``batch_size="auto"``
    for the images' size (:meth:`batch_size_for`), and runs ``_explain`` in inference mode
    unless the class ``needs_gradients``.
    """

    name: ClassVar[str]
    signed: ClassVar[bool]
    needs_gradients: ClassVar[bool]
    family: ClassVar[str]  # "black-box", "gradient" or "mask"

    def __init__(self, seed: int = 0, batch_size: int | str = 64, **params: Any) -> None:
        self.seed = seed
        self.batch_size = batch_size
        self.params = params
        self._auto_sizes: dict[tuple[int, int], int] = {}

    def batch_size_for(self, classifier: Classifier, hw: tuple[int, int]) -> int:
        """The int batch size; ``"auto"`` is probed once per image size."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        if hw not in self._auto_sizes:
            self._auto_sizes[hw] = auto_batch_size(classifier, hw, classifier.device)
        return self._auto_sizes[hw]

    def explain(
        self, classifier: Classifier, images: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 [N, H, W, 3], got {images.shape}")
        if targets.ndim != 2 or targets.shape[0] != images.shape[0]:
            raise ValueError(f"targets must be [N={images.shape[0]}, T], got {targets.shape}")
        if targets.size and (targets.min() < 0 or targets.max() >= classifier.n_classes):
            raise ValueError(f"target outside 0..{classifier.n_classes - 1}")
        n, h, w, _ = images.shape
        if n == 0:
            return np.zeros((0, targets.shape[1], h, w), dtype=np.float32)
        # Resolved before inference mode: the CUDA probe needs a backward pass.
        self.batch_size_for(classifier, (h, w))
        pixels = torch.from_numpy(images).to(classifier.device)
        if self.needs_gradients:
            maps = self._explain(classifier, pixels, targets)
        else:
            with torch.inference_mode():
                maps = self._explain(classifier, pixels, targets)
        maps = np.asarray(maps, dtype=np.float32)
        if maps.shape != (n, targets.shape[1], h, w):
            raise AssertionError(f"{self.name} returned {maps.shape}")
        return maps

    @abstractmethod
    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray: ...


SALIENCY_METHODS: Registry[SaliencyMethod] = Registry("saliency method", "salsweep.saliency")
