"""The causal curves of RISE (Petsiuk et al., BMVC 2018), shared by deletion and insertion.

Pixels are ranked by saliency, highest first; ties keep raster order (a stable sort), so
a constant map ranks pixels row by row, as an uninformative map would. Step i of ``steps``
turns the first ``k_i = floor(i * H * W / steps)`` pixels of that ranking from the start
image into the finish image (all three channels), i = 0..steps, and the curve is the
classifier's probability of the target class on each step image. With more steps than
pixels there is one step per pixel. The AUC integrates the curve by the trapezoid rule
over x_i = k_i / (H * W), which runs from 0 to 1; for steps that divide H * W this is
RISE's ``auc`` (``evaluation.py``), which RISE runs with one step per image row (224).
"""

from __future__ import annotations

import numpy as np
import torch

from salsweep.faithfulness.base import target_log_probs
from salsweep.models.base import Classifier


def saliency_ranks(maps: np.ndarray) -> np.ndarray:
    """int64 [N, H*W]: the position of each pixel (raster order) in its map's ranking."""
    flat = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    positions = np.broadcast_to(np.arange(flat.shape[1]), flat.shape)
    np.put_along_axis(ranks, order, positions, axis=1)
    return ranks


def step_counts(n_pixels: int, steps: int) -> np.ndarray:
    """Pixels switched at each of the steps + 1 points: 0, ..., n_pixels, strictly rising."""
    steps = min(int(steps), n_pixels)
    return (np.arange(steps + 1, dtype=np.int64) * n_pixels) // steps


def trapezoid_auc(x: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Area under each row of ``curves`` [N, K] over the points ``x`` [K]."""
    widths = np.diff(x)
    return ((curves[:, 1:] + curves[:, :-1]) * 0.5 * widths).sum(axis=1)


@torch.inference_mode()
def causal_curves(
    classifier: Classifier,
    start: np.ndarray,
    finish: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    steps: int,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """x [K] and the target probabilities [N, K] along the curve from start to finish.

    ``start`` is float [N, H, W, 3]; ``finish`` is float [N, H, W, 3] or a colour per
    image [N, 1, 1, 3]. The N * K step images are made batch by batch on the classifier's
    device, so a forward mixes the steps of several maps.
    """
    n, h, w, _ = start.shape
    counts = step_counts(h * w, steps)
    k = len(counts)
    device = classifier.device
    start_t = torch.as_tensor(start, dtype=torch.float32, device=device)
    finish_t = torch.as_tensor(finish, dtype=torch.float32, device=device)
    ranks = torch.as_tensor(saliency_ranks(maps), device=device)
    counts_t = torch.as_tensor(counts, device=device)

    def build(index: torch.Tensor) -> torch.Tensor:
        item, step = index // k, index % k
        switched = (ranks[item] < counts_t[step][:, None]).view(-1, h, w, 1)
        return torch.where(switched, finish_t[item], start_t[item])

    step_targets = torch.as_tensor(np.repeat(targets, k), device=device)
    log_probs = target_log_probs(classifier, n * k, build, step_targets, batch_size)
    return counts / (h * w), np.exp(log_probs).reshape(n, k)
