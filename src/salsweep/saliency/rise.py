"""RISE and debiased RISE, as xaitk-saliency 0.15's ``RISEStack(debiased=False / True)``.

Masks follow ``RISEGrid``: a random binary s x s grid per mask (numpy ``default_rng(seed)``,
cell on with probability p1), bilinearly upsampled to (s + 1) x cell size (skimage ``resize``,
order 1, mode "reflect", no anti-aliasing) and cropped at a random shift drawn from a second
``default_rng(seed)``. We draw the same numbers with numpy and do the upsampling as exact
linear-interpolation matrices (float64) in torch on the model's device, which reproduces
xaitk's float32 masks bit for bit on the CPU (tested). Masks depend only on
(seed, n, s, p1, image size), so a clean image and its perturbed copies are explained with
the same masks.

Occluded images are ``mask * image + (1 - mask) * fill`` truncated to uint8 as xaitk does.
Scoring is ``RISEScoring``: sum over masks of confidence * (mask - p1') with p1' = 0 for
``rise`` (map in [0, 1]) and p1' = p1 for ``rise_debiased`` (map in [-1, 1]), each map then
divided by its max |value|.
"""

from __future__ import annotations

import numpy as np
import torch

from salsweep.models.base import Classifier
from salsweep.params import Integer, Number, Param, Plugin
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import (
    ConfiguredMethod,
    fill_colours,
    normalise_maxabs,
    occlusion_confidences,
    to_numpy_maps,
)
from salsweep.saliency.params import BLACK, FILL, PRECISION

RISE_PARAMS = {
    "n": Param(1000, "Number of random masks.", Integer(1)),
    "s": Param(8, "Grid cells per side of a mask before upsampling.", Integer(1)),
    "p1": Param(
        0.5,
        "Probability that a grid cell is kept, in (0, 1).",
        Number(0, 1, low_open=True, high_open=True),
    ),
    "fill": Param(BLACK, "Colour of the masked-out pixels [r, g, b].", FILL),
    "precision": PRECISION,
}
PARAMS = {
    "rise": Plugin(
        "RISE random masks (xaitk-saliency RISEStack scoring); unsigned [0, 1].", RISE_PARAMS
    ),
    "rise_debiased": Plugin(
        "RISE with masks weighted by M - p1 (xaitk debiased scoring); signed.", RISE_PARAMS
    ),
}

_MASK_CHUNK = 64  # masks upsampled per float64 matmul, to bound memory


def _linear_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] weights of scipy ``zoom(order=1, mode="mirror", grid_mode=True)``."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    lo = np.floor(src).astype(np.int64)
    frac = src - lo

    def mirror(i: np.ndarray) -> np.ndarray:
        if n_in == 1:
            return np.zeros_like(i)
        period = 2 * (n_in - 1)
        i = np.abs(i) % period
        return np.where(i > n_in - 1, period - i, i)

    matrix = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(matrix, (rows, mirror(lo)), 1.0 - frac)
    np.add.at(matrix, (rows, mirror(lo + 1)), frac)
    return matrix


def rise_masks(
    n: int, s: int, p1: float, seed: int, hw: tuple[int, int], device: torch.device | str = "cpu"
) -> torch.Tensor:
    """float32 masks [n, H, W] in [0, 1] (1 = keep), equal to xaitk's ``RISEGrid(seed=seed)``."""
    grid = (np.random.default_rng(seed).random((n, s, s)) < p1).astype(np.float32)
    shift_rng = np.random.default_rng(seed)
    cell = np.ceil(np.asarray(hw) / s)  # float, exactly as xaitk passes it to integers()
    shifts = np.empty((n, 2), dtype=np.int64)
    for i in range(n):  # the same call order as xaitk: y then x, mask by mask
        shifts[i, 0] = shift_rng.integers(0, cell[0])
        shifts[i, 1] = shift_rng.integers(0, cell[1])
    up_h, up_w = ((s + 1) * cell).astype(np.int64)
    h, w = hw
    resize_y = torch.from_numpy(_linear_resize_matrix(s, int(up_h))).to(device)
    resize_x = torch.from_numpy(_linear_resize_matrix(s, int(up_w))).to(device)
    grid_t = torch.from_numpy(grid).to(device)
    shifts_t = torch.from_numpy(shifts).to(device)
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    masks = torch.empty((n, h, w), dtype=torch.float32, device=device)
    for start in range(0, n, _MASK_CHUNK):
        sl = slice(start, min(start + _MASK_CHUNK, n))
        ay = resize_y[shifts_t[sl, 0, None] + rows]  # [c, H, s]
        ax = resize_x[shifts_t[sl, 1, None] + cols]  # [c, W, s]
        masks[sl] = (ay @ grid_t[sl].double() @ ax.transpose(1, 2)).float()
    return masks


class _RISEBase(ConfiguredMethod):
    needs_gradients = False
    family = "black-box"
    debiased: bool

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._mask_cache: tuple[tuple, torch.Tensor] | None = None

    def masks(self, hw: tuple[int, int], device: torch.device) -> torch.Tensor:
        p = self.params
        key = (p["n"], p["s"], p["p1"], self.seed, tuple(hw), str(device))
        if self._mask_cache is None or self._mask_cache[0] != key:
            self._mask_cache = (key, rise_masks(p["n"], p["s"], p["p1"], self.seed, hw, device))
        return self._mask_cache[1]

    @torch.inference_mode()
    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        device = images.device
        batch_size = self.batch_size_for(classifier, (h, w))
        masks = self.masks((h, w), device)
        n_masks = masks.shape[0]
        fills = fill_colours(images, self.params["fill"])  # float64 like xaitk's blend
        image_f = images.float()
        t = torch.from_numpy(np.asarray(targets, dtype=np.int64)).to(device)

        black = not bool(fills.any())

        def blend(image_idx: torch.Tensor, mask_idx: torch.Tensor) -> torch.Tensor:
            m = masks[mask_idx][..., None]
            kept = m * image_f[image_idx]  # float32, as numpy's float32 mask * uint8 image
            if black:  # xaitk's fill=None path: cast the float32 product to uint8
                return torch.trunc(kept)
            # xaitk: float32 product + float64 (1 - m) * fill, then cast to uint8.
            fill = fills[image_idx][:, None, None, :]
            return torch.trunc(kept.double() + (1.0 - m).double() * fill).float()

        conf = occlusion_confidences(
            classifier, n, n_masks, blend, t, batch_size, self.params["precision"]
        )  # [N, M, T]
        weights = conf.double().transpose(1, 2).reshape(n * t.shape[1], n_masks)
        sal = torch.zeros((n * t.shape[1], h * w), dtype=torch.float64, device=device)
        p1 = self.params["p1"] if self.debiased else 0.0
        for start in range(0, n_masks, _MASK_CHUNK):
            chunk = masks[start : start + _MASK_CHUNK].double().reshape(-1, h * w) - p1
            sal += weights[:, start : start + _MASK_CHUNK] @ chunk
        maps = normalise_maxabs(sal.reshape(n, t.shape[1], h, w))
        return to_numpy_maps(maps, n, t.shape[1])


@SALIENCY_METHODS.register("rise")
class RISE(_RISEBase):
    signed = False
    debiased = False


@SALIENCY_METHODS.register("rise_debiased")
class DebiasedRISE(_RISEBase):
    signed = True
    debiased = True
