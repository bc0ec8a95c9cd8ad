"""Insertion (RISE, Petsiuk et al. 2018): how fast the class probability rises as the most
salient pixels are put back first into a blurred copy of the image.

Starting from the blurred image, step by step the highest-ranked pixels (see ``_curves``)
take their original values until the whole image is back; the score is the area under
the probability of the target class over the inserted fraction, in [0, 1]. A map that
finds the evidence makes the probability rise early: higher is better.

The blur is RISE's: the kernel is ``gkern(blur_klen, blur_sigma)`` of RISE's
``evaluation.py`` (a unit impulse in a klen x klen square smoothed by
``scipy.ndimage.gaussian_filter`` with that sigma; it sums to 1), applied to each channel.
RISE zero-pads a mean-normalised tensor, i.e. pads with the mean colour; on raw pixels
zero padding would darken the border, so the border is reflected here instead.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import ndimage

from salsweep.faithfulness._curves import causal_curves, trapezoid_auc
from salsweep.faithfulness.base import MODEL_METRICS, ModelMetric
from salsweep.faithfulness.params import STEPS
from salsweep.params import Integer, Number, Param, Plugin

PARAMS = {
    "insertion_auc": Plugin(
        "Insertion AUC (RISE): area under the target probability as the most salient pixels "
        "are put back first into a blurred copy; higher is better. Costs steps + 1 forwards "
        "per map.",
        {
            "steps": STEPS,
            "blur_klen": Param(
                11, "Side of RISE's Gaussian kernel gkern(klen, sigma).", Integer(1, odd=True)
            ),
            "blur_sigma": Param(5, "Sigma of that kernel.", Number(0, low_open=True)),
        },
    )
}


def gkern(klen: int, sigma: float) -> np.ndarray:
    """RISE's blur kernel [klen, klen] (float64, sums to 1)."""
    impulse = np.zeros((klen, klen))
    impulse[klen // 2, klen // 2] = 1.0
    return ndimage.gaussian_filter(impulse, sigma)


def blur_images(images: np.ndarray, klen: int, sigma: float) -> np.ndarray:
    """float32 [N, H, W, 3]: each channel of each image correlated with ``gkern``."""
    kernel = gkern(klen, sigma)[None, :, :, None]
    return ndimage.correlate(images.astype(np.float32), kernel.astype(np.float32), mode="reflect")


@MODEL_METRICS.register("insertion_auc")
class InsertionAUC(ModelMetric):
    higher_is_better: ClassVar[bool] = True

    def curves(self, classifier, images, maps, targets, batch_size):
        """x [K] and the probabilities [N, K] of the insertion curve."""
        blurred = blur_images(images, self.params["blur_klen"], float(self.params["blur_sigma"]))
        return causal_curves(
            classifier,
            blurred,
            images.astype(np.float32),
            maps,
            targets,
            self.params["steps"],
            batch_size,
        )

    def _score(self, classifier, images, maps, targets, batch_size) -> np.ndarray:
        x, probs = self.curves(classifier, images, maps, targets, batch_size)
        return trapezoid_auc(x, probs)
