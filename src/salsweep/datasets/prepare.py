"""Turn a dataset config into one clean image table: the only entry point the pipeline calls.

A source's ``load`` may return images as encoded bytes of any format and mode PIL reads
(JPEG, 16-bit PNG, RGBA, palette...). :func:`prepare_split` decodes and normalises them:

- every image becomes HxWx3 uint8 RGB PNG: grayscale is replicated to 3 channels, 16-bit
  values are scaled to 8 bits (``v / 257``, rounded), and images with transparency
  (RGBA, LA, palette with a transparent colour) are composited over **black**
  (``rgb * alpha / 255``), so a transparent background reads as the black of a dark scene;
- masks become HxW uint8 0/255: any nonzero pixel of the stored mask is foreground;
- with ``image_size`` the shorter side is resized (bicubic, antialiased when shrinking) so
  the image covers the target, then centre-cropped to exactly that size; masks are resized
  with nearest neighbour and cropped the same way (a mask can end up all zero when its
  object lies outside the crop; it is kept, not dropped);
- EXIF orientation is applied at decode (``ImageOps.exif_transpose``), so an image has the
  size and orientation that viewers and ``datasets`` show;
- without ``image_size`` every kept image must have one size: mixed sizes fail the split
  with a ValueError that names ``image_size`` (later steps batch images of one size);
- bad items go to ``rejects`` (image_id, reason, source) instead of raising: undecodable or
  zero-size images, unsupported modes, masks of another size, labels outside
  ``class_names``, repeated image ids (the first one is kept). Reasons are stable text
  (no object addresses), so a rerun writes the same bytes.
  ``len(table) + len(rejects)`` equals the number of items the source read.
- ``source`` (the file an item came from, "" when the source has no files) is kept in the
  table and in ``rejects``.
"""

from __future__ import annotations

import io
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from salsweep.datasets.base import DATASETS, REJECT_COLUMNS, DatasetSource, DatasetSplit
from salsweep.io import DATASET_COLUMNS, encode_png
from salsweep.params import Plugin, check_params
from salsweep.registry import declarations

# Keys of a dataset config that prepare_split handles itself; the rest go to the source.
COMMON_KEYS = ("source", "image_size")
MAX_IMAGE_SIDE = 8192
SPLITS = ("eval", "train")
# An object's repr with its address (PIL names the BytesIO it read): differs on every run.
OBJECT_REPR = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")
EXIF_ORIENTATION = 0x0112  # the EXIF tag ImageOps.exif_transpose reads


class ParamSource(DatasetSource):
    """A source with declared parameters: unknown names and bad values fail before loading.

    Its module's ``PARAMS`` declares every accepted parameter (``subset`` is accepted by all
    sources); ``validate`` checks what one value cannot say alone (e.g. two params that
    must differ); ``default_image_size`` applies when the config has no ``image_size`` key.
    """

    default_image_size: ClassVar[int | None] = None

    def __init__(self, **params: Any) -> None:
        type(self).check_params(params)
        merged = {"subset": None, **self.declaration().defaults(), **params}
        super().__init__(**merged)

    @classmethod
    def declaration(cls) -> Plugin:
        return declarations(__package__)[cls.name]

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        check_params(
            "dataset source", cls.name, params, cls.declaration().params, ignore=("subset",)
        )
        check_subset(params.get("subset"), cls.name)
        cls.validate({**cls.declaration().defaults(), **params})

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        """Check what the declared checks cannot (all defaults filled in); raise ValueError
        naming the parameter."""

    @staticmethod
    def check_split(split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def check_subset(subset: Any, source: str) -> None:
    if subset is None:
        return
    if isinstance(subset, bool) or not isinstance(subset, numbers.Real):
        raise ValueError(f"subset of {source!r} must be an int >= 1 or a fraction in (0, 1]")
    if isinstance(subset, numbers.Integral):
        if subset < 1:
            raise ValueError(f"subset of {source!r} must be >= 1 when an int, got {subset}")
    elif not 0.0 < float(subset) <= 1.0:
        raise ValueError(f"subset of {source!r} must be in (0, 1] when a fraction, got {subset}")


def subset_indices(n: int, subset: int | float | None, seed: int) -> np.ndarray:
    """Sorted positions of a seeded random subset of ``range(n)``.

    An int takes that many items (all when it is >= n); a float in (0, 1] takes that
    fraction, rounded, at least one. Sorting keeps the original order, so ids stay stable.
    """
    if subset is None:
        return np.arange(n)
    if isinstance(subset, numbers.Integral):
        k = min(int(subset), n)
    else:
        k = min(n, max(1, round(float(subset) * n)))
    if k >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=k, replace=False))


