"""Dataset sources: each registers under its config name in ``DATASETS``.

The pipeline calls :func:`prepare_split`; config validation calls
:func:`check_source_params`. Importing this package loads neither torch nor ``datasets``.
"""

from salsweep.datasets import bundled_photos, hf, sklearn_digits  # noqa: F401  (registers)
from salsweep.datasets.base import DATASETS, DatasetSource, DatasetSplit
from salsweep.datasets.prepare import check_source_params, local_inputs, prepare_split

__all__ = [
    "DATASETS",
    "DatasetSource",
    "DatasetSplit",
    "check_source_params",
    "local_inputs",
    "prepare_split",
]
