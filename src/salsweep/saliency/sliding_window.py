"""Sliding-window occlusion, as xaitk-saliency 0.15's ``SlidingWindowStack``.

Masks are ``SlidingWindow.perturb``'s (windows centred on the image by splitting the last
window's overhang); scoring is ``OcclusionScoring``: for each pixel, the mean over the
windows covering it of (reference confidence - occluded confidence), then each map divided
by its max |value|. Positive = occluding the pixel lowers the class's softmax confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from salsweep.models.base import Classifier
from salsweep.params import Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    fill_colours,
    normalise_maxabs,
    occlusion_confidences,
    padded_softmax_conf,
    to_numpy_maps,
)
from salsweep.saliency.params import BLACK, EXTENT, FILL, PRECISION

PARAMS = {
    "sliding_window": Plugin(
        "Occlusion with a sliding window (xaitk-saliency SlidingWindowStack scoring); signed.",
        {
            "window": Param(
                0.25,
                "Window size - pixels (int), a fraction of the image side (float in (0, 1]), "
                "or [h, w] of those.",
                EXTENT,
            ),
            "stride": Param(0.125, "Step between windows, in the same forms as window.", EXTENT),
            "fill": Param(
                BLACK,
                'Occluder colour [r, g, b] (0..255), or "mean" for each image\'s channel mean.',
                FILL,
            ),
            "precision": PRECISION,
        },
    )
}


def resolve_extent(value: Any, hw: tuple[int, int], what: str) -> tuple[int, int]:
    """Pixels (h, w) from an int, a fraction of the side in (0, 1], or a pair of them."""
    items = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(items) != 2:
        raise ValueError(f"sliding_window: {what} must be a number or [h, w], got {value!r}")
    out = []
    for item, side in zip(items, hw, strict=True):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError(f"sliding_window: {what} entries must be numbers, got {value!r}")
        if isinstance(item, float):
            if not 0.0 < item <= 1.0:
                raise ValueError(f"sliding_window: {what} fraction must be in (0, 1], got {item}")
            out.append(max(1, int(round(item * side))))
        else:
            if item < 1:
                raise ValueError(f"sliding_window: {what} must be >= 1 pixel, got {item}")
            out.append(int(item))
    return out[0], out[1]


def sliding_window_masks(
    hw: tuple[int, int], window: tuple[int, int], stride: tuple[int, int]
) -> np.ndarray:
    """Bool masks [M, H, W], False inside the window: xaitk's ``SlidingWindow.perturb``."""
    img_h, img_w = hw
    win_h, win_w = window
    rows = np.arange(0, img_h, stride[0])
    cols = np.arange(0, img_w, stride[1])
    # Centre the windows: split the last window's overhang over both sides.
    rows -= (win_h - (img_h - rows[-1])) // 2
    cols -= (win_w - (img_w - cols[-1])) // 2
    masks = np.ones((len(rows) * len(cols), img_h, img_w), dtype=bool)
    for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
        masks[i, max(0, r) : min(r + win_h, img_h), max(0, c) : min(c + win_w, img_w)] = False
    return masks


@SALIENCY_METHODS.register("sliding_window")
class SlidingWindow(ConfiguredMethod):
    signed = True
    needs_gradients = False
    family = "black-box"

    @torch.inference_mode()
    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        device = images.device
        batch_size = self.batch_size_for(classifier, (h, w))
        window = resolve_extent(self.params["window"], (h, w), "window")
        stride = resolve_extent(self.params["stride"], (h, w), "stride")
        keep = torch.from_numpy(sliding_window_masks((h, w), window, stride)).to(device)
        n_masks = keep.shape[0]
        fills = fill_colours(images, self.params["fill"]).float()
        image_f = images.float()
        t = torch.from_numpy(np.asarray(targets, dtype=np.int64)).to(device)

        precision = self.params["precision"]
        ref = torch.cat(
            [
                padded_softmax_conf(
                    classifier, image_f[start : start + batch_size], batch_size, precision
                )
                for start in range(0, n, batch_size)
            ]
        ).gather(1, t)  # [N, T]

        def blend(image_idx: torch.Tensor, mask_idx: torch.Tensor) -> torch.Tensor:
            return torch.where(
                keep[mask_idx][..., None], image_f[image_idx], fills[image_idx][:, None, None, :]
            )

        pert = occlusion_confidences(
            classifier, n, n_masks, blend, t, batch_size, precision
        )  # [N, M, T]
        diff = ref[:, None, :].double() - pert.double()
        occluded = (~keep).double().reshape(n_masks, h * w)
        coverage = occluded.sum(dim=0)
        coverage = torch.where(coverage == 0, torch.ones_like(coverage), coverage)
        sal = torch.einsum("nmt,mp->ntp", diff, occluded) / coverage
        maps = normalise_maxabs(sal.reshape(n, t.shape[1], h, w))
        return to_numpy_maps(maps, n, t.shape[1])
