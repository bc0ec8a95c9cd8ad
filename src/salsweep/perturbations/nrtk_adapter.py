"""Kind ``nrtk``: run any NRTK image perturber by class path (optional extra ``salsweep[nrtk]``).

Params:

- ``class_path`` (required): dotted path of an NRTK ``PerturbImage`` class. In NRTK 1.1 the
  photometric ones live in ``nrtk.impls.perturb_image.photometric.{blur,noise,enhance}``,
  e.g. ``nrtk.impls.perturb_image.photometric.blur.GaussianBlurPerturber`` (the 0.x path
  ``nrtk.impls.perturb_image.generic.cv2.blur`` no longer exists).
- ``level_param`` (required): the constructor argument the level sets (``ksize``,
  ``amount``, ``factor``...), or else a keyword of the perturber's ``perturb`` call
  (``max_translation_limit`` of RandomTranslationPerturber). An integral level is passed as
  ``int``, any other as ``float``, except to an argument annotated ``float``, which always
  gets a ``float`` (HazePerturber's ``factor=1`` as an int fails under numpy 2).
- ``level_form`` (default none: the bare number): a list in which each ``"level"`` is
  replaced by the level, for arguments that take a sequence: ``["level", "level"]`` gives
  (level, level) (RandomTranslationPerturber's ``max_translation_limit``),
  ``["level", 0, 0]`` gives RadialDistortionPerturber's ``k`` = (level, 0, 0).
- ``kwargs`` (default ``{}``): further constructor arguments, fixed across levels.
- ``identity_level`` (default none): the level at which the class leaves images unchanged,
  if it has one. Figures draw the clean image apart from the sweep (its identity is not
  known to be exact).
- ``level_label`` (default: ``level_param``): the figures' axis label, e.g. ``"ksize (px)"``.

Two classes return an image of another size, and every stage needs the image's own size,
so the adapter brings their output back to the input's height and width:

- ``RandomCropPerturber`` (a ``crop_size`` crop): the crop is resized back with
  ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)``, i.e. it acts as a random zoom-in.
- ``RandomScalePerturber`` (scales by 1 + a factor drawn in ``[-limit, limit]``): the scaled
  image is centre-cropped (larger) or zero-padded around the centre (smaller), so it stays a
  zoom about the centre (resizing it back would undo the scaling).

Any other class that changes the shape or dtype is an error. Neither of the two allows
drift or mask metrics (their frames are not known: see ``UNKNOWN_FRAMES``).

NRTK is imported only when the kind is used. If the class takes a ``seed`` (NRTK 1.x) or
``rng`` (NRTK 0.x) argument it is treated as stochastic: it is built anew for every image
with a seed drawn from the ``rng`` given to ``perturb``, so randomness still comes only
from that generator. ``seed``/``rng``/``is_static`` cannot be set through ``kwargs``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import cv2
import numpy as np

from salsweep.params import AnyOf, Mapped, Number, NumbersWith, OneOf, Param, Plugin, Text
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_real

LEVEL = "level"

# check_params also checks them against the NRTK class itself.
PARAMS = {
    "nrtk": Plugin(
        "Any NRTK PerturbImage class by class path (extra salsweep[nrtk]).",
        {
            "class_path": Param(
                None, "Dotted path of an NRTK PerturbImage class.", Text(), required=True
            ),
            "level_param": Param(
                None,
                "The constructor argument the level sets (else a keyword of its perturb() call).",
                Text(),
                required=True,
            ),
            "level_form": Param(
                None,
                'A list in which each "level" is replaced by the level, for sequence '
                'arguments (e.g. ["level", "level"]); default: the bare number.',
                NumbersWith("level", nullable=True),
            ),
            "kwargs": Param({}, "Further constructor arguments, fixed across levels.", Mapped()),
            "identity_level": Param(
                None,
                "The level at which the class leaves images unchanged, if it has one.",
                AnyOf(OneOf(None), Number(), phrase="null or a number"),
            ),
            "level_label": Param(
                None,
                "The figures' x-axis label (level parameter and unit); default: level_param.",
                Text(nullable=True),
            ),
        },
    )
}

# NRTK classes that move pixels, and why salsweep cannot map their copies back to the clean
# frame (checked by class name, so the reason holds even where the class does not import).
UNKNOWN_FRAMES = {
    "RandomTranslationPerturber": "it shifts each image by an offset drawn inside NRTK that "
    "it neither returns nor records",
    "RandomCropPerturber": "it crops at a corner drawn inside NRTK that it neither returns nor "
    "records (salsweep resizes the crop back to the image's size)",
    "RandomRotationPerturber": "albumentations draws the angle and does not return it",
    "RandomScalePerturber": "albumentations draws the factor and does not return it "
    "(salsweep centre-crops or pads the result back to the image's size)",
    "RadialDistortionPerturber": "its lens distortion is not an affine transform, and "
    "salsweep does not invert it",
}
# Classes whose output has another height and width, and how it is brought back.
RESIZED_BACK = "RandomCropPerturber"
CENTRED_BACK = "RandomScalePerturber"
SEED_PARAMS = ("seed", "rng")
RESERVED_KWARGS = ("seed", "rng", "is_static")
KIND = "nrtk"


def _require_nrtk() -> None:
    if importlib.util.find_spec("nrtk") is None:
        raise ValueError(
            f"perturbation kind {KIND!r} needs the optional package nrtk; "
            "install it with: pip install 'salsweep[nrtk]' (or pip install nrtk)"
        )


@cache
def resolve_class(class_path: str) -> type:
    """Import ``module.Class`` lazily; ValueError with the reason if that fails."""
    _require_nrtk()
    module_name, _, class_name = class_path.rpartition(".")
    if not module_name or not class_path.startswith("nrtk."):
        raise ValueError(
            f"{KIND}: class_path must be a dotted path inside nrtk (nrtk.<module>.<Class>), "
            f"got {class_path!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"{KIND}: cannot import module {module_name!r} for class_path {class_path!r} "
            f"({exc}); NRTK 1.x keeps the photometric perturbers in "
            "nrtk.impls.perturb_image.photometric.{blur,noise,enhance}"
        ) from None
    try:
        cls = getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"{KIND}: module {module_name!r} has no class {class_name!r}") from None
    except ImportError as exc:  # NRTK guards classes whose own extras are missing
        raise ValueError(f"{KIND}: {class_path!r} is not usable here: {exc}") from None
    from nrtk.interfaces import PerturbImage

    if not (isinstance(cls, type) and issubclass(cls, PerturbImage)):
        raise ValueError(f"{KIND}: {class_path!r} is not an NRTK PerturbImage class")
    return cls


def _constructor_params(cls: type) -> tuple[set[str], bool]:
    signature = inspect.signature(cls.__init__)
    names = {name for name in signature.parameters if name != "self"}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    return names, takes_any


def _call_params(cls: type) -> set[str]:
    """Keywords of the class's ``perturb`` call that a level may set."""
    signature = inspect.signature(cls.perturb)
    return {
        name
        for name, p in signature.parameters.items()
        if name not in ("self", "image", "boxes") and p.kind is p.KEYWORD_ONLY
    }


