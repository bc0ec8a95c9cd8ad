"""Perturbation kinds: importing this package registers every kind in ``PERTURBATIONS``.

Kinds: average_blur, gaussian_blur, median_blur (blur.py); salt, pepper, salt_and_pepper,
gaussian_noise (noise.py); brightness, contrast (enhance.py); jpeg_quality (jpeg.py); nrtk
(nrtk_adapter.py, imports nrtk only when used). Nothing here imports torch, so config
validation can use it cheaply.
"""

from salsweep.perturbations import blur, enhance, jpeg, noise, nrtk_adapter  # noqa: F401
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import expand_levels, identity_level_of, validate_perturbation

__all__ = [
    "PERTURBATIONS",
    "Perturbation",
    "expand_levels",
    "identity_level_of",
    "validate_perturbation",
]
