"""JPEG compression: encode at a quality, decode again (OpenCV's libjpeg).

NRTK 1.1 has no JPEG image perturber, so there is nothing to match here.

The level is the JPEG ``quality`` (integer 1..100). ``identity_level`` is 100 but it is
*not* a perfect identity: quality 100 still rounds the DCT coefficients, converts
RGB -> YCbCr and back, and (with the default 4:2:0 chroma subsampling) halves the colour
resolution. With ``chroma_subsampling="4:4:4"`` a quality-100 round trip stays within a few
grey levels of the input.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from salsweep.params import OneOf, Param, Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_int

PARAMS = {
    "jpeg_quality": Plugin(
        "JPEG round trip (OpenCV's libjpeg) at quality 1..100; quality 100 is not an exact "
        "identity.",
        {
            "chroma_subsampling": Param(
                "4:2:0",
                "Chroma subsampling of the encoder (4:2:0 is libjpeg's default).",
                OneOf("4:2:0", "4:2:2", "4:4:4"),
            )
        },
    )
}

# libjpeg's default (and what most cameras and web encoders write) is 4:2:0.
SUBSAMPLING = {
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
}


@PERTURBATIONS.register("jpeg_quality")
class JpegQuality(Perturbation):
    """JPEG round trip at ``quality``; param ``chroma_subsampling`` ("4:2:0" default,
    "4:2:2", "4:4:4")."""

    level_name: ClassVar[str] = "quality"
    identity_level: ClassVar[float] = 100
    exact_identity: ClassVar[bool] = False  # quality 100 still moves pixels (module docstring)
    level_label: ClassVar[str] = "JPEG quality"
    integer_level: ClassVar[bool] = True

    @classmethod
    def check_level(cls, level: float) -> None:
        check_int(cls.name, cls.level_name, level, low=1, high=100)

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        sampling = SUBSAMPLING[self.param("chroma_subsampling")]
        flags = [
            cv2.IMWRITE_JPEG_QUALITY,
            int(self.level),
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
            sampling,
        ]
        # OpenCV reads and writes BGR; the colour transform and subsampling depend on it.
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), flags)
        if not ok:
            raise RuntimeError(f"{self.name}: cv2.imencode failed at quality {self.level}")
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
