"""Hugging Face ``datasets``: hub ids, local parquet/imagefolder data and save_to_disk folders.

One code path serves all of them: ``datasets.load_dataset(path, name, split=...,
data_files=..., data_dir=..., revision=...)``; a local folder written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` goes to ``datasets.load_from_disk``
instead, and a local data file (``x.parquet``) is read with the builder of its extension.
``datasets`` is imported only inside ``load`` so config validation stays light.

Images are read undecoded (``Image(decode=False)``) and handed on as their stored bytes;
``prepare_split`` decodes and normalises them. Row ids default to
``f"{hf_split}-{row_index}"`` with the row's index in the full split, so a subset keeps the
ids it would have in the full split. Where a row names its file, ``source`` keeps that
path, relative to the local folder it came from (``data_dir``, or ``path``).

``train_split: null`` says the dataset has no train split; it is implied when ``split`` is
``train`` and ``train_split`` is not given (an imagefolder without split folders holds one
split, named train). Local files (``path``, ``data_dir``, ``data_files``) must exist when the
config is checked, and :meth:`HFSource.local_files` lists them as inputs of the dataset rule.
"""

from __future__ import annotations

import glob
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from salsweep.datasets.base import DATASETS, REJECT_COLUMNS, DatasetSplit
from salsweep.datasets.prepare import (
    EXIF_ORIENTATION,
    ParamSource,
    box_mask,
    subset_indices,
    undecodable,
)
from salsweep.io import DATASET_COLUMNS, encode_png
from salsweep.params import AnyOf, Boolean, Mapped, OneOf, Param, Plugin, Strings, Text

HF_COLUMN = Text(nullable=True)
HF_PATHS = AnyOf(Text(), Strings(), phrase="a path or a list of paths")
PARAMS = {
    "hf": Plugin(
        "A Hugging Face dataset - datasets.load_dataset (a hub id, or a local parquet / "
        "imagefolder / save_to_disk folder).",
        {
            "path": Param(
                None,
                "Hub id or local path given to datasets.load_dataset (or load_from_disk for a "
                "save_to_disk folder).",
                Text(what="a hub id, builder name or folder"),
                required=True,
            ),
            "name": Param(None, "The dataset config (subset) name.", HF_COLUMN),
            "split": Param("test", "The split that is evaluated.", Text(what="a split name")),
            "train_split": Param(
                "train",
                "The split a model of source train learns from; null for a dataset without "
                "one (the default when split is train).",
                Text(nullable=True, what="a split name"),
            ),
            "data_files": Param(
                None,
                "data_files for a builder such as parquet or imagefolder.",
                AnyOf(
                    OneOf(None),
                    HF_PATHS,
                    Mapped(HF_PATHS),
                    phrase="a path, a list of paths or a mapping split -> path(s)",
                ),
            ),
            "data_dir": Param(None, "data_dir for a builder such as imagefolder.", HF_COLUMN),
            "revision": Param(None, "A hub revision (commit, tag or branch) to pin.", HF_COLUMN),
            "cache_dir": Param(
                None, "Where datasets caches downloads (default: the HF cache).", HF_COLUMN
            ),
            "image_column": Param(
                None, "The image column; default: the first Image feature.", HF_COLUMN
            ),
            "label_column": Param(
                None, "The label column; default: the first ClassLabel feature.", HF_COLUMN
            ),
            "mask_column": Param(
                None, "A ground-truth mask column (Image), used by Shared Interest.", HF_COLUMN
            ),
            "bbox_column": Param(
                None, "A ground-truth box column [x0, y0, x1, y1], turned into a mask.", HF_COLUMN
            ),
            "id_column": Param(
                None, "A column of unique image ids; default: {split}-{row index}.", HF_COLUMN
            ),
            "class_names": Param(
                None,
                "Class names, needed when the label column is not a ClassLabel.",
                AnyOf(OneOf(None), Strings(unique=True), phrase="a list of unique strings"),
            ),
            "trust_remote_code": Param(
                False, "Run a dataset script from the hub. Off unless set here.", Boolean()
            ),
        },
    )
}

