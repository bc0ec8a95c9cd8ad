"""Geometric kinds: rotation, translation, scale. Each knows its exact transform.

Every kind is one ``cv2.warpAffine`` of the image with the 2x3 matrix ``affine(H, W)``
(clean pixel coordinates -> the copy's), bilinear interpolation (``INTER_LINEAR``) and a
black constant border (``BORDER_CONSTANT``, value 0): pixels that enter from outside the
frame are black. Pixel centres are at integer coordinates; rotation and scale are about
the image centre ((W - 1) / 2, (H - 1) / 2), so a 90-degree rotation of a square image
permutes its pixels exactly.

Before a drift metric, the map_metrics stage warps the copy's map back into the clean
image's frame with the same matrix (salsweep.frames), and leaves out the pixels with no
counterpart through a validity mask.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from salsweep.params import OneOf, Param, Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_real

DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}

PARAMS = {
    "rotation": Plugin(
        "Rotation about the image centre by the level in degrees (counter-clockwise, as "
        "cv2.getRotationMatrix2D); bilinear, black border; 0 is the identity."
    ),
    "translation": Plugin(
        "Shift by the level times the image side (width for right/left, height for "
        "down/up) in a fixed direction; bilinear, black border; 0 is the identity.",
        {
            "direction": Param(
                "right", "Direction of the shift.", OneOf("right", "left", "down", "up")
            )
        },
    ),
    "scale": Plugin(
        "Zoom about the image centre by the level as a factor (>1 enlarges); bilinear, black "
        "border; 1 is the identity."
    ),
}


class _Affine(Perturbation):
    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        height, width = image.shape[:2]
        matrix = self.affine(height, width)
        if np.array_equal(matrix, np.eye(2, 3)):
            return image.copy()
        return warp(image, matrix, (height, width))


def warp(array: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``array`` moved forward by ``matrix``: bilinear, zero outside the frame."""
    height, width = shape
    return cv2.warpAffine(
        array,
        np.asarray(matrix, dtype=np.float64),
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def _centre(height: int, width: int) -> tuple[float, float]:
    return ((width - 1) / 2.0, (height - 1) / 2.0)


@PERTURBATIONS.register("rotation")
class Rotation(_Affine):
    """Rotation by ``angle`` degrees about the centre, counter-clockwise; 0 is the identity."""

    level_name: ClassVar[str] = "angle"
    identity_level: ClassVar[float] = 0
    level_label: ClassVar[str] = "rotation angle (degrees)"

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=-360, high=360)

    def affine(self, height: int, width: int) -> np.ndarray:
        return cv2.getRotationMatrix2D(_centre(height, width), float(self.level), 1.0)


@PERTURBATIONS.register("translation")
class Translation(_Affine):
    """Shift by ``fraction`` of the side in the param ``direction``; 0 is the identity."""

    level_name: ClassVar[str] = "fraction"
    identity_level: ClassVar[float] = 0
    level_label: ClassVar[str] = "translation (fraction of the side)"

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=0, high=1)

    def affine(self, height: int, width: int) -> np.ndarray:
        dx, dy = DIRECTIONS[self.param("direction")]
        fraction = float(self.level)
        return np.array([[1.0, 0.0, dx * fraction * width], [0.0, 1.0, dy * fraction * height]])


@PERTURBATIONS.register("scale")
class Scale(_Affine):
    """Zoom by ``factor`` about the centre (>1 enlarges, <1 shrinks); 1 is the identity."""

    level_name: ClassVar[str] = "factor"
    identity_level: ClassVar[float] = 1
    level_label: ClassVar[str] = "scale factor"

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=0.05, high=20)

    def affine(self, height: int, width: int) -> np.ndarray:
        return cv2.getRotationMatrix2D(_centre(height, width), 0.0, float(self.level))
