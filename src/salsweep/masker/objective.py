"""The masking objective of Dabkowski & Gal (2017, "Real Time Image Saliency for Black Box
Classifiers"), shared by ``mask_optimisation`` and ``realtime_mask``.

For an image X, a class c and a mask M in [0, 1] (1 = keep the pixel):

    L(M) = λ1 TV(M) + λ2 AV(M) − log f_c(Φ(X, M)) + λ3 f_c(Φ(X, 1 − M))^λ4

- Φ(X, M) = X ⊙ M + A ⊙ (1 − M): the image where M keeps it, the alternative A elsewhere;
  f_c is the classifier's softmax probability of c. The third term asks the kept region
  alone to keep the class ("smallest sufficient region"), the fourth asks the image without
  it to lose the class ("smallest destroying region").
- A: ``blur``, the image under a strong Gaussian blur (sigma ``blur_sigma`` x the longer
  side, default 0.1; the reference implementation blurs with sigma 11 px at 224 px, i.e.
  0.05, which leaves 32 px digits readable to a classifier), or
  ``noise``, a random colour (127.5 ± 42 per channel) plus Gaussian noise (std 14), both in
  0..255 as in the reference implementation, clipped to 0..255 and redrawn on every step.
- AV(M): the mean of M over the image (the kept area as a fraction).
- TV(M): the sum of squared differences between neighbouring cells of the mask grid
  (horizontal and vertical), divided by the grid's mean side. A sharp edge across the whole
  image then costs about 1 whatever the grid resolution, and a smooth ramp over r cells
  about 1/r, so λ1 does not depend on ``mask_size``.

The weights (``tv_weight`` λ1, ``area_weight`` λ2, ``destroy_weight`` λ3, ``destroy_power``
λ4; defaults 1, 3, 3, 0.3 in ``salsweep.saliency.params``) were chosen here on the digits
CNN and EfficientNet-Lite0 (compact, smooth masks that keep the class and whose removal
destroys it): the reference code's loss (a Carlini-Wagner margin, a summed, unnormalised
TV) differs, so its coefficients do not carry over. λ4 < 1 keeps pushing f_c(Φ(X, 1 − M))
towards 0 where a linear term would flatten out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Reference implementation (Dabkowski's pytorch-saliency ``apply_mask``): colour range 0.66
# and noise std 0.11 on a [-1, 1] image, i.e. ±42 and 14 on 0..255.
NOISE_COLOUR_HALF_RANGE = 42.0
NOISE_STD = 14.0
MID_GREY = 127.5
# Keeps the gradient of f^λ4 finite at f = 0 when λ4 < 1.
_PROB_FLOOR = 1e-6


@dataclass(frozen=True)
class Weights:
    tv: float
    area: float
    destroy: float
    destroy_power: float

    @classmethod
    def from_params(cls, params: dict) -> Weights:
        return cls(
            tv=float(params["tv_weight"]),
            area=float(params["area_weight"]),
            destroy=float(params["destroy_weight"]),
            destroy_power=float(params["destroy_power"]),
        )


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of float images [N, H, W, 3] (sigma in pixels, edges replicated)."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3.0 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(images.dtype).to(images.device)
    x = images.permute(0, 3, 1, 2)
    x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x.permute(0, 2, 3, 1).contiguous()


def blur_sigma_px(hw: tuple[int, int], fraction: float) -> float:
    return float(fraction) * max(hw)


def blurred(images: torch.Tensor, fraction: float) -> torch.Tensor:
    """The ``blur`` alternative of float images [N, H, W, 3]."""
    return gaussian_blur(images, blur_sigma_px(tuple(images.shape[1:3]), fraction))


def noise_images(
    generator: torch.Generator, n: int, hw: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """``n`` draws of the ``noise`` alternative [n, H, W, 3], on the CPU from ``generator``."""
    colour = MID_GREY + NOISE_COLOUR_HALF_RANGE * (
        2.0 * torch.rand((n, 1, 1, 3), generator=generator) - 1.0
    )
    noise = torch.normal(0.0, NOISE_STD, (n, *hw, 3), generator=generator)
    return (colour + noise).clamp(0.0, 255.0).to(device)


def total_variation(grid: torch.Tensor) -> torch.Tensor:
    """TV of mask grids [B, 1, h, w] -> [B] (see the module doc)."""
    dy = (grid[:, :, 1:, :] - grid[:, :, :-1, :]).pow(2).sum(dim=(1, 2, 3))
    dx = (grid[:, :, :, 1:] - grid[:, :, :, :-1]).pow(2).sum(dim=(1, 2, 3))
    return (dy + dx) / math.sqrt(grid.shape[-2] * grid.shape[-1])


def upsample(grid: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of mask grids [B, 1, h, w] to [B, H, W]."""
    if tuple(grid.shape[-2:]) == tuple(hw):
        return grid[:, 0]
    return F.interpolate(grid, size=tuple(hw), mode="bilinear", align_corners=False)[:, 0]


@dataclass
class Terms:
    """Per-sample terms [B] of the objective; ``total`` is the weighted sum."""

    tv: torch.Tensor
    area: torch.Tensor
    keep: torch.Tensor  # −log f_c(Φ(X, M))
    destroy: torch.Tensor  # f_c(Φ(X, 1 − M))
    total: torch.Tensor


def mask_terms(
    classifier: torch.nn.Module,
    images: torch.Tensor,
    alternative: torch.Tensor,
    grid: torch.Tensor,
    targets: torch.Tensor,
    weights: Weights,
) -> Terms:
    """The objective of masks ``grid`` [B, 1, h, w] for float images [B, H, W, 3].

    ``alternative`` is A, [B, H, W, 3] or [1, H, W, 3]. Preserved and destroyed images go
    through the classifier in one forward of 2B images.
    """
    mask = upsample(grid, tuple(images.shape[1:3]))[..., None]
    preserved = images * mask + alternative * (1.0 - mask)
    destroyed = images * (1.0 - mask) + alternative * mask
    logp = torch.log_softmax(classifier(torch.cat([preserved, destroyed])).float(), dim=1)
    n = images.shape[0]
    index = targets.view(-1, 1)
    keep = -logp[:n].gather(1, index)[:, 0]
    destroy = logp[n:].gather(1, index)[:, 0].exp()
    tv = total_variation(grid)
    area = mask.mean(dim=(1, 2, 3))
    total = (
        weights.tv * tv
        + weights.area * area
        + keep
        + weights.destroy * destroy.clamp_min(_PROB_FLOOR) ** weights.destroy_power
    )
    return Terms(tv=tv, area=area, keep=keep, destroy=destroy, total=total)
