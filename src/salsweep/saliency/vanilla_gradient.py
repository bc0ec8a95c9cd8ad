"""Vanilla gradient (Simonyan et al. 2014) via captum's ``Saliency``.

The map is d logit[target] / d pixel summed over the colour channels, signed (``abs=False``,
the default) or of captum's |gradient| (``abs=True``), divided by its max |value|.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import Saliency

from salsweep.models.base import Classifier
from salsweep.params import Boolean, Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    mean_attributions,
    normalise_maxabs,
    pair_inputs,
    to_numpy_maps,
)

PARAMS = {
    "vanilla_gradient": Plugin(
        "Gradient of the class logit with respect to the pixels (captum Saliency), summed over "
        "channels; signed.",
        {"abs": Param(False, "Take absolute gradients (captum's abs).", Boolean())},
    )
}


@SALIENCY_METHODS.register("vanilla_gradient")
class VanillaGradient(ConfiguredMethod):
    signed = True
    needs_gradients = True
    family = "gradient"

    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        x, t = pair_inputs(images, targets)
        saliency = Saliency(classifier)

        def attribute(pair: torch.Tensor, _sample: torch.Tensor) -> torch.Tensor:
            return saliency.attribute(
                x[pair].requires_grad_(), target=t[pair], abs=self.params["abs"]
            )

        maps = mean_attributions(
            len(t), 1, self.batch_size_for(classifier, (h, w)), (h, w), images.device, attribute
        )
        return to_numpy_maps(normalise_maxabs(maps), n, targets.shape[1])
