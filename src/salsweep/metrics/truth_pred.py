"""Truth-class map versus predicted-class map of the same image and condition (the table of
the NRTK + XAITK EuroSAT notebook, seed 001).

Scored on the ``truth`` target's row only (the study must map both ``truth`` and ``pred``;
elsewhere the metrics are absent), for the clean image and every copy. The formulas are
``ssd``'s and ``xcorr``'s (salsweep.metrics.drift, xaitk-saliency), with the pred-class map
in the place of the clean map:

- ``truth_pred_ssd`` = ssd(truth map, pred map); 0 where the two maps are equal (e.g. a
  correct prediction with a deterministic method), NaN where either map is all zeros.
- ``truth_pred_xcorr`` = xcorr(truth map, pred map); 0.0 for a constant truth map, NaN for
  a constant pred map.

A reading of how far the explanation of the true class departs from that of the decision;
``higher_is_better`` is that of ssd (no) and xcorr (yes): the two maps agree.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from salsweep.metrics.base import METRICS
from salsweep.metrics.drift import SSD, XCorr
from salsweep.params import Plugin

PARAMS = {
    "truth_pred_ssd": Plugin(
        "ssd between the truth-class and the predicted-class map of the same image (on the "
        "truth row); NaN where either map is all zeros."
    ),
    "truth_pred_xcorr": Plugin(
        "xcorr between the truth-class and the predicted-class map of the same image (on the "
        "truth row); NaN for a constant pred map."
    ),
}


@METRICS.register("truth_pred_ssd")
class TruthPredSSD(SSD):
    requires: ClassVar[tuple[str, ...]] = ("pred_map",)

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        return super()._score(maps, context.pred_maps, masks, context)


@METRICS.register("truth_pred_xcorr")
class TruthPredXCorr(XCorr):
    requires: ClassVar[tuple[str, ...]] = ("pred_map",)

    def _score(self, maps, reference, masks, context) -> np.ndarray:
        return super()._score(maps, context.pred_maps, masks, context)
