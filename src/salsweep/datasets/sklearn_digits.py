"""scikit-learn's handwritten digits: 1797 real 8x8 scans, gray values 0..16, ten classes.

A stratified held-out part (``test_fraction`` of every class, drawn with the seed) is the
"eval" split and the rest is "train", so the two never overlap. Gray values become
``round(v * 255 / 16)`` replicated to RGB. The mask is the ink: pixels with
``v >= ink_threshold`` (default 1, i.e. every nonzero pixel).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salsweep.datasets.base import DATASETS, DatasetSplit
from salsweep.datasets.prepare import ParamSource, subset_indices
from salsweep.io import IMAGE_COLUMNS, encode_png
from salsweep.params import Integer, Number, Param, Plugin

MAX_VALUE = 16

PARAMS = {
    "sklearn_digits": Plugin(
        "The 1797 real 8x8 digits shipped with scikit-learn.",
        {
            "test_fraction": Param(
                0.25,
                "The stratified held-out fraction that is evaluated.",
                Number(0, 1, low_open=True, high_open=True),
            ),
            "ink_threshold": Param(
                1,
                "A pixel (0..16) at or above this is ink in the ground-truth mask.",
                Integer(1, MAX_VALUE),
            ),
        },
    )
}

N_DIGITS = 1797


def stratified_eval_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the held-out part: ``round(fraction * n_c)`` of each class c."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        k = int(round(fraction * len(members)))
        held.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(held))


@DATASETS.register("sklearn_digits")
class SklearnDigits(ParamSource):
    def load(self, split: str, seed: int) -> DatasetSplit:
        from sklearn.datasets import load_digits

        self.check_split(split)
        digits = load_digits()
        values = np.asarray(digits.images)  # [1797, 8, 8] float, 0..16
        labels = np.asarray(digits.target, dtype=np.int64)
        held = stratified_eval_indices(labels, float(self.params["test_fraction"]), seed)
        if split == "eval":
            chosen = held
        else:
            chosen = np.setdiff1d(np.arange(len(labels)), held)
        chosen = chosen[subset_indices(len(chosen), self.params["subset"], seed)]

        gray = np.rint(values * (255.0 / MAX_VALUE)).clip(0, 255).astype(np.uint8)
        ink = values >= self.params["ink_threshold"]
        rows = [
            {
                "image_id": f"digit-{index:04d}",
                "image": encode_png(np.repeat(gray[index][..., None], 3, axis=2)),
                "label": int(labels[index]),
                "mask": encode_png(np.where(ink[index], 255, 0).astype(np.uint8)),
            }
            for index in chosen
        ]
        table = pd.DataFrame(rows, columns=IMAGE_COLUMNS)
        return DatasetSplit(table=table, class_names=[str(d) for d in range(10)])