def box_mask(height: int, width: int, boxes: Any) -> np.ndarray:
    """A 0/255 mask of the union of [x0, y0, x1, y1] pixel boxes (x1, y1 exclusive, clipped)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    for box in boxes:
        x0, y0, x1, y1 = (float(v) for v in box)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise ValueError(f"box {list(box)} has a non-finite coordinate")
        c0, r0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        c1, r1 = min(width, math.ceil(x1)), min(height, math.ceil(y1))
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = 255
    if not mask.any():
        raise ValueError(f"boxes {boxes} cover no pixel of a {width}x{height} image")
    return mask


# --- image normalisation ----------------------------------------------------------------


def image_size_pair(image_size: Any) -> tuple[int, int] | None:
    """``image_size`` as (height, width); an int means a square."""
    if image_size is None:
        return None
    values = list(image_size) if isinstance(image_size, (list, tuple)) else [image_size] * 2
    if len(values) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in values
    ):
        raise ValueError(f"image_size must be an int or [height, width], got {image_size!r}")
    if not all(1 <= v <= MAX_IMAGE_SIDE for v in values):
        raise ValueError(f"image_size values must be in 1..{MAX_IMAGE_SIDE}, got {image_size!r}")
    return int(values[0]), int(values[1])


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.width == 0 or image.height == 0:
        raise ValueError("zero-size image")
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        # 16-bit gray: keep the full range, scaled to 8 bits.
        values = np.asarray(image).astype(np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        raise ValueError("unsupported float image mode 'F'")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa") or (mode == "L" and "transparency" in image.info):
        image = image.convert("RGBA")
    elif mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        rgba = np.asarray(image).astype(np.float64)
        rgb = rgba[..., :3] * (rgba[..., 3:4] / 255.0)  # composite over black
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"))


def undecodable(what: str, error: Exception) -> ValueError:
    """A reason that is the same on every run: object addresses removed."""
    text = OBJECT_REPR.sub("", str(error))
    return ValueError(f"undecodable {what} ({type(error).__name__}: {text})")


def decode_image(data: Any) -> np.ndarray:
    """HxWx3 uint8 RGB from encoded bytes, EXIF orientation applied; ValueError (with a
    reason) for anything unusable."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise ValueError("no image bytes (empty file)")
    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            image.load()
            array = _to_rgb(ImageOps.exif_transpose(image))
    except ValueError as error:
        raise ValueError(OBJECT_REPR.sub("", str(error))) from None
    except Exception as error:  # PIL raises many types for corrupt files
        raise undecodable("image", error) from None
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(f"image decoded to shape {array.shape}")
    return np.ascontiguousarray(array)


def decode_mask(data: Any) -> np.ndarray:
    """HxW uint8 0/255: nonzero pixels (any colour channel) are foreground."""
    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            image.load()
            array = np.asarray(ImageOps.exif_transpose(image))
    except Exception as error:
        raise undecodable("mask", error) from None
    if array.ndim == 3:
        array = (array[..., : min(3, array.shape[2])] != 0).any(axis=2)
    elif array.ndim != 2:
        raise ValueError(f"mask decoded to shape {array.shape}")
    return np.where(array != 0, 255, 0).astype(np.uint8)


