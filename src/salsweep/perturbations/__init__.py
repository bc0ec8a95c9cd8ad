"""Perturbation kinds: importing this package registers every kind in ``PERTURBATIONS``.

Every module of this package that declares ``PARAMS`` holds kinds: average_blur,
gaussian_blur, median_blur (blur.py); salt, pepper, salt_and_pepper, gaussian_noise
(noise.py); brightness, contrast (enhance.py); jpeg_quality (jpeg.py); rotation,
translation, scale (geometric.py, with their affine transforms); imagenet_c (imagenet_c.py,
the 19 ImageNet-C corruptions); nrtk (nrtk_adapter.py, imports nrtk only when used).
Nothing here imports torch, so config validation can use it cheaply.
"""

from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import expand_levels, identity_level_of, validate_perturbation
from salsweep.registry import import_plugins

import_plugins(__name__, PERTURBATIONS)

__all__ = [
    "PERTURBATIONS",
    "Perturbation",
    "expand_levels",
    "identity_level_of",
    "validate_perturbation",
]
