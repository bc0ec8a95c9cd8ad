"""Grad-CAM (Selvaraju et al. 2017) via captum's ``LayerGradCam``.

On ``classifier.gradcam_layer()`` or the module at the dotted path ``layer``: the coarse
map is ReLU(sum_c mean(dlogit/dA_c) * A_c) (captum, ``relu_attributions=True``), upsampled
bilinearly to the image size (``LayerAttribution.interpolate``) and divided by its max, so
maps lie in [0, 1].

A layer output of [N, C, h, w] is used as it is. A ViT layer output of tokens [N, L, D] is
rearranged into a grid [N, D, gh, gw] after dropping the prefix (CLS, distillation) tokens;
``classifier.token_grid()`` -> (n_prefix, gh, gw), or ``classifier.token_layout()`` -> an
object with ``n_prefix`` and ``grid`` (models.hf), gives the layout; otherwise L - 1 must
be a square (one CLS token). Pick a layer whose patch tokens still reach the logits: in a ViT
that classifies from the CLS token, the final LayerNorm's patch tokens get zero gradient,
so use the last block's first norm (``layernorm_before``), as pytorch-grad-cam does.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn

from salsweep.models.base import Classifier
from salsweep.models.layers import resolve_layer, token_layout
from salsweep.params import Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    mean_attributions,
    normalise_maxabs,
    pair_inputs,
    to_numpy_maps,
)
from salsweep.saliency.params import LAYER

PARAMS = {
    "gradcam": Plugin(
        "Grad-CAM (captum LayerGradCam), upsampled to the image; ViT patch tokens are laid on "
        "their grid without the CLS token; unsigned.",
        {
            "layer": Param(
                None,
                "Dotted module path of the target layer; null = models.<name>.gradcam_layer or "
                "the architecture's default (last conv stage; a ViT's last block norm).",
                LAYER,
            )
        },
    )
}


class _Probe(nn.Module):
    """Identity that captum hooks: it sees the layer output as a [N, C, h, w] grid."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@SALIENCY_METHODS.register("gradcam")
class GradCAM(ConfiguredMethod):
    signed = False
    needs_gradients = True
    family = "gradient"

    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        layer = resolve_layer(classifier, self.params["layer"])
        probe = _Probe()

        def to_grid(module: nn.Module, inputs: object, output: object) -> object:
            first = output[0] if isinstance(output, tuple) else output
            if not isinstance(first, torch.Tensor) or first.ndim not in (3, 4):
                shape = getattr(first, "shape", type(first).__name__)
                raise ValueError(f"gradcam: layer output must be [N,C,h,w] or [N,L,D], got {shape}")
            if first.ndim == 4:
                new = probe(first)
            else:
                n_prefix, grid_h, grid_w = token_layout(classifier, first.shape[1])
                patches = first[:, n_prefix:].transpose(1, 2)
                grid = probe(patches.reshape(first.shape[0], first.shape[2], grid_h, grid_w))
                new = torch.cat([first[:, :n_prefix], grid.flatten(2).transpose(1, 2)], dim=1)
            return (new, *output[1:]) if isinstance(output, tuple) else new

        x, t = pair_inputs(images, targets)
        gradcam = LayerGradCam(classifier, probe)

        def attribute(pair: torch.Tensor, _sample: torch.Tensor) -> torch.Tensor:
            coarse = gradcam.attribute(x[pair], target=t[pair], relu_attributions=True)
            up = LayerAttribution.interpolate(coarse, (h, w), interpolate_mode="bilinear")
            return up[:, 0, :, :, None]

        handle = layer.register_forward_hook(to_grid)
        try:
            maps = mean_attributions(
                len(t), 1, self.batch_size_for(classifier, (h, w)), (h, w), images.device, attribute
            )
        finally:
            handle.remove()
        return to_numpy_maps(normalise_maxabs(maps), n, targets.shape[1])