# Builders a local data file can be read with, by file extension.
FILE_BUILDERS = {
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
}
# Preferred names when a dataset has several Image or ClassLabel columns.
IMAGE_NAMES = ("image", "img", "pixel_values")
LABEL_NAMES = ("label", "labels", "fine_label", "coarse_label")
BATCH = 256
# Builders datasets ships; with one of these as ``path``, data_dir and data_files are local.
PACKAGED_BUILDERS = frozenset(
    {"arrow", "csv", "imagefolder", "json", "pandas", "parquet", "text", "webdataset"}
)
GLOB_CHARS = frozenset("*?[")


def _is_saved_folder(path: str) -> bool:
    folder = Path(path)
    if not folder.is_dir():
        return False
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def train_split_of(params: Mapping[str, Any]) -> str | None:
    """The configured train split; None when there is none (see the module doc)."""
    if "train_split" in params:
        return params["train_split"]
    return None if params.get("split") == "train" else "train"


def _with_train_split(params: Mapping[str, Any]) -> dict[str, Any]:
    return {**params, "train_split": train_split_of(params)}


def _looks_local(path: str) -> bool:
    """A path a hub id cannot be: absolute, ./ or ../ relative, or ~."""
    return os.path.isabs(path) or path.startswith((".", "~"))


def _file_list(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [f for v in value.values() for f in _file_list(v)]
    return [value] if isinstance(value, str) else list(value or [])


def _files_under(folder: Path) -> list[Path]:
    """Every non-hidden file below ``folder``, sorted."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return out


def _local_paths(params: Mapping[str, Any]) -> list[Path]:
    """The local files and folders the config reads; ValueError naming a missing one.

    Resolved as ``datasets.load_dataset`` does: ``data_dir`` relative to a local folder
    ``path`` (else to the working directory), ``data_files`` relative to ``data_dir``.
    A hub id names files in the hub repository: nothing local.
    """
    path = params["path"]
    local = Path(os.path.expanduser(path))
    if local.is_file():
        return [local]
    if local.is_dir():
        if _is_saved_folder(path):
            return [local]
        return _named_paths(params, local)
    if _looks_local(path):
        raise ValueError(f"hf parameter 'path': no such file or folder {path!r}")
    if path not in PACKAGED_BUILDERS:
        return []
    return _named_paths(params, Path("."))


def _named_paths(params: Mapping[str, Any], base: Path) -> list[Path]:
    where = "" if base == Path(".") else f" in {str(base)!r}"
    if params["data_dir"] is not None:
        base = base / os.path.expanduser(params["data_dir"])
        if not base.is_dir():
            raise ValueError(
                f"hf parameter 'data_dir': no such folder {params['data_dir']!r}{where}"
            )
        where = f" in {str(base)!r}"
    if params["data_files"] is None:
        return [base]
    found: list[Path] = []
    for name in _file_list(params["data_files"]):
        if "://" in name:
            continue  # a remote URL: datasets downloads it
        pattern = base / os.path.expanduser(name)
        if GLOB_CHARS & set(name):
            matches = sorted(Path(m) for m in glob.glob(str(pattern), recursive=True))
            if not matches:
                raise ValueError(f"hf parameter 'data_files': {name!r} matches no file{where}")
            found.extend(matches)
        elif not pattern.exists():
            raise ValueError(f"hf parameter 'data_files': no such file {name!r}{where}")
        else:
            found.append(pattern)
    return found


def local_input_files(params: Mapping[str, Any]) -> list[str]:
    """Every local file the dataset reads (folders walked, hidden files skipped), sorted."""
    files: set[str] = set()
    for path in _local_paths(params):
        if path.is_dir():
            files.update(str(f) for f in _files_under(path))
        else:
            files.add(str(path))
    return sorted(files)


def _source_base(params: Mapping[str, Any]) -> Path | None:
    """The local folder that row paths are given relative to in ``source``."""
    path = Path(os.path.expanduser(params["path"]))
    if not path.is_dir() and params["path"] not in PACKAGED_BUILDERS:
        return None
    base = path if path.is_dir() else Path(".")
    if params["data_dir"] is not None:
        base = base / os.path.expanduser(params["data_dir"])
    return base.resolve() if base.is_dir() else None


def _source_of(value: Any, base: Path | None) -> str:
    """The file path an image cell names, relative to ``base`` when below it; else ""."""
    name = value.get("path") if isinstance(value, Mapping) else value
    if not isinstance(name, (str, os.PathLike)) or not str(name):
        return ""
    if base is not None and os.path.isabs(name):
        try:
            return Path(name).resolve().relative_to(base).as_posix()
        except ValueError:
            pass
    return Path(name).as_posix()


def _pick_column(
    features: Mapping[str, Any], kind: type, preferred: tuple[str, ...], what: str, skip: set
) -> str:
    found = [n for n, f in features.items() if isinstance(f, kind) and n not in skip]
    if len(found) == 1:
        return found[0]
    for name in preferred:
        if name in found:
            return name
    if not found:
        raise ValueError(
            f"hf: no {kind.__name__} column found for the {what}; set {what}_column "
            f"(columns: {', '.join(features)})"
        )
    raise ValueError(f"hf: several {kind.__name__} columns {found}; set {what}_column")


def _blob(value: Any) -> bytes | None:
    """Encoded bytes of an image cell: {"bytes", "path"} dict, raw bytes, a path or a PIL image."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return bytes(value["bytes"])
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        try:
            return Path(value).read_bytes()
        except OSError:
            return None
    if hasattr(value, "save"):  # a decoded PIL image
        import io

        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return buffer.getvalue()
    return None


def _image_size(data: bytes) -> tuple[int, int]:
    """(height, width) once EXIF orientation is applied (as decode_image gives it), read
    from the header; ValueError (stable text) if unreadable."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            turned = image.getexif().get(EXIF_ORIENTATION) in (5, 6, 7, 8)
            return (image.width, image.height) if turned else (image.height, image.width)
    except Exception as error:  # PIL raises many types for corrupt files
        raise undecodable("image", error) from None


def _boxes(value: Any) -> list[list[float]]:
    """One [x0, y0, x1, y1] box or a list of them."""
    if value is None:
        return []
    values = list(value)
    if len(values) == 4 and all(isinstance(v, numbers.Real) for v in values):
        return [values]
    boxes = [list(box) for box in values]
    if any(len(box) != 4 for box in boxes):
        raise ValueError(f"bbox {value!r} is not [x0, y0, x1, y1] or a list of such boxes")
    return boxes


@DATASETS.register("hf")
class HFSource(ParamSource):
    """A Hugging Face dataset; ``split``/``train_split`` name the eval/train splits."""

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        train_split = params["train_split"]
        if params["split"] == train_split:
            raise ValueError(
                f"hf parameters 'split' and 'train_split' must differ (both {train_split!r})"
                " so the evaluated images are not training images; if the dataset has no"
                " other split to train on, set train_split: null"
            )
        if params["mask_column"] and params["bbox_column"]:
            raise ValueError("hf: set at most one of 'mask_column' and 'bbox_column'")
        _local_paths(params)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        super().check_params(_with_train_split(params))

    def __init__(self, **params: Any) -> None:
        super().__init__(**_with_train_split(params))

    @classmethod
    def local_files(cls, params: Mapping[str, Any]) -> list[str]:
        """The local files this config reads, so that editing one reruns the dataset rule."""
        return local_input_files({**cls.declaration().defaults(), **params})

    def _open(self, hf_split: str) -> Any:
        import datasets

        p = self.params
        path = p["path"]
        if _is_saved_folder(path):
            saved = datasets.load_from_disk(path)
            if isinstance(saved, datasets.DatasetDict):
                if hf_split not in saved:
                    raise ValueError(
                        f"hf: split {hf_split!r} not in {path}; it has {sorted(saved)}"
                    )
                return saved[hf_split]
            if hf_split != p["split"]:
                raise ValueError(
                    f"hf: {path} holds one unsplit Dataset, used as the eval split; "
                    f"save a DatasetDict to give it a {hf_split!r} split"
                )
            return saved
        kwargs: dict[str, Any] = {
            "name": p["name"],
            "split": hf_split,
            "data_files": p["data_files"],
            "data_dir": p["data_dir"],
            "revision": p["revision"],
            "cache_dir": p["cache_dir"],
        }
        local = Path(path)
        if local.is_file() and local.suffix.lower() in FILE_BUILDERS:
            # A single local data file: its builder reads it as the requested split.
            path = FILE_BUILDERS[local.suffix.lower()]
            kwargs["data_files"] = {hf_split: str(local)}
        if p["trust_remote_code"]:
            kwargs["trust_remote_code"] = True
        return datasets.load_dataset(path, **{k: v for k, v in kwargs.items() if v is not None})

    def load(self, split: str, seed: int) -> DatasetSplit:
        import datasets

        self.check_split(split)
        p = self.params
        hf_split = p["split"] if split == "eval" else p["train_split"]
        if hf_split is None:
            raise ValueError(
                f"hf dataset {p['path']!r} has no train split (train_split is null); "
                "set train_split to the split a model or masker should learn from"
            )
        ds = self._open(hf_split)
        features = ds.features
        mask_col, bbox_col, id_col = p["mask_column"], p["bbox_column"], p["id_column"]
        image_col = p["image_column"] or _pick_column(
            features, datasets.Image, IMAGE_NAMES, "image", {mask_col}
        )
        label_col = p["label_column"] or _pick_column(
            features, datasets.ClassLabel, LABEL_NAMES, "label", set()
        )
        for key, col in (
            ("image_column", image_col),
            ("label_column", label_col),
            ("mask_column", mask_col),
            ("bbox_column", bbox_col),
            ("id_column", id_col),
        ):
            if col is not None and col not in features:
                raise ValueError(f"hf {key} {col!r} not in columns {list(features)}")
        if p["class_names"] is not None:
            class_names = list(p["class_names"])
        elif isinstance(features[label_col], datasets.ClassLabel):
            class_names = list(features[label_col].names)
        else:
            raise ValueError(f"hf label_column {label_col!r} is not a ClassLabel; set class_names")

        indices = subset_indices(len(ds), p["subset"], seed)
        if len(indices) < len(ds):
            ds = ds.select(indices)
        for col in (image_col, mask_col):
            if col is not None and isinstance(ds.features[col], datasets.Image):
                ds = ds.cast_column(col, datasets.Image(decode=False))
        columns = [c for c in (image_col, label_col, mask_col, bbox_col, id_col) if c]
        ds = ds.select_columns(list(dict.fromkeys(columns)))

        base = _source_base(p)
        rows: list[dict[str, Any]] = []
        rejects: list[tuple[str, str, str]] = []
        position = 0
        for batch in ds.iter(batch_size=BATCH):
            for k in range(len(batch[image_col])):
                row_index = int(indices[position])
                position += 1
                image_id = str(batch[id_col][k]) if id_col else f"{hf_split}-{row_index}"
                cell = batch[image_col][k]
                source = _source_of(cell, base)
                data = _blob(cell)
                if data is None:
                    rejects.append((image_id, f"no image in column {image_col!r}", source))
                    continue
                mask = None
                if mask_col is not None:
                    mask = _blob(batch[mask_col][k])
                elif bbox_col is not None:
                    try:
                        height, width = _image_size(data)
                    except ValueError as error:
                        rejects.append((image_id, str(error), source))
                        continue
                    try:
                        boxes = _boxes(batch[bbox_col][k])
                        mask = encode_png(box_mask(height, width, boxes)) if boxes else None
                    except (TypeError, ValueError) as error:
                        rejects.append((image_id, f"bad box in {bbox_col!r}: {error}", source))
                        continue
                rows.append(
                    {
                        "image_id": image_id,
                        "image": data,
                        "label": batch[label_col][k],
                        "mask": mask,
                        "source": source,
                    }
                )
        table = pd.DataFrame(rows, columns=DATASET_COLUMNS)
        reject_frame = pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype(str)
        if position != len(indices):
            raise AssertionError(f"hf read {position} rows, expected {len(indices)}")
        return DatasetSplit(table=table, class_names=class_names, rejects=reject_frame)
