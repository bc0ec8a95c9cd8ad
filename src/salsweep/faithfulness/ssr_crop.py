"""The saliency metric of Dabkowski & Gal (NeurIPS 2017), "smallest sufficient region":

    s = log(max(a, 0.05)) - log(p)

The map's salient pixels (``threshold``, see ``PARAMS``) are enclosed in the tightest
axis-aligned rectangle; ``a`` is that rectangle's area as a fraction of the image, and
``p`` the classifier's probability of the target class on the rectangle cropped out and
resized (bilinear, aspect ratio not kept) back to the image size, which the classifier
then preprocesses as it does any image. A small crop that still holds the evidence scores
low: lower is better. The 0.05 floor (the paper's) stops tiny crops from scoring without
bound; log p comes from log_softmax, so s stays finite even where p underflows.

A map with no salient pixel (a constant map: min-max normalisation leaves nothing above
any threshold) selects nothing, so the "crop" is the whole image: a = 1.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from salsweep.faithfulness.base import MODEL_METRICS, ModelMetric, target_log_probs
from salsweep.metrics.shared_interest import binarize
from salsweep.models.preprocess import resize
from salsweep.params import AnyOf, Keyed, Number, OneOf, Param, Plugin

PARAMS = {
    "ssr_crop": Plugin(
        "Smallest sufficient region (Dabkowski & Gal 2017): log(max(area, 0.05)) - log p of "
        "the crop around the salient pixels; lower is better. Costs 1 forward per map.",
        {
            "threshold": Param(
                "mean_std",
                "Which pixels of the min-max normalised map are salient - mean_std (>= mean + "
                "1 std), {percentile: q} (>= the q-th percentile) or {fraction: f} (>= f).",
                AnyOf(
                    OneOf("mean_std"),
                    Keyed("percentile", Number(0, 100, low_open=True, high_open=True)),
                    Keyed("fraction", Number(0, 1, low_open=True)),
                    phrase="'mean_std', {'percentile': q} with q in (0, 100) or "
                    "{'fraction': f} with f in (0, 1]",
                ),
            )
        },
    )
}

MIN_AREA = 0.05


def salient_pixels(maps: np.ndarray, threshold) -> np.ndarray:
    """bool [N, H, W]: the pixels kept by ``threshold``; all False for a constant map."""
    maps = np.asarray(maps, dtype=np.float64)
    if isinstance(threshold, dict) and "fraction" in threshold:
        lo = maps.min(axis=(1, 2), keepdims=True)
        span = maps.max(axis=(1, 2), keepdims=True) - lo
        norm = (maps - lo) / np.where(span > 0, span, 1.0)
        return (norm >= threshold["fraction"]) & (span > 0)
    # The Shared Interest rule, so that both metric families see the same salient set.
    return binarize(maps, threshold)


def crop_boxes(salient: np.ndarray) -> np.ndarray:
    """int64 [N, 4]: (top, bottom, left, right), end-exclusive; the whole image if empty."""
    n, h, w = salient.shape
    boxes = np.tile(np.array([0, h, 0, w], dtype=np.int64), (n, 1))
    for i, region in enumerate(salient):
        rows = np.flatnonzero(region.any(axis=1))
        if rows.size:
            cols = np.flatnonzero(region.any(axis=0))
            boxes[i] = (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    return boxes


@MODEL_METRICS.register("ssr_crop")
class SSRCrop(ModelMetric):
    higher_is_better: ClassVar[bool] = False

    def parts(self, classifier, images, maps, targets, batch_size):
        """The area fractions a [N] and log p [N] that the score combines."""
        n, h, w, _ = images.shape
        boxes = crop_boxes(salient_pixels(maps, self.params["threshold"]))
        area = (boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2]) / (h * w)
        device = classifier.device
        pixels = torch.as_tensor(images, device=device)

        def build(index: torch.Tensor) -> torch.Tensor:
            crops = []
            for i in index.tolist():
                top, bottom, left, right = boxes[i].tolist()
                crop = pixels[i, top:bottom, left:right].permute(2, 0, 1)[None].float()
                crops.append(resize(crop, (h, w), "bilinear")[0].permute(1, 2, 0))
            return torch.stack(crops)

        with torch.inference_mode():
            log_p = target_log_probs(
                classifier, n, build, torch.as_tensor(targets, device=device), batch_size
            )
        return area, log_p

    def _score(self, classifier, images, maps, targets, batch_size) -> np.ndarray:
        area, log_p = self.parts(classifier, images, maps, targets, batch_size)
        return np.log(np.maximum(area, MIN_AREA)) - log_p
