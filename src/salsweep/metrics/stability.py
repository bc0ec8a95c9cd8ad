"""Normalised stability of a map under the perturbation, after Agarwal et al. (2022),
"Rethinking stability for attribution-based explanations", as Quantus implements them
(``quantus/metrics/robustness/relative_input_stability.py``,
``relative_output_stability.py``, ``local_lipschitz_estimate.py`` and
``functions/similarity_func.py``).

Each compares the copy x' with the clean image x of the same image: e = the clean map
(the reference), e' = the copy's map, of the same method and target. Quantus draws 200
random x' per image and takes the max of the objective; here each perturbed copy is one
x', and the objective is scored per copy (the max over a sweep, if wanted, is a groupby
over metrics.parquet). Images are taken in [0, 1] (uint8 / 255), the input scale of the
changes table, not a model's own normalisation (ris depends on the input's scale and
offset). ||.|| is the L2 norm over all of an item's values (Quantus' nested norms over
[C, H, W] reduce to it). All lower is better (Quantus: ScoreDirection.LOWER).

- ``ris`` (RelativeInputStability, eps_min = 1e-6)::

      num = || (e - e') / (e + (e == 0) * eps_min) ||
      den = || (x - x') / (x + (x == 0) * eps_min) ||;  den += (den == 0) * eps_min
      ris = num / den

- ``ros`` (RelativeOutputStability): the same numerator over ``||h(x) - h(x')||`` (+eps_min
  where 0), h = the model output. Quantus uses logits by default and probabilities with
  ``softmax=True``; classify stores the softmax vectors (results/probs), so h is the
  probability vector: this is Quantus' ROS called with ``softmax=True``. (Log-probabilities
  would not give Quantus' logit value either: they differ from the logits by a per-image
  shift that changes with x.)

  For both, Quantus' default ``return_nan_when_prediction_changes=True``: NaN where the
  copy's predicted class (argmax of its softmax) differs from the clean image's.

- ``lipschitz`` (LocalLipschitzEstimate with its defaults: ``lipschitz_constant`` with
  Euclidean numerator and denominator, ``normalise=True`` by ``normalise_by_max``, no NaN
  on a changed prediction)::

      lipschitz = || e/max|e| - e'/max|e'| || / (|| x - x' || + 1e-10)

  (an all-zero map is left as it is, as ``normalise_by_max`` does; Quantus normalises a
  whole batch by its max, here each map alone, i.e. Quantus with one image per call).

Geometric sweeps (rotation, translation, scale): the copy's map and the copy x' are first
warped back into the clean image's frame (salsweep.frames), and every norm above runs over
the valid pixels only (``MetricContext.valid``; for images, all channels of those pixels).
``ros``' denominator (the softmax change) is unaffected.

No other NaN: e == 0 and x == 0 are floored by eps_min as in Quantus, which makes those
pixels weigh 1e6 times more - a property of the definition, documented in the README.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS, MapMetric
from salsweep.metrics.drift import valid_columns
from salsweep.metrics.params import as_float_maps, resolve_metric
from salsweep.params import Plugin

PARAMS = {
    "ris": Plugin(
        "Relative input stability (Agarwal et al. 2022, Quantus): relative map change over "
        "relative input change vs the clean image; NaN where the prediction changed."
    ),
    "ros": Plugin(
        "Relative output stability (Agarwal et al. 2022, Quantus with softmax=True): relative "
        "map change over the L2 change of the softmax vector; NaN where the prediction changed."
    ),
    "lipschitz": Plugin(
        "One-sample local Lipschitz estimate (Quantus LocalLipschitzEstimate): L2 distance of "
        "the max-abs normalised maps over the L2 distance of the images in [0, 1]."
    ),
}

EPS_MIN = 1e-6  # Quantus' eps_min of RIS and ROS
LIPSCHITZ_EPS = 1e-10  # Quantus' lipschitz_constant


def _norms(flat: np.ndarray) -> np.ndarray:
    return np.linalg.norm(flat, axis=1)


def relative_change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """|| (old - new) / (old + (old == 0) * eps_min) || per row of [N, P] arrays."""
    return _norms((old - new) / (old + (old == 0) * EPS_MIN))


def unit_images(images: np.ndarray, n: int) -> np.ndarray:
    """[N, H*W*C] float64 images in [0, 1] from [N, H, W, C] values in 0..255."""
    return np.asarray(images, dtype=np.float64).reshape(n, -1) / 255.0


def changed_prediction(probs: np.ndarray, clean_probs: np.ndarray) -> np.ndarray:
    """Bool [N]: the copy's argmax class differs from the clean image's (Quantus' test)."""
    return np.argmax(probs, axis=1) != np.argmax(clean_probs, axis=1)


def max_normalised(flat: np.ndarray) -> np.ndarray:
    """Each row divided by its max |value|; an all-zero row unchanged (normalise_by_max)."""
    peak = np.abs(flat).max(axis=1, keepdims=True)
    return flat / np.where(peak > 0, peak, 1.0)


class _StabilityBase(MapMetric):
    higher_is_better: ClassVar[bool] = False

    def __init__(self, **params) -> None:
        super().__init__(**resolve_metric(self.name, params))

    def _pair(self, maps, reference, context) -> tuple[np.ndarray, np.ndarray]:
        """(e', e) as [N, P] float64 over the valid pixels: the copy's maps and the clean maps."""
        n = maps.shape[0]
        copy = as_float_maps(maps, "maps", self.name).reshape(n, -1)
        clean = as_float_maps(reference, "reference", self.name).reshape(n, -1)
        return valid_columns(copy, context), valid_columns(clean, context)

    @staticmethod
    def _images(context) -> tuple[np.ndarray, np.ndarray]:
        """(x', x) as [N, P*C] in [0, 1] over the valid pixels."""
        n = context.images.shape[0]
        x_copy = valid_columns(unit_images(context.images, n), context)
        return x_copy, valid_columns(unit_images(context.clean_images, n), context)


@METRICS.register("ris")
class RelativeInputStability(_StabilityBase):
    """Relative map change over relative input change; NaN where the prediction changed."""

    requires: ClassVar[tuple[str, ...]] = ("reference", "images", "probs")

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        e_copy, e_clean = self._pair(maps, reference, context)
        x_copy, x_clean = self._images(context)
        den = relative_change(x_copy, x_clean)
        den = den + (den == 0) * EPS_MIN
        out = relative_change(e_copy, e_clean) / den
        out[changed_prediction(context.probs, context.clean_probs)] = np.nan
        return out


@METRICS.register("ros")
class RelativeOutputStability(_StabilityBase):
    """Relative map change over the softmax change; NaN where the prediction changed."""

    requires: ClassVar[tuple[str, ...]] = ("reference", "probs")

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        e_copy, e_clean = self._pair(maps, reference, context)
        probs = np.asarray(context.probs, dtype=np.float64)
        clean_probs = np.asarray(context.clean_probs, dtype=np.float64)
        den = _norms(clean_probs - probs)
        den = den + (den == 0) * EPS_MIN
        out = relative_change(e_copy, e_clean) / den
        out[changed_prediction(probs, clean_probs)] = np.nan
        return out


@METRICS.register("lipschitz")
class LocalLipschitz(_StabilityBase):
    """||e/max|e| - e'/max|e'||| / (||x - x'|| + 1e-10), images in [0, 1]."""

    requires: ClassVar[tuple[str, ...]] = ("reference", "images")

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        e_copy, e_clean = self._pair(maps, reference, context)
        num = _norms(max_normalised(e_clean) - max_normalised(e_copy))
        x_copy, x_clean = self._images(context)
        return num / (_norms(x_clean - x_copy) + LIPSCHITZ_EPS)
