"""The dataset-source interface: each source materialises one split as an image table.

``load`` returns a :class:`DatasetSplit`: a DataFrame with the columns of
``salsweep.io.IMAGE_COLUMNS`` (``image_id`` str, ``image`` PNG bytes of HxWx3 uint8,
``label`` int, ``mask`` PNG bytes of an HxW uint8 0/255 mask or None), optionally
``source`` (the file an image came from, "" when unknown), plus class names. ``rejects``
has ``image_id``, ``reason`` and optionally ``source``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from salsweep.registry import Registry

REJECT_COLUMNS = ["image_id", "reason", "source"]


@dataclass
class DatasetSplit:
    table: pd.DataFrame
    class_names: list[str]
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({c: [] for c in REJECT_COLUMNS}).astype(str)
    )


class DatasetSource(ABC):
    name: ClassVar[str]

    def __init__(self, **params: Any) -> None:
        self.params = params

    @abstractmethod
    def load(self, split: str, seed: int) -> DatasetSplit:
        """Load ``split`` ("eval" for the evaluated images, "train" for model training)."""


DATASETS: Registry[DatasetSource] = Registry("dataset source")
