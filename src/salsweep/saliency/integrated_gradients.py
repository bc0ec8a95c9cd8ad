"""Integrated Gradients (Sundararajan et al. 2017) via captum's ``IntegratedGradients``.

Captum's defaults (Gauss-Legendre, ``n_steps``), attributions summed over channels and
divided by their max |value|. ``baseline``: "black" (0), "mean" (the image's channel mean)
or a colour [r, g, b] in 0..255.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients as CaptumIG

from salsweep.models.base import Classifier
from salsweep.params import Integer, Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    colours,
    mean_attributions,
    normalise_maxabs,
    pair_inputs,
    to_numpy_maps,
)
from salsweep.saliency.params import BASELINE

PARAMS = {
    "integrated_gradients": Plugin(
        "Integrated Gradients (captum); signed.",
        {
            "n_steps": Param(50, "Integration steps.", Integer(1)),
            "baseline": Param(
                "black",
                '"black", "mean" (the image\'s channel mean) or a colour [r, g, b].',
                BASELINE,
            ),
        },
    )
}


def ig_rows_per_call(batch_size: int, n_steps: int) -> int:
    """Inputs per captum call so that inputs x steps fill about one forward batch."""
    return max(1, batch_size // n_steps)


def baseline_images(images: torch.Tensor, targets: np.ndarray, spec: object) -> torch.Tensor:
    """Baseline colour per (image, target) pair as [N*T, 1, 1, 3] float32."""
    per_image = colours(images, spec, "baseline").float()
    return per_image.repeat_interleave(targets.shape[1], dim=0)[:, None, None, :]


@SALIENCY_METHODS.register("integrated_gradients")
class IntegratedGradients(ConfiguredMethod):
    signed = True
    needs_gradients = True
    family = "gradient"

    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        n_steps = self.params["n_steps"]
        batch_size = self.batch_size_for(classifier, (h, w))
        rows = ig_rows_per_call(batch_size, n_steps)
        x, t = pair_inputs(images, targets)
        base = baseline_images(images, targets, self.params["baseline"])
        ig = CaptumIG(classifier)

        def attribute(pair: torch.Tensor, _sample: torch.Tensor) -> torch.Tensor:
            return ig.attribute(
                x[pair],
                baselines=base[pair].expand(len(pair), h, w, 3).contiguous(),
                target=t[pair],
                n_steps=n_steps,
                internal_batch_size=max(batch_size, len(pair)),
            )

        maps = mean_attributions(len(t), 1, rows, (h, w), images.device, attribute)
        return to_numpy_maps(normalise_maxabs(maps), n, targets.shape[1])
