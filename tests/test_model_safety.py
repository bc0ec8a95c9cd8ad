"""hf models load safetensors only unless the config opts in to pickle, and a class-count
mismatch names the dataset and model of the config (issue 11, defects 9 and 10)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CLASSES, save_tiny_vit, tiny_images

from salsweep.config import ConfigError, Study
from salsweep.io import encode_png, write_json, write_table

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def pickle_only_vit(tmp_path_factory):
    """The tiny ViT with its weights as pytorch_model.bin (a pickle) and no safetensors."""
    import torch
    from safetensors.torch import load_file

    folder = save_tiny_vit(tmp_path_factory.mktemp("pickle_vit"))
    weights = folder / "model.safetensors"
    torch.save(load_file(weights), folder / "pytorch_model.bin")
    weights.unlink()
    return folder


def test_pickle_weights_are_refused_by_default(pickle_only_vit):
    from salsweep.models import load_classifier

    spec = {"source": "hf", "path": str(pickle_only_vit)}
    with pytest.raises(ValueError) as error:
        load_classifier(spec, TINY_CLASSES, "cpu", dataset_name="tiny", model_name="local_vit")
    text = str(error.value)
    assert "model 'local_vit'" in text and str(pickle_only_vit) in text
    assert "pytorch_model.bin" in text and "allow_pickle: true" in text


def test_pickle_weights_load_when_the_config_allows_them(pickle_only_vit, tmp_path):
    from salsweep.models import load_classifier

    safe = load_classifier(
        {"source": "hf", "path": str(save_tiny_vit(tmp_path / "safe"))}, TINY_CLASSES, "cpu"
    )
    spec = {"source": "hf", "path": str(pickle_only_vit), "allow_pickle": True}
    clf = load_classifier(spec, TINY_CLASSES, "cpu")
    assert clf.class_names == TINY_CLASSES
    # the same weights (save_tiny_vit seeds torch) came through the pickle
    for (name, a), (_, b) in zip(
        safe.model.state_dict().items(), clf.model.state_dict().items(), strict=True
    ):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_allow_pickle_is_a_checked_model_key():
    config = {
        "study": {"seed": 0, "shards": 1, "device": "cpu"},
        "datasets": {"digits": {"source": "sklearn_digits"}},
        "models": {
            "hub": {"source": "hf", "path": "org/m", "datasets": ["digits"], "allow_pickle": 1}
        },
        "perturbations": {"gaussian_blur": {"levels": [3]}},
        "saliency": {"methods": {"sliding_window": {}}},
    }
    with pytest.raises(ConfigError, match="allow_pickle"):
        Study(config)
    config["models"]["hub"]["allow_pickle"] = True
    Study(config)
    config["models"]["cnn"] = {"source": "train", "datasets": ["digits"], "allow_pickle": True}
    with pytest.raises(ConfigError, match="models.cnn"):
        Study(config)


def test_a_class_count_mismatch_names_the_config_names_in_the_classify_job(tmp_path, standins):
    from salsweep.condition import CLEAN, CLEAN_LEVEL, Condition
    from salsweep.stages.classify import classify_sweep

    images, labels = tiny_images(2, size=16)
    write_table(
        pd.DataFrame(
            {
                "image_id": ["a", "b"],
                "image": [encode_png(image) for image in images],
                "label": labels,
                "mask": pd.Series([None, None], dtype=object),
            }
        ),
        tmp_path / "images.parquet",
    )
    write_json(["cat", "dog"], tmp_path / "classes.json")  # the tiny ViT predicts 3 classes
    with pytest.raises(ValueError) as error:
        classify_sweep(
            [str(tmp_path / "images.parquet")],
            str(tmp_path / "classes.json"),
            [str(tmp_path / "out.parquet")],
            conditions=[Condition("pets", CLEAN, CLEAN_LEVEL)],
            model="tiny_vit",
            spec={"source": "hf", "path": str(standins["vit"])},
            device="cpu",
            weights_path=None,
            batch_size=2,
            deterministic=True,
        )
    assert "dataset 'pets' has 2 classes but model 'tiny_vit' predicts 3" in str(error.value)
    assert not (tmp_path / "out.parquet").exists()
