"""The classifier interface shared by every model source.

A classifier takes images as they are stored (NxHxWx3, uint8 values) and returns logits.
Resizing and normalisation happen inside ``forward`` in torch, so gradients reach the
input pixels and every saliency method sees the same model.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from salsweep.registry import Registry


class Classifier(nn.Module):
    """``forward(x)``: x float [N, H, W, 3] in 0..255 -> logits [N, n_classes]."""

    name: ClassVar[str]

    def __init__(self, class_names: list[str]) -> None:
        super().__init__()
        self.class_names = list(class_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected [N, H, W, 3] images, got {tuple(images.shape)}")
        logits = self._logits(images.float())
        if logits.shape != (images.shape[0], self.n_classes):
            raise AssertionError(f"{self.name} gave logits {tuple(logits.shape)}")
        return logits

    @abstractmethod
    def _logits(self, images: torch.Tensor) -> torch.Tensor: ...

    def input_hw(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        """(height, width) the network computes at for an image of ``image_hw``: what a
        source's own resizing makes of it (CPU batch sizes follow the work, not the file)."""
        return image_hw

    def gradcam_layer(self) -> nn.Module | None:
        """The default Grad-CAM target layer (the last conv stage, or a ViT's last norm)."""
        return None

    def classification_layer(self) -> nn.Module:
        """The layer that maps features to logits (what ``randomised_head`` re-initialises).

        Every source overrides this; a new source must too, or the floors name it here."""
        raise NotImplementedError(
            f"model source {getattr(self, 'name', type(self).__name__)!r} does not name its "
            "classification layer (Classifier.classification_layer)"
        )

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def predict_proba(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities [N, n_classes] float32 for an NxHxWx3 uint8 batch."""
        out = []
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[start : start + batch_size]).to(self.device)
            out.append(torch.softmax(self(batch), dim=1).float().cpu().numpy())
        if not out:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        return np.concatenate(out)


MODELS: Registry[Classifier] = Registry("model source")
