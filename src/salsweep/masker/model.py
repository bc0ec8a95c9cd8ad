"""The masking network of ``realtime_mask`` (after Dabkowski & Gal 2017), the frozen
classifier features it reads, and its safetensors file.

Features (the paper's frozen encoder): the output of one classifier layer, captured by a
forward hook - the module at the dotted path ``layer``, or ``classifier.gradcam_layer()``
(the small CNN's last conv block, EfficientNet-Lite0's head stage, a ViT's last
``layernorm_before``). A [N, C, h, w] output is used as it is; ViT tokens [N, L, D] lose the
prefix tokens and are laid out on the patch grid [N, D, gh, gw] as in Grad-CAM. The
classifier stops at that layer (the rest of its forward is skipped). A classifier without
such a layer gets a small trainable encoder instead: three stride-2 3x3 convs on the image.

Network: a 1x1 conv projects the features to ``width`` channels; the class selector (an
embedding e_c of the target class, width values) gates them, f ← f · sigmoid(<f, e_c>) at
every cell, as the paper's feature filter; ``n_blocks`` upsampling blocks (x2 bilinear,
concatenate the image resized to that grid, two 3x3 conv + ReLU, channels halved down to
8) refine the map; a 1x1 conv gives two channels C0, C1 and the mask is
|C0| / (|C0| + |C1|). ``n_blocks`` is chosen at training (``n_up_blocks``): the mask grid
is about half the image side, from 1 to 3 doublings of the feature grid.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from salsweep.io import atomic_path
from salsweep.models.layers import resolve_feature_layer, token_layout

FILE_FORMAT = "salsweep-masker"
FILE_VERSION = "1"
MAX_BLOCKS = 3
MIN_CHANNELS = 8


class _Captured(Exception):
    """Raised by the feature hook to stop the classifier's forward at the layer."""

    def __init__(self, grid: torch.Tensor) -> None:
        super().__init__()
        self.grid = grid


class FeatureTap:
    """Frozen features [N, C, h, w] of a classifier layer for float images [N, H, W, 3]."""

    def __init__(self, classifier: nn.Module, layer_path: str | None) -> None:
        self.classifier = classifier
        self.layer = resolve_feature_layer(classifier, layer_path)

    def _to_grid(self, output: Any) -> torch.Tensor:
        first = output[0] if isinstance(output, tuple) else output
        if not isinstance(first, torch.Tensor) or first.ndim not in (3, 4):
            shape = getattr(first, "shape", type(first).__name__)
            raise ValueError(
                f"realtime_mask: feature layer output must be [N,C,h,w] or [N,L,D], got {shape}"
            )
        if first.ndim == 4:
            return first
        n_prefix, grid_h, grid_w = token_layout(self.classifier, first.shape[1])
        patches = first[:, n_prefix:].transpose(1, 2)
        return patches.reshape(first.shape[0], first.shape[2], grid_h, grid_w)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor | None:
        if self.layer is None:
            return None

        def hook(module: nn.Module, inputs: object, output: object) -> None:
            raise _Captured(self._to_grid(output))

        handle = self.layer.register_forward_hook(hook)
        try:
            self.classifier(images)
        except _Captured as captured:
            return captured.grid.detach().float().contiguous()
        finally:
            handle.remove()
        raise RuntimeError(
            "realtime_mask: the feature layer did not run in the classifier's forward"
        )


def n_up_blocks(feature_hw: tuple[int, int], image_hw: tuple[int, int]) -> int:
    """Doublings of the feature grid that bring it to about half the image side (1..3)."""
    ratio = min(image_hw) / (2.0 * max(1, min(feature_hw)))
    return int(min(MAX_BLOCKS, max(1, round(math.log2(max(ratio, 1.0))))))


def normalise_images(images: torch.Tensor) -> torch.Tensor:
    """Float images [N, H, W, 3] in 0..255 -> [N, 3, H, W] in [-1, 1]."""
    return images.permute(0, 3, 1, 2) / 127.5 - 1.0


class _UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in + 3, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        small = F.interpolate(images, size=x.shape[-2:], mode="area")
        x = torch.relu(self.conv1(torch.cat([x, small], dim=1)))
        return torch.relu(self.conv2(x))


class MaskerNet(nn.Module):
    """Mask grids [N, 1, h', w'] in [0, 1] from features, images and target classes."""

    def __init__(
        self, n_classes: int, feature_channels: int | None, width: int = 32, n_blocks: int = 2
    ) -> None:
        super().__init__()
        self.config = {
            "n_classes": int(n_classes),
            "feature_channels": None if feature_channels is None else int(feature_channels),
            "width": int(width),
            "n_blocks": int(n_blocks),
        }
        if feature_channels is None:
            self.encoder: nn.Module | None = nn.Sequential(
                nn.Conv2d(3, width, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            c_in = width
        else:
            self.encoder = None
            c_in = int(feature_channels)
        self.project = nn.Conv2d(c_in, width, 1)
        self.selector = nn.Embedding(n_classes, width)
        nn.init.normal_(self.selector.weight, 0.0, 1.0 / math.sqrt(width))
        blocks, channels = [], width
        for _ in range(n_blocks):
            out = max(MIN_CHANNELS, channels // 2)
            blocks.append(_UpBlock(channels, out))
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.to_mask = nn.Conv2d(channels, 2, 1)

    def forward(
        self, features: torch.Tensor | None, images: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """``images``: normalised [N, 3, H, W] (``normalise_images``); ``targets``: [N]."""
        if self.encoder is not None:
            features = self.encoder(images)
        if features is None:
            raise ValueError("realtime_mask: this masker reads classifier features; none given")
        f = torch.relu(self.project(features))
        embedding = self.selector(targets)[:, :, None, None]
        f = f * torch.sigmoid((f * embedding).sum(dim=1, keepdim=True))
        for block in self.blocks:
            f = block(f, images)
        out = self.to_mask(f)
        a, b = out[:, 0:1].abs(), out[:, 1:2].abs()
        return a / (a + b + 1e-6)


def save_masker(
    net: MaskerNet,
    path: str | os.PathLike,
    *,
    layer: str | None,
    class_names: list[str],
    metrics: dict | None = None,
) -> None:
    """Weights as tensors; architecture, feature layer, class names and metrics as metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    metadata = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "arch": json.dumps(net.config, sort_keys=True),
        "layer": json.dumps(layer),
        "class_names": json.dumps(list(class_names)),
        "metrics": json.dumps(metrics or {}, sort_keys=True),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_masker(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[MaskerNet, dict[str, Any]]:
    """(network in eval mode, metadata with ``layer``, ``class_names``, ``metrics``)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(
            f"realtime_mask: {path} is not a masker safetensors file ({error})"
        ) from None
    if metadata.get("format") != FILE_FORMAT or metadata.get("version") != FILE_VERSION:
        raise ValueError(
            f"realtime_mask: {path} is not a {FILE_FORMAT} v{FILE_VERSION} file "
            f"(format {metadata.get('format')!r}, version {metadata.get('version')!r})"
        )
    net = MaskerNet(**json.loads(metadata["arch"]))
    net.load_state_dict(tensors, strict=True)
    info = {
        "layer": json.loads(metadata["layer"]),
        "class_names": json.loads(metadata["class_names"]),
        "metrics": json.loads(metadata.get("metrics", "{}")),
    }
    return net.to(device).eval(), info
