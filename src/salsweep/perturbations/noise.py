"""Noise kinds, as NRTK 1.1's Salt/Pepper/SaltAndPepper/GaussianNoisePerturber.

NRTK calls ``skimage.util.random_noise(image, rng=..., clip=True)`` and converts back with
``img_as_ubyte``. This module does the same arithmetic in numpy, drawing the same random
numbers in the same order, so for uint8 images it returns exactly what NRTK returns when
NRTK's ``seed`` seeds a ``np.random.default_rng`` in the same state as ``rng``:

- the image is scaled to [0, 1] (``x * (1/255)`` in float64);
- noise is per array element (each channel of each pixel independently);
- the result is clipped to [0, 1] and brought back as ``rint(y * 255)`` in uint8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from salsweep.params import Number, Param, Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_real

PARAMS = {
    "salt": Plugin("A fraction amount of the elements (in expectation) set to 255."),
    "pepper": Plugin("A fraction amount of the elements (in expectation) set to 0."),
    "salt_and_pepper": Plugin(
        "A fraction amount of the elements replaced; a share salt_vs_pepper of those become "
        "255 and the rest 0.",
        {
            "salt_vs_pepper": Param(
                0.5, "Share of the replaced elements that become 255 (salt).", Number(0, 1)
            )
        },
    ),
    "gaussian_noise": Plugin(
        "Additive Gaussian noise on the [0, 1] scale; the level is NRTK's var, the variance.",
        {"mean": Param(0.0, "Mean of the noise on the [0, 1] scale.", Number(-1, 1))},
    ),
}


def _to_unit(image: np.ndarray) -> np.ndarray:
    return np.multiply(image, 1.0 / 255, dtype=np.float64)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    out = np.multiply(np.clip(values, 0.0, 1.0), 255.0)
    np.rint(out, out=out)
    return np.clip(out, 0, 255).astype(np.uint8)


def _bernoulli(p: float, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    # skimage draws nothing for p in {0, 1}; keep that so the random stream stays aligned.
    if p == 0:
        return np.zeros(shape, dtype=bool)
    if p == 1:
        return np.ones(shape, dtype=bool)
    return rng.random(shape) <= p


def salt_and_pepper(
    image: np.ndarray, amount: float, salt_vs_pepper: float, rng: np.random.Generator
) -> np.ndarray:
    """Each element is replaced with probability ``amount``; a replaced element becomes 255
    with probability ``salt_vs_pepper`` and 0 otherwise (skimage's ``s&p`` mode)."""
    flipped = _bernoulli(amount, image.shape, rng)
    salted = _bernoulli(salt_vs_pepper, image.shape, rng)
    out = image.copy()
    out[flipped & salted] = 255
    out[flipped & ~salted] = 0
    return out


class _AmountNoise(Perturbation):
    level_name: ClassVar[str] = "amount"
    identity_level: ClassVar[float] = 0.0
    stochastic: ClassVar[bool] = True

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=0.0, high=1.0)


@PERTURBATIONS.register("salt")
class SaltNoise(_AmountNoise):
    """A fraction ``amount`` of the elements (in expectation) set to 255."""

    level_label: ClassVar[str] = "salt amount (fraction of values)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        assert rng is not None
        return salt_and_pepper(image, float(self.level), 1.0, rng)


@PERTURBATIONS.register("pepper")
class PepperNoise(_AmountNoise):
    """A fraction ``amount`` of the elements (in expectation) set to 0."""

    level_label: ClassVar[str] = "pepper amount (fraction of values)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        assert rng is not None
        return salt_and_pepper(image, float(self.level), 0.0, rng)


@PERTURBATIONS.register("salt_and_pepper")
class SaltAndPepperNoise(_AmountNoise):
    """A fraction ``amount`` of the elements replaced; of those, a share ``salt_vs_pepper``
    (param, default 0.5) become 255 and the rest 0."""

    level_label: ClassVar[str] = "salt-and-pepper amount (fraction of values)"

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        assert rng is not None
        salt_share = float(self.param("salt_vs_pepper"))
        return salt_and_pepper(image, float(self.level), salt_share, rng)


@PERTURBATIONS.register("gaussian_noise")
class GaussianNoise(Perturbation):
    """Additive Gaussian noise on the [0, 1] scale. The level is NRTK's ``var``, the
    *variance* (std = sqrt(var); var 0.01 is a std of 25.5 grey levels); param ``mean``
    (default 0.0, on the [0, 1] scale). var 0 with mean 0 is the identity."""

    level_name: ClassVar[str] = "var"
    identity_level: ClassVar[float] = 0.0
    level_label: ClassVar[str] = "Gaussian noise variance ([0, 1] scale)"
    stochastic: ClassVar[bool] = True

    @classmethod
    def exact_identity_for(cls, params: Mapping[str, Any]) -> bool:
        return float(params.get("mean", 0.0)) == 0.0  # var 0 still shifts by a nonzero mean

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(cls.name, cls.level_name, level, low=0.0)

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        assert rng is not None
        mean = float(self.param("mean"))
        noise = rng.normal(mean, float(self.level) ** 0.5, image.shape)
        return _to_uint8(_to_unit(image) + noise)
