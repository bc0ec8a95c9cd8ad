"""Bring a geometric copy's maps back into the clean image's frame (numpy + OpenCV).

``matrix`` is the copy's 2x3 affine (clean pixel coordinates -> the copy's; see
salsweep.perturbations.geometric). A clean pixel p takes the copy's value at matrix @ p
(bilinear, ``WARP_INVERSE_MAP``). It is valid only if all four pixels that bilinear
interpolation reads there lie inside the copy: clean pixels that left the frame (and so
the copy's pixels that entered from outside, which have no clean counterpart) are invalid.
"""

from __future__ import annotations

import cv2
import numpy as np


def _warp_back(plane: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    height, width = plane.shape[:2]
    return cv2.warpAffine(
        plane,
        np.asarray(matrix, dtype=np.float64),
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def valid_pixels(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bool [H, W]: clean pixels whose counterpart in the copy lies wholly inside it."""
    ones = np.ones(shape, dtype=np.float64)
    # A pixel reading any outside (zero) neighbour interpolates to < 1.
    return _warp_back(ones, matrix) >= 1.0 - 1e-9


def maps_to_clean_frame(maps: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """[N, H, W] (or [N, H, W, C]) copies' arrays warped back into the clean frame,
    float64; invalid pixels hold 0 and must be left out (``valid_pixels``)."""
    return np.stack([_warp_back(np.asarray(m, dtype=np.float64), matrix) for m in maps])


def masks_to_copy_frame(masks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Bool [N, H, W] ground-truth masks moved forward into the copy's frame (nearest
    neighbour; area that left the frame is lost, entered area is outside the mask)."""
    if masks.shape[0] == 0:
        return masks
    height, width = masks.shape[1:]
    moved = [
        cv2.warpAffine(
            m.astype(np.uint8),
            np.asarray(matrix, dtype=np.float64),
            (width, height),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        for m in masks
    ]
    return np.stack(moved) > 0