def resize_crop(
    image: np.ndarray, mask: np.ndarray | None, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize so the image covers ``size`` (height, width), then centre-crop to it."""
    height, width = image.shape[:2]
    target_h, target_w = size
    if (height, width) == (target_h, target_w):
        return image, mask
    scale = max(target_h / height, target_w / width)
    new_w = max(target_w, round(width * scale))
    new_h = max(target_h, round(height * scale))
    left, top = (new_w - target_w) // 2, (new_h - target_h) // 2
    crop = (left, top, left + target_w, top + target_h)
    pil = Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BICUBIC)
    out_image = np.asarray(pil.crop(crop))
    out_mask = None
    if mask is not None:
        pil_mask = Image.fromarray(mask).resize((new_w, new_h), Image.Resampling.NEAREST)
        out_mask = np.asarray(pil_mask.crop(crop))
    return out_image, out_mask


def _label(value: Any, n_classes: int) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"label {value!r} is not an integer")
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"label {value!r} is not an integer")
    elif not isinstance(value, numbers.Integral):
        raise ValueError(f"label {value!r} is not an integer")
    label = int(value)
    if not 0 <= label < n_classes:
        raise ValueError(f"label {label} outside 0..{n_classes - 1} (class_names)")
    return label


def _column(frame: pd.DataFrame, name: str, default: Any) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [default] * len(frame)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _check_one_size(rows: list[dict[str, Any]], shapes: list[tuple[int, int]]) -> None:
    """Without ``image_size`` the kept images must share one size; name a few that differ."""
    sizes: dict[tuple[int, int], dict[str, Any]] = {}
    for row, shape in zip(rows, shapes, strict=True):
        sizes.setdefault(shape, row)
    if len(sizes) <= 1:
        return
    examples = ", ".join(
        f"{h}x{w} ({row['source'] or row['image_id']})"
        for (h, w), row in list(sorted(sizes.items()))[:4]
    )
    raise ValueError(
        f"images have {len(sizes)} different sizes (height x width: {examples}"
        f"{', ...' if len(sizes) > 4 else ''}); set image_size (an int, or [height, width]) "
        "so that every image is resized and centre-cropped to one size"
    )


def normalise_split(raw: DatasetSplit, image_size: Any = None) -> DatasetSplit:
    """Decode, convert, resize/crop and check every row of ``raw`` (see the module doc)."""
    size = image_size_pair(image_size)
    n_classes = len(raw.class_names)
    rows: list[dict[str, Any]] = []
    shapes: list[tuple[int, int]] = []
    rejects: list[tuple[str, str, str]] = [
        (str(i), str(r), _text(f))
        for i, r, f in zip(
            raw.rejects["image_id"],
            raw.rejects["reason"],
            _column(raw.rejects, "source", ""),
            strict=True,
        )
    ]
    seen: set[str] = set()
    table = raw.table
    for image_id, data, label, mask_data, source in zip(
        table["image_id"],
        table["image"],
        table["label"],
        _column(table, "mask", None),
        _column(table, "source", ""),
        strict=True,
    ):
        image_id, source = str(image_id), _text(source)
        if image_id in seen:
            rejects.append((image_id, "duplicate image_id (first occurrence kept)", source))
            continue
        seen.add(image_id)
        try:
            label_int = _label(label, n_classes)
            image = decode_image(data)
            mask = None
            if mask_data is not None and not (isinstance(mask_data, float) and np.isnan(mask_data)):
                mask = decode_mask(mask_data)
                if mask.shape != image.shape[:2]:
                    raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
            if size is not None:
                image, mask = resize_crop(image, mask, size)
        except ValueError as error:
            rejects.append((image_id, str(error), source))
            continue
        shapes.append(image.shape[:2])
        rows.append(
            {
                "image_id": image_id,
                "image": encode_png(image),
                "label": label_int,
                "mask": None if mask is None else encode_png(mask),
                "source": source,
            }
        )
    if size is None:
        _check_one_size(rows, shapes)
    out = pd.DataFrame(rows, columns=DATASET_COLUMNS)
    out["image_id"] = out["image_id"].astype(str)
    out["label"] = out["label"].astype(np.int64)
    out["mask"] = out["mask"].astype(object)
    out["source"] = out["source"].astype(str)
    reject_frame = pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype(str)
    n_read = len(table) + len(raw.rejects)
    if len(out) + len(reject_frame) != n_read:
        raise AssertionError(f"{len(out)} kept + {len(reject_frame)} rejected != {n_read} read")
    return DatasetSplit(table=out, class_names=list(raw.class_names), rejects=reject_frame)


# --- entry points ---------------------------------------------------------------------


def _source_class(source_cfg: Mapping[str, Any]) -> type[ParamSource]:
    if not isinstance(source_cfg, Mapping) or "source" not in source_cfg:
        raise ValueError(f"a dataset config needs a 'source' key, got {source_cfg!r}")
    try:
        cls = DATASETS.get(source_cfg["source"])
    except KeyError as error:
        raise ValueError(str(error.args[0])) from None
    return cls  # type: ignore[return-value]


def _source_params(source_cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in source_cfg.items() if k not in COMMON_KEYS}


def resolved_image_size(source_cfg: Mapping[str, Any]) -> tuple[int, int] | None:
    """The (height, width) the prepared images will have, or None for original sizes."""
    cls = _source_class(source_cfg)
    if "image_size" in source_cfg:
        return image_size_pair(source_cfg["image_size"])
    return image_size_pair(getattr(cls, "default_image_size", None))


def check_source_params(source_cfg: Mapping[str, Any]) -> None:
    """Validate a dataset config without loading anything; ValueError names the problem."""
    cls = _source_class(source_cfg)
    resolved_image_size(source_cfg)
    if hasattr(cls, "check_params"):
        cls.check_params(_source_params(source_cfg))


def local_inputs(source_cfg: Mapping[str, Any]) -> list[str]:
    """The local files a dataset config reads (inputs of the dataset rule), sorted.

    Empty for sources without local files (hub ids, bundled and scikit-learn data).
    """
    check_source_params(source_cfg)
    cls = _source_class(source_cfg)
    files = getattr(cls, "local_files", None)
    return files(_source_params(source_cfg)) if files is not None else []


def prepare_split(source_cfg: Mapping[str, Any], split: str, seed: int) -> DatasetSplit:
    """Load ``split`` ("eval" or "train") of the configured dataset as a clean image table."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    check_source_params(source_cfg)
    cls = _source_class(source_cfg)
    source = cls(**_source_params(source_cfg))
    raw = source.load(split, seed)
    return normalise_split(raw, resolved_image_size(source_cfg))
