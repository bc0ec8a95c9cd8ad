"""Brightness and contrast, as NRTK 1.1's Brightness/ContrastPerturber: PIL's ImageEnhance.

PIL blends the image with a "degenerate" image, ``out = degenerate + factor * (image -
degenerate)`` clipped to [0, 255]: black for brightness, a flat grey at the rounded mean
luma (ITU-R 601-2, PIL's "L") for contrast. factor 1.0 returns the image unchanged, 0.0 the
degenerate image, > 1 extrapolates.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image, ImageEnhance

from salsweep.params import Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_real

PARAMS = {
    "brightness": Plugin(
        "PIL brightness: factor 0 is black, 1 the image, 2 twice as bright (clipped)."
    ),
    "contrast": Plugin("PIL contrast: factor 0 is flat grey, 1 the image, > 1 more contrast."),
}


class _Enhance(Perturbation):
    level_name: ClassVar[str] = "factor"
    identity_level: ClassVar[float] = 1.0
    enhancement: ClassVar[type[ImageEnhance._Enhance]]

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=0.0)

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        pil = Image.fromarray(np.ascontiguousarray(image))
        return np.asarray(self.enhancement(pil).enhance(float(self.level))).copy()


@PERTURBATIONS.register("brightness")
class Brightness(_Enhance):
    """Scale towards black: factor 0 is black, 1 the image, 2 twice as bright (clipped)."""

    level_label: ClassVar[str] = "brightness factor"
    enhancement = ImageEnhance.Brightness


@PERTURBATIONS.register("contrast")
class Contrast(_Enhance):
    """Scale around the mean grey: factor 0 is flat grey, 1 the image, > 1 more contrast."""

    level_label: ClassVar[str] = "contrast factor"
    enhancement = ImageEnhance.Contrast
