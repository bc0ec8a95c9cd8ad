"""Dataset sources: each registers under its config name in ``DATASETS``; every module of
this package that declares ``PARAMS`` is a source.

The pipeline calls :func:`prepare_split`; config validation calls
:func:`check_source_params`. Importing this package loads neither torch nor ``datasets``.
"""

from salsweep.datasets.base import DATASETS, DatasetSource, DatasetSplit
from salsweep.datasets.prepare import check_source_params, local_inputs, prepare_split
from salsweep.registry import import_plugins

import_plugins(__name__, DATASETS)

__all__ = [
    "DATASETS",
    "DatasetSource",
    "DatasetSplit",
    "check_source_params",
    "local_inputs",
    "prepare_split",
]