def _seed_param(cls: type) -> str | None:
    names, _ = _constructor_params(cls)
    return next((name for name in SEED_PARAMS if name in names), None)


def _level_value(level: float) -> int | float:
    value = float(level)
    return int(value) if value.is_integer() else value


@PERTURBATIONS.register(KIND)
class NrtkPerturbation(Perturbation):
    """Any NRTK PerturbImage class; see the module docstring for the params."""

    level_name: ClassVar[str] = "level"  # the real name is params["level_param"]
    identity_level: ClassVar[float | None] = None  # type: ignore[assignment]
    exact_identity: ClassVar[bool] = False  # not known for an arbitrary class
    # Conservative at class level (callers should pass an rng); instances know for sure.
    stochastic: ClassVar[bool] = True

    def __init__(self, level: float, **params: Any) -> None:
        super().__init__(level, **params)
        self.nrtk_class = resolve_class(params["class_path"])
        self.level_param: str = params["level_param"]
        self.kwargs: dict[str, Any] = dict(params.get("kwargs", {}))
        names, takes_any = _constructor_params(self.nrtk_class)
        # the level goes to perturb() where the constructor does not take it
        self.level_at_call = not takes_any and self.level_param not in names
        self.seed_param = _seed_param(self.nrtk_class)
        self.stochastic = self.seed_param is not None  # type: ignore[misc]
        self.identity_level = params.get("identity_level")  # type: ignore[misc]
        # Build one now, so a level the class rejects fails at validation, not mid-study.
        try:
            self._perturber = self._build(seed=0 if self.stochastic else None)
        except Exception as exc:  # NRTK raises ValueError/TypeError/...; report them alike
            raise ValueError(
                f"{KIND}: {params['class_path']}({self.level_param}={_level_value(level)!r}) "
                f"failed: {exc}"
            ) from exc

    @classmethod
    def check_level(cls, level: float) -> None:
        check_real(KIND, "level", level)

    @classmethod
    def check_params(cls, **params: Any) -> None:
        super().check_params(**params)  # the declared names and types (PARAMS)
        kwargs = params.get("kwargs", {})
        reserved = sorted(set(kwargs) & set(RESERVED_KWARGS))
        if reserved:
            raise ValueError(
                f"{KIND}: kwargs may not set {reserved}; the seed comes from the study's rng"
            )
        level_param = params["level_param"]
        if level_param in kwargs:
            raise ValueError(f"{KIND}: level_param {level_param!r} is also given in kwargs")
        nrtk_class = resolve_class(params["class_path"])
        names, takes_any = _constructor_params(nrtk_class)
        if not takes_any:
            given = set(kwargs)
            if level_param in names or level_param not in _call_params(nrtk_class):
                given.add(level_param)  # else the level goes to perturb()
            unknown = sorted(given - names)
            if unknown:
                allowed = ", ".join(sorted(names - set(RESERVED_KWARGS)))
                calls = ", ".join(sorted(_call_params(nrtk_class)))
                raise ValueError(
                    f"{KIND}: {params['class_path']} takes no argument(s) {unknown}; "
                    f"its arguments: {allowed}; its perturb() keywords: {calls or 'none'}"
                )

    @classmethod
    def unknown_frame_reason(cls, params: Mapping[str, Any]) -> str | None:
        class_name = str(params.get("class_path", "")).rpartition(".")[2]
        reason = UNKNOWN_FRAMES.get(class_name)
        return f"{class_name} moves pixels: {reason}" if reason else None

    @classmethod
    def identity_level_for(cls, params: Mapping[str, Any]) -> float | None:
        return params.get("identity_level")

    @classmethod
    def level_label_for(cls, params: Mapping[str, Any]) -> str:
        return params.get("level_label") or params["level_param"]

    def _annotated_float(self) -> bool:
        function = self.nrtk_class.perturb if self.level_at_call else self.nrtk_class.__init__
        parameter = inspect.signature(function).parameters.get(self.level_param)
        return parameter is not None and parameter.annotation in (float, "float")

    def _level_argument(self) -> Any:
        value = _level_value(self.level)
        if self._annotated_float():
            value = float(value)
        form = self.params.get("level_form")
        if form is None:
            return value
        return tuple(value if item == LEVEL else item for item in form)

    def _build(self, seed: int | None) -> Any:
        arguments = dict(self.kwargs)
        if not self.level_at_call:
            arguments[self.level_param] = self._level_argument()
        if self.seed_param is not None and seed is not None:
            arguments[self.seed_param] = seed
        return self.nrtk_class(**arguments)

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        perturber = self._perturber
        if self.stochastic:
            assert rng is not None
            # < 2**31 suits every seed consumer (numpy, random, torch).
            perturber = self._build(seed=int(rng.integers(0, 2**31 - 1)))
        call = {self.level_param: self._level_argument()} if self.level_at_call else {}
        result = perturber(image=image.copy(), **call)
        out = result[0] if isinstance(result, tuple) else result
        out = self._fit_back(np.asarray(out), image.shape)
        if out.shape != image.shape or out.dtype != np.uint8:
            raise ValueError(
                f"{KIND}: {self.params['class_path']} returned {out.shape} {out.dtype} for a "
                f"{image.shape} uint8 image; salsweep needs the same shape and uint8"
            )
        return out

    def _fit_back(self, out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Bring RandomCrop's and RandomScale's output back to the input's height and width."""
        class_name = self.nrtk_class.__name__
        if out.shape == shape or out.ndim != len(shape) or out.shape[2:] != shape[2:]:
            return out  # same size, or a shape the check in _perturb reports
        height, width = shape[:2]
        if class_name == RESIZED_BACK:
            return cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
        if class_name == CENTRED_BACK:
            return centre_fit(out, height, width)
        return out


def centre_fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop or zero-pad ``image`` to ``height`` x ``width`` (a zoom about the centre)."""
    out = np.zeros((height, width, *image.shape[2:]), dtype=image.dtype)
    rows, cols = min(height, image.shape[0]), min(width, image.shape[1])
    src_top, src_left = (image.shape[0] - rows) // 2, (image.shape[1] - cols) // 2
    dst_top, dst_left = (height - rows) // 2, (width - cols) // 2
    out[dst_top : dst_top + rows, dst_left : dst_left + cols] = image[
        src_top : src_top + rows, src_left : src_left + cols
    ]
    return out
