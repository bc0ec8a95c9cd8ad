"""scikit-learn's handwritten digits: 1797 real 8x8 scans, gray values 0..16, ten classes.

A stratified held-out part (``test_fraction`` of every class, drawn with the seed) is the
"eval" split and the rest is "train", so the two never overlap. Gray values become
``round(v * 255 / 16)`` replicated to RGB. The mask is the ink: pixels with
``v >= ink_threshold`` (default 1, i.e. every nonzero pixel).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salsweep.datasets.base import DATASETS, DatasetSplit
from salsweep.datasets.prepare import ParamSource, subset_indices
from salsweep.io import IMAGE_COLUMNS, encode_png

N_DIGITS = 1797
MAX_VALUE = 16


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
    defaults = {"test_fraction": 0.25, "ink_threshold": 1}

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        fraction = params["test_fraction"]
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, numbers.Real)
            or not 0.0 < float(fraction) < 1.0
        ):
            raise ValueError(
                f"sklearn_digits parameter 'test_fraction' must be in (0, 1), got {fraction!r}"
            )
        threshold = params["ink_threshold"]
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Integral)
            or not 1 <= threshold <= MAX_VALUE
        ):
            raise ValueError(
                f"sklearn_digits parameter 'ink_threshold' must be an int in 1..{MAX_VALUE}, "
                f"got {threshold!r}"
            )

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
