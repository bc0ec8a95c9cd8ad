"""The model-metric interface: one class per metric, one verb (``score``).

A model metric judges a saliency map by what the classifier does with images edited
according to the map (a crop, pixels deleted or inserted in saliency order), so unlike
a map metric it needs the image, the target class and the classifier itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from salsweep.faithfulness.params import resolve_model_metric
from salsweep.models.base import Classifier
from salsweep.registry import Registry


class ModelMetric(ABC):
    """Score maps [N, H, W] of images [N, H, W, 3] (uint8) for target classes [N].

    ``score`` returns float64 [N], finite for every map (each metric documents what it
    does with a constant map). It runs under ``torch.inference_mode`` and puts at most
    ``batch_size`` images through each forward of the classifier.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]

    def __init__(self, **params: Any) -> None:
        self.params = resolve_model_metric(self.name, params)

    def score(
        self,
        classifier: Classifier,
        images: np.ndarray,
        maps: np.ndarray,
        targets: np.ndarray,
        batch_size: int = 64,
    ) -> np.ndarray:
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{self.name}: images must be uint8 [N, H, W, 3], got {images.shape}")
        n, h, w, _ = images.shape
        if maps.shape != (n, h, w):
            raise ValueError(f"{self.name}: maps must be [N, H, W] = {(n, h, w)}, got {maps.shape}")
        maps = np.asarray(maps, dtype=np.float64)
        bad = ~np.isfinite(maps).all(axis=(1, 2))
        if bad.any():
            raise ValueError(f"{self.name}: map(s) {np.flatnonzero(bad).tolist()} contain NaN/inf")
        targets = np.asarray(targets)
        if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(f"{self.name}: targets must be integers [N={n}], got {targets.shape}")
        if n and (targets.min() < 0 or targets.max() >= classifier.n_classes):
            raise ValueError(f"{self.name}: target outside 0..{classifier.n_classes - 1}")
        if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
            raise ValueError(f"{self.name}: batch_size must be an integer >= 1, got {batch_size!r}")
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        with torch.inference_mode():
            values = np.asarray(
                self._score(classifier, images, maps, targets.astype(np.int64), int(batch_size)),
                dtype=np.float64,
            )
        if values.shape != (n,):
            raise AssertionError(f"{self.name} returned {values.shape}")
        return values

    @abstractmethod
    def _score(
        self,
        classifier: Classifier,
        images: np.ndarray,
        maps: np.ndarray,
        targets: np.ndarray,
        batch_size: int,
    ) -> np.ndarray: ...


def target_log_probs(
    classifier: Classifier,
    n: int,
    build: Callable[[torch.Tensor], torch.Tensor],
    targets: torch.Tensor,
    batch_size: int,
) -> np.ndarray:
    """log p(target) float64 [n] of the n images that ``build(index)`` makes on demand.

    ``build`` takes a 1-D index tensor and returns those float images [B, H, W, 3] (0..255)
    on the classifier's device, so only one batch of edited images exists at a time.
    ``targets`` [n] is the class of each image. log_softmax keeps tiny probabilities finite.
    """
    out = np.empty(n, dtype=np.float64)
    device = classifier.device
    for start in range(0, n, batch_size):
        index = torch.arange(start, min(n, start + batch_size), device=device)
        logits = classifier(build(index)).float()
        log_probs = torch.log_softmax(logits, dim=1)
        chosen = log_probs.gather(1, targets[index].to(device)[:, None])[:, 0]
        out[start : start + len(index)] = chosen.double().cpu().numpy()
    return out


MODEL_METRICS: Registry[ModelMetric] = Registry("model metric")
