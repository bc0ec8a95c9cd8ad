"""Shared fixtures: local stand-ins for the hub (a tiny ViT saved with save_pretrained, a
tiny image dataset written to parquet) and helpers to run snakemake on a tiny study."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

TINY_CLASSES = ["circle", "square", "stripes"]


def tiny_images(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic but learnable images: a bright disc, a bright square or stripes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n) % len(TINY_CLASSES)
    for i, label in enumerate(labels):
        base = rng.integers(0, 60, size=(size, size, 3))
        cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
        if label == 0:
            shape = (yy - cy) ** 2 + (xx - cx) ** 2 < (size // 4) ** 2
        elif label == 1:
            shape = (abs(yy - cy) < size // 5) & (abs(xx - cx) < size // 5)
        else:
            shape = (xx // 2) % 2 == 0
        base[shape] = 200 + rng.integers(0, 55, size=3)
        images[i] = base
    return images, labels


def write_tiny_parquet(path: Path, n: int = 12, size: int = 16) -> Path:
    import datasets

    images, labels = tiny_images(n, size)
    features = datasets.Features(
        {"img": datasets.Image(), "label": datasets.ClassLabel(names=TINY_CLASSES)}
    )
    from PIL import Image

    table = datasets.Dataset.from_dict(
        {"img": [Image.fromarray(im) for im in images], "label": labels.tolist()},
        features=features,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(str(path))
    return path


def save_tiny_vit(folder: Path, image_size: int = 16) -> Path:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=image_size,
        patch_size=4,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(TINY_CLASSES)),
        label2id={name: i for i, name in enumerate(TINY_CLASSES)},
    )
    model = ViTForImageClassification(config).eval()
    processor = ViTImageProcessor(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("standins")
    return {
        "parquet": write_tiny_parquet(root / "tiny" / "test.parquet"),
        "vit": save_tiny_vit(root / "tiny_vit"),
    }


def tiny_study(standins: dict[str, Path], **overrides) -> dict:
    """A study that touches every stage and source kind in well under a minute."""
    config = {
        "study": {"name": "tiny", "seed": 7, "device": "cpu"},
        "datasets": {
            "tiny": {
                "source": "hf",
                "path": "parquet",
                "data_files": {"test": str(standins["parquet"])},
                "split": "test",
            },
            "digits": {"source": "sklearn_digits", "subset": 12},
        },
        "models": {
            "vit": {"source": "hf", "path": str(standins["vit"]), "datasets": ["tiny"]},
            "cnn": {
                "source": "train",
                "datasets": ["digits"],
                "train": {"epochs": 2, "width": 8},
            },
        },
        "perturbations": {
            "gaussian_blur": {"levels": [3, 5]},
            "salt": {"levels": [0.05, 0.2]},
        },
        "saliency": {
            "targets": ["truth", "pred"],
            "batch_size": 16,
            "methods": {
                "sliding_window": {"window": 4, "stride": 4, "fill": [128, 128, 128]},
                "vanilla_gradient": {},
            },
        },
        "metrics": ["entropy", "entropy_pos", "entropy_neg", "ssd", "xcorr"],
        "figures": {"examples": 1, "dpi": 60},
    }
    for key, value in overrides.items():
        config[key] = value
    return config


def write_config(folder: Path, config: dict, name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path, configfile: Path | None, *args: str, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    if configfile is not None:
        command += ["--configfile", str(configfile)]
    command += list(args)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, cwd=workdir
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result
