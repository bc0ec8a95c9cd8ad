"""SmoothGrad (Smilkov et al. 2017): captum's ``Saliency`` averaged over noisy copies.

Equals captum ``NoiseTunnel(Saliency).attribute(nt_type="smoothgrad", abs=...)`` with
noise std ``stdev * 255``, summed over channels and divided by its max |value|. The noise
(``nt_samples`` draws of [H, W, 3]) comes from ``seed`` only, so every image of a size, and
every target, gets the same noise samples: a clean image and its perturbed copies are
compared under common random numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import Saliency

from salsweep.models.base import Classifier
from salsweep.params import Boolean, Integer, Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    NoiseCache,
    mean_attributions,
    normalise_maxabs,
    pair_inputs,
    to_numpy_maps,
)
from salsweep.saliency.params import STDEV

PARAMS = {
    "smoothgrad": Plugin(
        "SmoothGrad (captum NoiseTunnel over Saliency); signed.",
        {
            "nt_samples": Param(25, "Noisy samples per map.", Integer(1)),
            "stdev": STDEV,
            "abs": Param(False, "Take absolute gradients.", Boolean()),
        },
    )
}


@SALIENCY_METHODS.register("smoothgrad")
class SmoothGrad(ConfiguredMethod):
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
        noise = self._noise.get(
            self.seed, p["nt_samples"], (h, w), p["stdev"] * 255.0, images.device
        )
        x, t = pair_inputs(images, targets)
        saliency = Saliency(classifier)

        def attribute(pair: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
            return saliency.attribute(
                (x[pair] + noise[sample]).requires_grad_(), target=t[pair], abs=p["abs"]
            )

        maps = mean_attributions(
            len(t),
            p["nt_samples"],
            self.batch_size_for(classifier, (h, w)),
            (h, w),
            images.device,
            attribute,
        )
        return to_numpy_maps(normalise_maxabs(maps), n, targets.shape[1])
