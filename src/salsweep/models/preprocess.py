"""Differentiable image preprocessing shared by the model sources (all in torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

RESIZE_MODES = ("nearest", "bilinear", "bicubic")


def to_nchw(images: torch.Tensor) -> torch.Tensor:
    """[N, H, W, 3] -> [N, 3, H, W] view (its strides are already channels_last)."""
    return images.permute(0, 3, 1, 2)


def resize(images: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize NCHW images to ``size`` (h, w); antialiased where it shrinks, like PIL.

    Same-size input is returned as is, so a pipeline that already stores images at the
    model's size sees no interpolation at all.
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    height, width = int(size[0]), int(size[1])
    if tuple(images.shape[-2:]) == (height, width):
        return images
    if mode == "nearest":
        return F.interpolate(images, size=(height, width), mode="nearest-exact")
    out = F.interpolate(
        images, size=(height, width), mode=mode, align_corners=False, antialias=True
    )
    if mode == "bicubic":
        out = out.clamp(0.0, 255.0)  # PIL clips bicubic overshoot to the pixel range
    return out


def shortest_edge_size(height: int, width: int, shortest: int) -> tuple[int, int]:
    """Output (h, w) when the shorter side becomes ``shortest`` (transformers' rounding)."""
    if width <= height:
        return int(shortest * height / width), shortest
    return shortest, int(shortest * width / height)


def center_crop(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Center crop NCHW images; the offset rounds down, as transformers' center_crop does."""
    height, width = images.shape[-2:]
    crop_h, crop_w = int(size[0]), int(size[1])
    if crop_h > height or crop_w > width:
        raise ValueError(f"cannot crop {crop_h}x{crop_w} from {height}x{width} images")
    top = (height - crop_h) // 2
    left = (width - crop_w) // 2
    return images[..., top : top + crop_h, left : left + crop_w]


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(x - mean) / std with per-channel [3] tensors on NCHW images."""
    return (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
