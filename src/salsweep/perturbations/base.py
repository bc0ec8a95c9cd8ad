"""The perturbation interface: one class per kind, one verb (``perturb``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from salsweep.params import Param, check_params
from salsweep.registry import Registry, declarations


class Perturbation(ABC):
    """Apply one kind of perturbation at one level to HxWx3 uint8 images.

    Subclasses set ``level_name`` (the parameter the sweep varies, e.g. ``ksize``),
    ``identity_level`` (the level that leaves an image unchanged, plotted as the clean
    reference), ``level_label`` (the figures' axis label: the level's name and unit),
    ``exact_identity`` (False where the identity level still changes pixels, so figures
    draw the clean image apart) and ``stochastic``; they implement ``check_level`` and
    ``_perturb``.
    """

    name: ClassVar[str]
    level_name: ClassVar[str]
    identity_level: ClassVar[float]
    level_label: ClassVar[str]
    exact_identity: ClassVar[bool] = True
    stochastic: ClassVar[bool] = False

    def __init__(self, level: float, **params: Any) -> None:
        self.level = level
        self.params = params
        self.check_level(level)
        self.check_params(**params)

    @classmethod
    @abstractmethod
    def check_level(cls, level: float) -> None:
        """Raise ValueError naming the level parameter if ``level`` is out of range."""

    @classmethod
    def level_label_for(cls, params: Mapping[str, Any]) -> str:
        """The axis label of a sweep with these params (a hook for kinds whose level varies)."""
        return cls.level_label

    @classmethod
    def exact_identity_for(cls, params: Mapping[str, Any]) -> bool:
        """Whether ``identity_level`` with these params returns the image unchanged."""
        return cls.exact_identity

    @classmethod
    def check_params(cls, **params: Any) -> None:
        """Check the fixed params against the kind's declaration (its module's ``PARAMS``)."""
        check_params("perturbation kind", cls.name, params, cls.declared_params())

    @classmethod
    def declared_params(cls) -> Mapping[str, Param]:
        return declarations(__package__)[cls.name].params

    @classmethod
    def unknown_frame_reason(cls, params: Mapping[str, Any]) -> str | None:
        """Why this sweep's copies are in another frame than the clean image with no known
        transform back (None: same frame, or ``affine`` knows the transform). Config checks
        refuse metrics that compare frames (drift, mask) on such a sweep."""
        return None

    def affine(self, height: int, width: int) -> np.ndarray | None:
        """The 2x3 matrix taking clean-image pixel coordinates (x, y) to the copy's, for an
        image of this size; None where the copy is in the clean image's frame."""
        return None

    def param(self, key: str) -> Any:
        """A fixed param as given, else its declared default."""
        return self.params.get(key, self.declared_params()[key].default)

    def perturb(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return a perturbed copy of one HxWx3 uint8 image (``rng`` seeds stochastic kinds)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected HxWx3 uint8, got {image.shape} {image.dtype}")
        if self.stochastic and rng is None:
            raise ValueError(f"{self.name} is stochastic and needs an rng")
        out = self._perturb(image, rng)
        if out.shape != image.shape or out.dtype != np.uint8:
            raise AssertionError(f"{self.name} returned {out.shape} {out.dtype}")
        return out

    @abstractmethod
    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray: ...


PERTURBATIONS: Registry[Perturbation] = Registry("perturbation kind")
