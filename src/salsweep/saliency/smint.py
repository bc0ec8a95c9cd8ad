"""SmInt: SmoothGrad over Integrated Gradients, as FastEstimator's ``Saliency`` trace.

FastEstimator's trace default ``integrating=(100, 6)`` means 100 integration steps and 6
smoothing samples. We implement the mean over ``nt_samples`` noisy copies x + e_k
(e_k ~ N(0, (stdev * 255)^2), drawn from ``seed``, common to all images of a size) of
captum's Integrated Gradients from ``baseline`` to x + e_k, i.e. captum
``NoiseTunnel(IntegratedGradients).attribute(nt_type="smoothgrad")``; then the channel sum
divided by its max |value|. Unlike FastEstimator we keep the sign (no squaring), integrate
every sample (FastEstimator's first sample is the plain gradient) and use the same
baselines as ``integrated_gradients`` (FastEstimator uses the mid-grey of the input range;
``baseline: [127.5, 127.5, 127.5]`` gives that).
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
    NoiseCache,
    mean_attributions,
    normalise_maxabs,
    pair_inputs,
    to_numpy_maps,
)
from salsweep.saliency.integrated_gradients import baseline_images, ig_rows_per_call
from salsweep.saliency.params import BASELINE, STDEV

# Counts as FastEstimator's Saliency trace (integrating=(100, 6)): 6 noisy samples, 100
# integration steps each.
PARAMS = {
    "smint": Plugin(
        "SmoothGrad over Integrated Gradients (FastEstimator's Saliency trace defaults - 100 "
        "steps, 6 noisy samples); signed.",
        {
            "nt_samples": Param(6, "Noisy samples.", Integer(1)),
            "n_steps": Param(100, "Integration steps per sample.", Integer(1)),
            "stdev": STDEV,
            "baseline": Param(
                "black",
                '"black", "mean" or a colour [r, g, b] ([127.5, 127.5, 127.5] is '
                "FastEstimator's).",
                BASELINE,
            ),
        },
    )
}


@SALIENCY_METHODS.register("smint")
class SmInt(ConfiguredMethod):
    signed = True
    needs_gradients = True
    family = "gradient"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._noise = NoiseCache()

    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        p = self.params
        batch_size = self.batch_size_for(classifier, (h, w))
        noise = self._noise.get(
            self.seed, p["nt_samples"], (h, w), p["stdev"] * 255.0, images.device
        )
        x, t = pair_inputs(images, targets)
        base = baseline_images(images, targets, p["baseline"])
        ig = CaptumIG(classifier)

        def attribute(pair: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
            return ig.attribute(
                x[pair] + noise[sample],
                baselines=base[pair].expand(len(pair), h, w, 3).contiguous(),
                target=t[pair],
                n_steps=p["n_steps"],
                internal_batch_size=max(batch_size, len(pair)),
            )

        maps = mean_attributions(
            len(t),
            p["nt_samples"],
            ig_rows_per_call(batch_size, p["n_steps"]),
            (h, w),
            images.device,
            attribute,
        )
        return to_numpy_maps(normalise_maxabs(maps), n, targets.shape[1])
