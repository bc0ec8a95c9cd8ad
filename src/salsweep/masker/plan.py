"""Which images train the masking model of ``realtime_mask``; torch-free (the DAG uses it).

The masker is trained on the dataset's train split when it has one, so that the evaluated
images stay unseen; a dataset without one (``bundled_photos``, or an ``hf`` dataset whose
local files hold only the eval split) trains it on its eval images instead, which the maps
then explain in-sample. The parameter ``train_split`` of ``realtime_mask`` overrides the
choice: "auto" (the rule above), "train" or "eval".

"auto" decides from the config alone, without opening the data:

- ``sklearn_digits``: "train" (the images not held out for evaluation);
- ``bundled_photos``: "eval" (evaluation-only photos);
- ``hf``: "eval" when it has no train split (``train_split: null``, implied by
  ``split: train``), or ``data_files`` is a mapping without the ``train_split`` key, or a
  plain path / list (one split), or ``path`` is a single data file, or a saved folder
  whose ``dataset_dict.json`` does not list the train split (or which holds one unsplit
  Dataset); "train" otherwise (a hub id or builder, which is assumed to have the split: set
  ``train_split: eval`` where it has not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SPLIT_CHOICES = ("auto", "train", "eval")
# Suffixes that datasets reads with a packaged builder as one split (see datasets.hf).
_SINGLE_FILE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".arrow", ".txt")


def _hf_has_train_split(spec: Mapping[str, Any]) -> bool:
    from salsweep.datasets.hf import train_split_of

    train_split = train_split_of(spec)
    if train_split is None:  # train_split: null, or split: train
        return False
    files = spec.get("data_files")
    if isinstance(files, Mapping):
        return train_split in files
    if files is not None:
        return False
    path = Path(str(spec.get("path", "")))
    if path.is_file() or path.suffix.lower() in _SINGLE_FILE_SUFFIXES:
        return False
    if path.is_dir():
        index = path / "dataset_dict.json"
        if index.is_file():
            return train_split in json.loads(index.read_text()).get("splits", [])
        if (path / "dataset_info.json").is_file():  # one unsplit saved Dataset
            return False
    return True


def training_split(dataset_config: Mapping[str, Any], choice: str = "auto") -> str:
    """The split ("train" or "eval") of this dataset (its config entry) that trains the masker."""
    if choice not in SPLIT_CHOICES:
        raise ValueError(
            f"realtime_mask parameter 'train_split' must be one of {list(SPLIT_CHOICES)}, "
            f"got {choice!r}"
        )
    source = dataset_config.get("source")
    if choice == "eval":
        return "eval"
    if source == "bundled_photos":
        if choice == "train":
            raise ValueError(
                "realtime_mask parameter 'train_split' is 'train' but bundled_photos has no "
                "train split; use 'auto' or 'eval'"
            )
        return "eval"
    if choice == "train" or source == "sklearn_digits":
        return "train"
    if source == "hf":
        return "train" if _hf_has_train_split(dataset_config) else "eval"
    return "eval"
