"""Mask optimisation: one mask per image and target minimising the objective of Dabkowski &
Gal (2017), see ``salsweep.masker.objective`` (the paper's iterative baseline of its learned
masking model, in the spirit of Fong & Vedaldi's meaningful perturbations).

The mask is a low-resolution grid M = sigmoid(θ) of ``mask_size`` x ``mask_size`` cells
(each side capped at the image side), upsampled bilinearly to the image; θ starts at 0
(M = 0.5) and takes ``steps`` Adam steps of learning rate ``lr`` on the objective. The map
is the final upsampled mask: the preserved region, 1 = keep (salient), in [0, 1], not
rescaled (a mask value is the fraction of the pixel that is kept).

All (image, target) pairs of a call are optimised together, ``batch_size`` // 2 pairs per
forward (each forward holds their preserved and destroyed images). Each pair's loss only
depends on its own mask, and the ``noise`` alternative is the same draw for every pair at a
step (a generator seeded from the method seed, restarted for every batch of pairs), so a
pair's map depends neither on the other pairs nor on the batching up to float rounding,
and a clean image and its perturbed copies are explained under the same noise draws.

Cost: ``steps`` x 2 forwards and backwards per pair.
"""

from __future__ import annotations

import numpy as np
import torch

from salsweep.masker.objective import Weights, blurred, mask_terms, noise_images, upsample
from salsweep.models.base import Classifier
from salsweep.params import Integer, Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import ConfiguredMethod, chunks, pair_inputs, to_numpy_maps
from salsweep.saliency.params import ALTERNATIVE, BLUR_SIGMA, OBJECTIVE_PARAMS, POSITIVE

PARAMS = {
    "mask_optimisation": Plugin(
        "Mask optimisation with the objective of Dabkowski & Gal (2017) - tv_weight TV(M) + "
        "area_weight AV(M) - log f_c(kept region) + destroy_weight f_c(region "
        "removed)^destroy_power - a low-resolution mask per image and target, Adam, upsampled "
        "bilinearly; the map is the kept region, unsigned [0, 1]. Costs steps x 2 forwards "
        "and backwards per map.",
        {
            "mask_size": Param(
                28,
                "Cells per side of the optimised mask grid (each side capped at the image side).",
                Integer(1),
            ),
            "steps": Param(300, "Adam steps.", Integer(1)),
            "lr": Param(0.1, "Adam learning rate (on the mask logits).", POSITIVE),
            "alternative": Param(
                "blur",
                "What replaces the removed pixels - blur (the image under a strong Gaussian "
                "blur) or noise (a random colour plus Gaussian noise, redrawn every step from "
                "the method seed).",
                ALTERNATIVE,
            ),
            "blur_sigma": BLUR_SIGMA,
            **OBJECTIVE_PARAMS,
        },
    )
}


def grid_size(mask_size: int, hw: tuple[int, int]) -> tuple[int, int]:
    return min(int(mask_size), int(hw[0])), min(int(mask_size), int(hw[1]))


def optimise_masks(
    classifier: Classifier,
    images: torch.Tensor,
    targets: torch.Tensor,
    params: dict,
    seed: int,
    pairs_per_forward: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimised mask grids [P, 1, h, w] in [0, 1] for float images [P, H, W, 3] and
    targets [P], and the objective per step averaged over the pairs, [steps] float64."""
    p, h, w, _ = images.shape
    device = images.device
    weights = Weights.from_params(params)
    steps = int(params["steps"])
    gh, gw = grid_size(params["mask_size"], (h, w))
    grids = torch.empty((p, 1, gh, gw), dtype=torch.float32, device=device)
    history = torch.zeros(steps, dtype=torch.float64)
    for idx in chunks(p, max(1, pairs_per_forward)):
        idx = idx.to(device)
        x, t = images[idx], targets[idx]
        alternative = blurred(x, params["blur_sigma"]) if params["alternative"] == "blur" else None
        generator = torch.Generator().manual_seed(int(seed))
        theta = torch.zeros((len(idx), 1, gh, gw), device=device, requires_grad=True)
        optimiser = torch.optim.Adam([theta], lr=float(params["lr"]))
        for step in range(steps):
            if alternative is None:
                alt = noise_images(generator, 1, (h, w), device)
            else:
                alt = alternative
            terms = mask_terms(classifier, x, alt, torch.sigmoid(theta), t, weights)
            loss = terms.total.sum()
            (theta.grad,) = torch.autograd.grad(loss, [theta])  # no grads for the classifier
            optimiser.step()
            history[step] += float(loss.detach())
        grids[idx] = torch.sigmoid(theta.detach())
    return grids, history / max(p, 1)


@SALIENCY_METHODS.register("mask_optimisation")
class MaskOptimisation(ConfiguredMethod):
    signed = False
    needs_gradients = True
    family = "mask"

    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        x, t = pair_inputs(images, targets)
        per_forward = max(1, self.batch_size_for(classifier, (h, w)) // 2)
        with torch.enable_grad():
            grids, _ = optimise_masks(classifier, x, t, self.params, self.seed, per_forward)
        return to_numpy_maps(upsample(grids, (h, w)), n, targets.shape[1])
