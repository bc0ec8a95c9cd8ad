"""Deletion (RISE, Petsiuk et al. 2018): how fast the class probability falls as the most
salient pixels are deleted first.

Starting from the image, step by step the highest-ranked pixels (see ``_curves``) are
replaced by ``fill`` until none of the image is left; the score is the area under the
probability of the target class over the deleted fraction, in [0, 1]. A map that finds
the evidence makes the probability drop early: lower is better.

``fill``: RISE deletes to zeros of the *normalised* tensor (the dataset's mean colour);
the classifiers here take raw 0..255 pixels, so the default 0 deletes to black, and
``"mean"`` (the image's own mean colour) or any [r, g, b] can be chosen instead.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.faithfulness._curves import causal_curves, trapezoid_auc
from salsweep.faithfulness.base import MODEL_METRICS, ModelMetric
from salsweep.faithfulness.params import STEPS
from salsweep.params import AnyOf, Colour, Number, OneOf, Param, Plugin

PARAMS = {
    "deletion_auc": Plugin(
        "Deletion AUC (RISE): area under the target probability as the most salient pixels "
        "are deleted first; lower is better. Costs steps + 1 forwards per map.",
        {
            "steps": STEPS,
            "fill": Param(
                0,
                "The colour deleted pixels take - a grey level 0..255 (0 = black), a colour "
                "[r, g, b] or mean (the image's mean colour).",
                AnyOf(
                    Number(0, 255),
                    Colour(),
                    OneOf("mean"),
                    phrase="a number in 0..255, [r, g, b] with each in 0..255, or 'mean'",
                ),
            ),
        },
    )
}


def fill_colours(images: np.ndarray, fill) -> np.ndarray:
    """float32 [N, 1, 1, 3]: the colour deleted pixels take in each image."""
    n = len(images)
    if isinstance(fill, str) and fill == "mean":
        colour = images.astype(np.float64).mean(axis=(1, 2))
    else:
        colour = np.broadcast_to(np.asarray(fill, dtype=np.float64), (n, 3))
    return colour.astype(np.float32).reshape(n, 1, 1, 3)


@MODEL_METRICS.register("deletion_auc")
class DeletionAUC(ModelMetric):
    higher_is_better: ClassVar[bool] = False

    def curves(self, classifier, images, maps, targets, batch_size):
        """x [K] and the probabilities [N, K] of the deletion curve."""
        return causal_curves(
            classifier,
            images.astype(np.float32),
            fill_colours(images, self.params["fill"]),
            maps,
            targets,
            self.params["steps"],
            batch_size,
        )

    def _score(self, classifier, images, maps, targets, batch_size) -> np.ndarray:
        x, probs = self.curves(classifier, images, maps, targets, batch_size)
        return trapezoid_auc(x, probs)
