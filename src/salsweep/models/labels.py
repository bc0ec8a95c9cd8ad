"""Map a dataset's label indices onto a model's class indices (numpy only)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

LABEL_MATCHES = ("name", "index")


def fold_name(name: object) -> str:
    """Class names compare case-blind with runs of whitespace collapsed."""
    return " ".join(str(name).split()).casefold()


def align_labels(
    dataset_class_names: list[str],
    model_class_names: list[str],
    *,
    by: str = "name",
    model: str = "model",
    dataset: str = "dataset",
) -> np.ndarray:
    """``mapping[dataset_label] = model_class_index`` (int64, a permutation).

    ``by="name"`` matches folded names; a name listed twice (ImageNet has two "crane"s)
    maps its k-th dataset occurrence to its k-th model occurrence. ``by="index"`` trusts
    that both lists are in the same order and only checks the counts.
    """
    if by not in LABEL_MATCHES:
        raise ValueError(f"label_match must be one of {LABEL_MATCHES}, got {by!r}")
    n_data, n_model = len(dataset_class_names), len(model_class_names)
    if n_data != n_model:
        raise ValueError(
            f"dataset {dataset!r} has {n_data} classes but model {model!r} predicts {n_model}; "
            "a model can only be evaluated on a dataset with the same classes"
        )
    identity = np.arange(n_data, dtype=np.int64)
    if by == "index":
        return identity
    data_folded = [fold_name(n) for n in dataset_class_names]
    model_folded = [fold_name(n) for n in model_class_names]
    if data_folded == model_folded:
        return identity
    positions: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(model_folded):
        positions[name].append(index)
    seen: dict[str, int] = defaultdict(int)
    mapping, missing = [], []
    for raw, name in zip(dataset_class_names, data_folded, strict=True):
        k = seen[name]
        seen[name] += 1
        if k < len(positions.get(name, ())):
            mapping.append(positions[name][k])
        else:
            missing.append(raw)
    if missing:
        shown = ", ".join(repr(n) for n in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ValueError(
            f"{len(missing)} class name(s) of dataset {dataset!r} are not classes of model "
            f"{model!r}: {shown}{more} (model classes start {list(model_class_names[:5])}); "
            "set the model's label_match to 'index' if the dataset lists the model's classes "
            "in the model's order"
        )
    return np.asarray(mapping, dtype=np.int64)
