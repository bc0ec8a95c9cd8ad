"""Local stand-ins for the hub datasets and models of the seed studies (config/studies/).

Each stand-in has the same features as the hub original, so the seed config runs on it
unchanged apart from its ``stand_ins`` entry: the same column names and feature types
(``Image``, ``ClassLabel`` with the original's class names, in its order) and a model of
the same transformers class and processor type, with the same class names in ``id2label``.
Only the sizes are small: a few images, tiny widths and depths, small input sizes.
Weights are random (seeded): the studies test the pipeline, not the models' accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# HF cifar10: features img (Image), label (ClassLabel with these names, in this order).
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
# HF cm93/eurosat: features image (Image), label (ClassLabel), the EuroSAT folder names.
EUROSAT_CLASSES = [
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
]
# microsoft/resnet-50 has the 1000 ImageNet classes; s002/s004 match labels by index, so
# the stand-in's names only need to be unique.
IMAGENET_INDEX_NAMES = [str(i) for i in range(1000)]


def class_images(n: int, size: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [n, size, size, 3] with labels 0..n_classes-1 in turn: a noisy
    background with a bright bar whose angle and colour depend on the class, so that a
    model can tell the classes apart and a map has structure to find."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    labels = np.arange(n) % n_classes
    images = rng.integers(0, 70, size=(n, size, size, 3)).astype(np.uint8)
    for i, label in enumerate(labels):
        angle = np.pi * label / n_classes
        offset = rng.uniform(-size / 6, size / 6)
        bar = np.abs(np.cos(angle) * yy - np.sin(angle) * xx - offset) < max(1.0, size / 10)
        colour = np.array([180 + 7 * label, 250 - 15 * label, 120 + 12 * label]) % 256
        images[i][bar] = colour.astype(np.uint8)
    return images, labels


def write_image_parquet(
    path: Path,
    image_column: str,
    class_names: list[str],
    n: int,
    size: int,
    seed: int,
) -> Path:
    """A parquet file with ``datasets`` features {image_column: Image, label: ClassLabel}."""
    import datasets
    from PIL import Image

    images, labels = class_images(n, size, len(class_names), seed)
    features = datasets.Features(
        {image_column: datasets.Image(), "label": datasets.ClassLabel(names=class_names)}
    )
    table = datasets.Dataset.from_dict(
        {image_column: [Image.fromarray(im) for im in images], "label": labels.tolist()},
        features=features,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(str(path))
    return path


def build_cifar10(root: Path, n_test: int = 10, n_train: int = 60) -> dict[str, str]:
    """cifar10-like splits (32x32 ``img``, ``label``): {"train": path, "test": path}."""
    return {
        "train": str(
            write_image_parquet(root / "train.parquet", "img", CIFAR10_CLASSES, n_train, 32, 1)
        ),
        "test": str(
            write_image_parquet(root / "test.parquet", "img", CIFAR10_CLASSES, n_test, 32, 2)
        ),
    }


def build_eurosat(root: Path, n_test: int = 10) -> dict[str, str]:
    """cm93/eurosat-like test split (64x64 ``image``, ``label``, as EuroSAT's RGB tiles)."""
    path = write_image_parquet(root / "test.parquet", "image", EUROSAT_CLASSES, n_test, 64, 3)
    return {"test": str(path)}


def _labels(names: list[str]) -> dict:
    return {
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }


def save_vit(folder: Path, class_names: list[str] = CIFAR10_CLASSES, size: int = 32) -> Path:
    """ViTForImageClassification + ViTImageProcessor (mean/std 0.5 as the aaraki ViT's),
    at ``size`` px with 4 px patches instead of 224 px / 16 px."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=size,
        patch_size=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        **_labels(class_names),
    )
    ViTForImageClassification(config).eval().save_pretrained(folder)
    ViTImageProcessor(
        size={"height": size, "width": size}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(folder)
    return folder


def save_convnext(folder: Path, class_names: list[str] = EUROSAT_CLASSES, size: int = 32) -> Path:
    """ConvNextForImageClassification + ConvNextImageProcessor (shortest edge / crop_pct
    0.875 as convnext-tiny-224's, at ``size`` px), 2 stages of depth 1."""
    import torch
    from transformers import ConvNextConfig, ConvNextForImageClassification, ConvNextImageProcessor

    torch.manual_seed(0)
    config = ConvNextConfig(
        hidden_sizes=[8, 16],
        depths=[1, 1],
        num_stages=2,
        patch_size=4,
        image_size=size,
        **_labels(class_names),
    )
    ConvNextForImageClassification(config).eval().save_pretrained(folder)
    ConvNextImageProcessor(
        size={"shortest_edge": size},
        crop_pct=0.875,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    ).save_pretrained(folder)
    return folder


def save_resnet(
    folder: Path, class_names: list[str] = IMAGENET_INDEX_NAMES, size: int = 64
) -> Path:
    """ResNetForImageClassification (bottleneck blocks as ResNet-50's, 2 stages of depth 1,
    widths 16/32) + the processor type microsoft/resnet-50 ships (ConvNextImageProcessor,
    crop_pct 0.875, ImageNet mean/std) at ``size`` px instead of 224, so that the 224 px
    photos cost little per forward."""
    import torch
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    config = ResNetConfig(
        embedding_size=8,
        hidden_sizes=[16, 32],
        depths=[1, 1],
        layer_type="bottleneck",
        **_labels(class_names),
    )
    ResNetForImageClassification(config).eval().save_pretrained(folder)
    ConvNextImageProcessor(
        size={"shortest_edge": size},
        crop_pct=0.875,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    ).save_pretrained(folder)
    return folder


def build_all(root: Path) -> dict[str, object]:
    """Every stand-in under ``root``: dataset splits (dicts split -> parquet) and model
    folders (save_pretrained), keyed by what they stand in for."""
    root = Path(root)
    return {
        "cifar10": build_cifar10(root / "cifar10"),
        "eurosat": build_eurosat(root / "eurosat"),
        "vit": str(save_vit(root / "vit_cifar10")),
        "convnext": str(save_convnext(root / "convnext_eurosat")),
        "resnet": str(save_resnet(root / "resnet_imagenet")),
    }
