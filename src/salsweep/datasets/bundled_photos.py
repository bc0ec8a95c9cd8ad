"""Real photographs that ship inside installed packages, labelled with ImageNet classes.

``data/bundled_photos.csv`` lists each photo: the package that ships it, the file inside
that package's folder, its ImageNet-1k class index and name, an optional object box in the
photo's own pixel coordinates (x1, y1 exclusive) and a note on the label choice with the
top-1 of EfficientNet-Lite0 on the prepared 224x224 image, scaled ``(x - 127) / 128``
(tests/test_datasets.py checks that its top-5 holds every recorded label). The files are
read from the installed package folder, never downloaded. Class names are the 1000
ImageNet classes in ``data/imagenet_classes.json`` (torchvision's list, indices 0..999).

``load`` returns the photos at their original size (RGB) with the box as a 0/255 mask;
``prepare_split`` resizes and crops image and mask together, to 224x224 unless the config
sets ``image_size``. The photos are evaluation images only: there is no "train" split.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from salsweep.datasets.base import DATASETS, DatasetSplit
from salsweep.datasets.prepare import ParamSource, box_mask, subset_indices
from salsweep.io import IMAGE_COLUMNS, encode_png
from salsweep.params import AnyOf, OneOf, Param, Plugin, Strings

PARAMS = {
    "bundled_photos": Plugin(
        "Real photos shipped with scikit-image, scikit-learn and matplotlib, with checked "
        "ImageNet labels and object boxes.",
        {
            "photos": Param(
                None,
                "Ids of the photos to use (default: all, see "
                "src/salsweep/data/bundled_photos.csv).",
                AnyOf(OneOf(None), Strings(), phrase="null or a list of image ids"),
            )
        },
    )
}

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CATALOGUE = DATA_DIR / "bundled_photos.csv"
IMAGENET_CLASSES = DATA_DIR / "imagenet_classes.json"
BOX_COLUMNS = ("box_x0", "box_y0", "box_x1", "box_y1")


@cache
def imagenet_classes() -> list[str]:
    names = json.loads(IMAGENET_CLASSES.read_text())
    if len(names) != 1000:
        raise ValueError(f"{IMAGENET_CLASSES} has {len(names)} names, expected 1000")
    return names


def catalogue() -> list[dict[str, str]]:
    with CATALOGUE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def photo_path(package: str, resource: str) -> Path:
    """The file ``resource`` inside the installed ``package`` folder (no import needed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / resource
    if not path.is_file():
        raise FileNotFoundError(f"{resource} is not in the installed {package} ({path})")
    return path


def photo_box(row: Mapping[str, str]) -> list[float] | None:
    values = [row.get(key, "").strip() for key in BOX_COLUMNS]
    if not any(values):
        return None
    return [float(v) for v in values]


@DATASETS.register("bundled_photos")
class BundledPhotos(ParamSource):
    """The photos of ``bundled_photos.csv``; ``photos`` picks some by image_id."""

    default_image_size = 224

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        photos = params["photos"]
        if photos is None:
            return
        known = [row["image_id"] for row in catalogue()]
        unknown = [p for p in photos if p not in known]
        if unknown:
            raise ValueError(
                f"bundled_photos parameter 'photos': unknown ids {unknown}; allowed: {known}"
            )

    def load(self, split: str, seed: int) -> DatasetSplit:
        self.check_split(split)
        if split != "eval":
            raise ValueError("bundled_photos is evaluation-only: it has no 'train' split")
        rows = catalogue()
        if self.params["photos"] is not None:
            wanted = set(self.params["photos"])
            rows = [row for row in rows if row["image_id"] in wanted]
        rows = [rows[i] for i in subset_indices(len(rows), self.params["subset"], seed)]
        names = imagenet_classes()
        records, rejects = [], []
        for row in rows:
            image_id = row["image_id"]
            label = int(row["imagenet_index"])
            if names[label] != row["imagenet_label"]:
                raise ValueError(
                    f"{CATALOGUE.name}: {image_id} has index {label} = {names[label]!r}, "
                    f"but imagenet_label {row['imagenet_label']!r}"
                )
            try:
                path = photo_path(row["package"], row["resource"])
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"))
            except (OSError, ValueError) as error:
                rejects.append((image_id, f"cannot read {row['resource']}: {error}"))
                continue
            box = photo_box(row)
            mask = None if box is None else box_mask(*pixels.shape[:2], [box])
            records.append(
                {
                    "image_id": image_id,
                    "image": encode_png(np.ascontiguousarray(pixels)),
                    "label": label,
                    "mask": None if mask is None else encode_png(mask),
                }
            )
        table = pd.DataFrame(records, columns=IMAGE_COLUMNS)
        reject_frame = pd.DataFrame(rejects, columns=["image_id", "reason"]).astype(str)
        return DatasetSplit(table=table, class_names=list(names), rejects=reject_frame)
