"""Blur kinds, as NRTK 1.1's Average/Gaussian/MedianBlurPerturber: the same OpenCV calls.

The level is the square kernel size ``ksize`` (pixels). OpenCV's default border
(BORDER_REFLECT_101) is used, as in NRTK.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from salsweep.params import Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_int

PARAMS = {
    "average_blur": Plugin("Box filter (cv2.blur) of ksize x ksize; ksize 1 is the identity."),
    "gaussian_blur": Plugin(
        "cv2.GaussianBlur with an odd ksize, sigma derived from ksize as NRTK does; ksize 1 "
        "is the identity."
    ),
    "median_blur": Plugin("cv2.medianBlur with an odd ksize; ksize 1 is the identity."),
}


class _KernelBlur(Perturbation):
    level_name: ClassVar[str] = "ksize"
    identity_level: ClassVar[float] = 1
    integer_level: ClassVar[bool] = True
    odd_kernel: ClassVar[bool] = False

    @classmethod
    def check_level(cls, level: float) -> None:
        check_int(
            cls.name,
            cls.level_name,
            level,
            low=1,
            odd=cls.odd_kernel,
            odd_reason=f"{cls.name} needs a centred kernel",
        )

    @property
    def ksize(self) -> int:
        return int(self.level)


@PERTURBATIONS.register("average_blur")
class AverageBlur(_KernelBlur):
    """Box filter (cv2.blur) of ksize x ksize; ksize is any integer >= 1, 1 is the identity."""

    level_label: ClassVar[str] = "average blur ksize (px)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return cv2.blur(image, ksize=(self.ksize, self.ksize))


@PERTURBATIONS.register("gaussian_blur")
class GaussianBlur(_KernelBlur):
    """cv2.GaussianBlur with an odd ksize and sigmaX=0, i.e. sigma derived from ksize
    (0.3 * ((ksize - 1) * 0.5 - 1) + 0.8), as NRTK does; ksize 1 is the identity."""

    odd_kernel: ClassVar[bool] = True
    level_label: ClassVar[str] = "Gaussian blur ksize (px)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return cv2.GaussianBlur(image, ksize=(self.ksize, self.ksize), sigmaX=0)


@PERTURBATIONS.register("median_blur")
class MedianBlur(_KernelBlur):
    """cv2.medianBlur with an odd ksize. ksize 1 (the identity) is allowed here although
    NRTK's MedianBlurPerturber requires ksize >= 3; from 3 up the two are identical."""

    odd_kernel: ClassVar[bool] = True
    level_label: ClassVar[str] = "median blur ksize (px)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return cv2.medianBlur(np.ascontiguousarray(image), self.ksize)
