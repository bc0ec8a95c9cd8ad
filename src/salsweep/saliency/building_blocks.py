"""Building blocks of the saliency methods: the configured base class, map normalisation,
fill colours, padded softmax forwards, occlusion confidences, per-pair attribution
averaging and seeded noise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from salsweep.models.base import Classifier
from salsweep.saliency.base import SaliencyMethod
from salsweep.saliency.params import resolve_params


class ConfiguredMethod(SaliencyMethod):
    """A method whose params are checked and merged over ``params.METHOD_PARAMS`` defaults."""

    def __init__(self, seed: int = 0, batch_size: int | str = 64, **params: Any) -> None:
        resolved = resolve_params(self.name, {"seed": seed, "batch_size": batch_size, **params})
        super().__init__(seed=seed, batch_size=batch_size, **resolved)


def normalise_maxabs(maps: torch.Tensor) -> torch.Tensor:
    """Divide each [H, W] map by its max |value| (an all-zero map stays zero), clip to [-1, 1].

    Same as sklearn's ``maxabs_scale`` that xaitk-saliency applies per class map.
    """
    scale = maps.abs().amax(dim=(-2, -1), keepdim=True)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (maps / scale).clamp(-1.0, 1.0)


def colours(images: torch.Tensor, spec: Any, what: str) -> torch.Tensor:
    """Per-image colour [N, 3] float64 from "black", "mean" or [r, g, b].

    "mean" is the image's channel mean, computed in float64 (no uint8 overflow).
    """
    n = images.shape[0]
    if spec == "black":
        return torch.zeros((n, 3), dtype=torch.float64, device=images.device)
    if spec == "mean":
        return images.double().mean(dim=(1, 2))
    if isinstance(spec, (list, tuple)) and len(spec) == 3:
        colour = torch.tensor([float(c) for c in spec], dtype=torch.float64, device=images.device)
        return colour.expand(n, 3).clone()
    raise ValueError(f"{what} must be 'black', 'mean' or [r, g, b], got {spec!r}")


def fill_colours(images: torch.Tensor, fill: Any) -> torch.Tensor:
    """Occlusion fill [N, 3]: "mean" is rounded so occluded images stay valid uint8 images."""
    values = colours(images, fill, "fill")
    return torch.round(values) if fill == "mean" else values


def chunks(total: int, size: int) -> Iterator[torch.Tensor]:
    for start in range(0, total, size):
        yield torch.arange(start, min(start + size, total))


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def softmax_conf(classifier: Classifier, x: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
    """Softmax in float32 of the logits; ``precision`` bf16 / fp16 runs the forward under
    ``torch.autocast`` on the images' device."""
    if precision == "fp32":
        return torch.softmax(classifier(x).float(), dim=1)
    with torch.autocast(x.device.type, dtype=AUTOCAST_DTYPES[precision]):
        logits = classifier(x)
    return torch.softmax(logits.float(), dim=1)


def padded_softmax_conf(
    classifier: Classifier, x: torch.Tensor, batch_size: int, precision: str = "fp32"
) -> torch.Tensor:
    """``softmax_conf`` with a short batch padded to ``batch_size`` rows.

    BLAS picks its kernel by matrix size, so a row's result depends on its batch's size (not
    on the other rows): full-size forwards make maps independent of the shard size.
    """
    n = x.shape[0]
    pad = batch_size - n
    if pad > 0:
        x = torch.cat([x, x[-1:].expand(pad, *x.shape[1:])])
    return softmax_conf(classifier, x, precision)[:n]


def occlusion_confidences(
    classifier: Classifier,
    n_images: int,
    n_masks: int,
    blend: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    targets: torch.Tensor,
    batch_size: int,
    precision: str = "fp32",
) -> torch.Tensor:
    """Softmax confidences [N, M, T] of the targets on every (image, mask) blend.

    ``blend(image_idx, mask_idx)`` returns float images [B, H, W, 3]; pairs run image-major
    in forwards of ``batch_size``; one set of forwards serves all targets of an image.
    """
    device = targets.device
    out = torch.empty((n_images * n_masks, targets.shape[1]), dtype=torch.float32, device=device)
    for idx in chunks(n_images * n_masks, batch_size):
        idx = idx.to(device)
        image_idx, mask_idx = idx // n_masks, idx % n_masks
        conf = padded_softmax_conf(classifier, blend(image_idx, mask_idx), batch_size, precision)
        out[idx] = conf.gather(1, targets[image_idx])
    return out.reshape(n_images, n_masks, targets.shape[1])


def to_numpy_maps(maps: torch.Tensor, n: int, t: int) -> np.ndarray:
    h, w = maps.shape[-2:]
    return maps.reshape(n, t, h, w).float().detach().cpu().numpy()


def pair_inputs(images: torch.Tensor, targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Float images [N*T, H, W, 3] and targets [N*T]: one row per (image, target) pair."""
    n_targets = targets.shape[1]
    x = images.float().repeat_interleave(n_targets, dim=0)
    t = torch.from_numpy(np.asarray(targets, dtype=np.int64).reshape(-1)).to(images.device)
    return x, t


def mean_attributions(
    n_pairs: int,
    samples_per_pair: int,
    rows_per_call: int,
    hw: tuple[int, int],
    device: torch.device,
    attribute: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Channel-summed attributions averaged over samples: [n_pairs, H, W] float32.

    ``attribute(pair_idx, sample_idx)`` returns attributions [B, H, W, 3] for rows
    (pair, sample); rows run pair-major in calls of ``rows_per_call``, so a call may mix
    pairs and split a pair's samples, keeping every call full.
    """
    sums = torch.zeros((n_pairs, *hw), dtype=torch.float32, device=device)
    for idx in chunks(n_pairs * samples_per_pair, rows_per_call):
        idx = idx.to(device)
        pair_idx, sample_idx = idx // samples_per_pair, idx % samples_per_pair
        attr = attribute(pair_idx, sample_idx)
        sums.index_add_(0, pair_idx, attr.detach().float().sum(dim=-1))
    return sums / samples_per_pair


def gaussian_noise(seed: int, n_samples: int, hw: tuple[int, int], std: float) -> torch.Tensor:
    """Noise [K, H, W, 3] drawn on the CPU from ``seed`` (the same on every device).

    The draw equals ``torch.manual_seed(seed); torch.normal(0, std, (K, H, W, 3))``, the
    noise captum's NoiseTunnel adds to a single input.
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.normal(0.0, std, (n_samples, *hw, 3), generator=generator)


class NoiseCache:
    """The last noise tensor, kept on the device: one draw per (seed, K, size, std)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._noise: torch.Tensor | None = None

    def get(
        self, seed: int, n_samples: int, hw: tuple[int, int], std: float, device: torch.device
    ) -> torch.Tensor:
        key = (seed, n_samples, tuple(hw), std, str(device))
        if self._noise is None or self._key != key:
            self._noise = gaussian_noise(seed, n_samples, hw, std).to(device)
            self._key = key
        return self._noise
