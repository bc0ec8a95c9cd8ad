"""File formats of the study, all written atomically (temp file in the same folder, then rename).

- Image tables (parquet): one row per image; ``image`` and ``mask`` are PNG bytes.
- Class names: a JSON list beside the dataset table.
- Saliency maps (safetensors): see :func:`save_maps` / :func:`load_maps`.
- The study's tables (parquet; the summary is CSV): predictions, metrics, examples,
  rejects and summary, each with its columns (``*_COLUMNS``) and row order (``*_KEYS``)
  here, and their readers and writers; flip levels, failure and findings at the end.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from salsweep.condition import Condition

IMAGE_COLUMNS = ["image_id", "image", "label", "mask"]
DATASET_COLUMNS = [*IMAGE_COLUMNS, "source"]  # a dataset table: + the file each image came from
PREDICTION_COLUMNS = [
    "dataset",
    "model",
    "perturbation",
    "level",
    "image_id",
    "label",
    "pred",
    "prob_label",
    "prob_pred",
    "correct",
]
METRIC_COLUMNS = [
    "dataset",
    "model",
    "perturbation",
    "level",
    "method",
    "target",
    "image_id",
    "metric",
    "value",
]
EXAMPLE_COLUMNS = [
    "dataset",
    "model",
    "method",
    "perturbation",
    "level",
    "image_id",
    "target",
    "class_index",
    "class_name",
    "signed",
    "image",
    "map",
    "height",
    "width",
]
REJECT_COLUMNS = ["dataset", "split", "image_id", "source", "reason"]
SUMMARY_GROUP = ["dataset", "model", "perturbation", "level", "method", "target", "metric"]
SUMMARY_COLUMNS = [*SUMMARY_GROUP, "n", "mean", "ci_low", "ci_high"]
SUMMARY_FLOATS = ["level", "n", "mean", "ci_low", "ci_high"]
# Row order of the gathered tables: independent of job completion order and sharding.
PREDICTION_KEYS = ["dataset", "model", "perturbation", "level", "image_id"]
METRIC_KEYS = [
    "dataset",
    "model",
    "method",
    "perturbation",
    "level",
    "target",
    "metric",
    "image_id",
]
# Float columns; the others hold names (object) in an empty table.
NUMERIC_COLUMNS = {"level", "value", "prob_label", "prob_pred"}


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it onto ``path`` only if the block succeeds.

    ``path`` gets mode 0o666 less the umask, as ``open()`` would give it (mkstemp's 0o600
    would make every output owner-only); writers that recreate the temp file (safetensors
    does, with 0o600) get that mode back before the rename.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    os.close(fd)
    try:
        mode = stat.S_IMODE(os.stat(tmp).st_mode)  # what the umask allows
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a parquet table byte-reproducibly: no index, fixed compression, no timestamps."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


class CorruptResultError(ValueError):
    """A result file exists but cannot be read: the message says how to remake it."""

    def __init__(self, path: str | os.PathLike, what: str, error: Exception) -> None:
        super().__init__(
            f"{path} is not a readable {what} ({type(error).__name__}: {error}). It is probably "
            f"truncated or corrupt (a full disk, a killed copy). Delete it, or run the same "
            f"snakemake command with `--forcerun {path}`, to remake it and what uses it."
        )
        self.path = str(path)


def read_table(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise CorruptResultError(path, "parquet table", error) from error


def write_json(obj: object, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> object:
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptResultError(path, "JSON file", error) from error


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 HxWx3 image or HxW mask (compression fixed for reproducibility)."""
    if array.dtype != np.uint8:
        raise ValueError(f"encode_png needs uint8, got {array.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image).copy()


def decode_images(blobs: list[bytes] | pd.Series) -> list[np.ndarray]:
    return [decode_png(blob) for blob in blobs]


def stack_images(images: list[np.ndarray]) -> np.ndarray:
    """Stack equal-sized HxWx3 uint8 images into an NxHxWx3 batch, naming the odd one out."""
    if not images:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    shape = images[0].shape
    for index, image in enumerate(images):
        if image.shape != shape:
            raise ValueError(f"image {index} has shape {image.shape}, expected {shape}")
    return np.stack(images)


@dataclass
class SaliencyMaps:
    """Maps of one job: ``maps[i, t]`` explains ``targets[i, t]`` for image ``image_ids[i]``."""

    maps: np.ndarray  # float32 [N, T, H, W]
    targets: np.ndarray  # int64 [N, T], class indices
    image_ids: list[str]
    target_names: list[str]  # e.g. ["truth", "pred"]
    method: str
    signed: bool
    class_names: list[str] = field(default_factory=list)  # the model's classes

    def __post_init__(self) -> None:
        n = len(self.image_ids)
        if self.maps.ndim != 4 or self.maps.shape[0] != n:
            raise ValueError(f"maps must be [N={n}, T, H, W], got {self.maps.shape}")
        if self.targets.shape != self.maps.shape[:2]:
            raise ValueError(f"targets {self.targets.shape} do not match maps {self.maps.shape}")
        if len(self.target_names) != self.maps.shape[1]:
            raise ValueError(f"{len(self.target_names)} target names for {self.maps.shape[1]}")


def save_maps(result: SaliencyMaps, path: str | os.PathLike) -> None:
    """Save as safetensors: tensors ``maps`` and ``targets``; ids and names in the metadata."""
    from safetensors.numpy import save_file

    metadata = {
        "image_ids": json.dumps(result.image_ids),
        "target_names": json.dumps(result.target_names),
        "method": result.method,
        "signed": json.dumps(result.signed),
        "class_names": json.dumps(result.class_names),
    }
    tensors = {
        "maps": np.ascontiguousarray(result.maps, dtype=np.float32),
        "targets": np.ascontiguousarray(result.targets, dtype=np.int64),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_maps(path: str | os.PathLike) -> SaliencyMaps:
    from safetensors import SafetensorError, safe_open

    if not os.path.exists(path):
        raise FileNotFoundError(f"no saliency maps file {path}")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            maps = handle.get_tensor("maps")
            targets = handle.get_tensor("targets")
        return SaliencyMaps(
            maps=maps,
            targets=targets,
            image_ids=json.loads(metadata["image_ids"]),
            target_names=json.loads(metadata["target_names"]),
            method=metadata["method"],
            signed=json.loads(metadata["signed"]),
            class_names=json.loads(metadata.get("class_names", "[]")),
        )
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise CorruptResultError(path, "saliency maps file", error) from error


def save_probs(image_ids: list[str], probs: np.ndarray, path: str | os.PathLike) -> None:
    """One classify job's full softmax vectors: tensor ``probs`` float32 [N, C] (rows in
    ``image_ids`` order, columns the model's classes); the ids in the metadata."""
    from safetensors.numpy import save_file

    probs = np.ascontiguousarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[0] != len(image_ids):
        raise ValueError(f"probs must be [N={len(image_ids)}, C], got {probs.shape}")
    with atomic_path(path) as tmp:
        save_file({"probs": probs}, str(tmp), metadata={"image_ids": json.dumps(image_ids)})


def load_probs(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """``(image_ids, probs)`` as :func:`save_probs` wrote them."""
    from safetensors import SafetensorError, safe_open

    if not os.path.exists(path):
        raise FileNotFoundError(f"no probabilities file {path}")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            probs = handle.get_tensor("probs")
        image_ids = json.loads(metadata["image_ids"])
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise CorruptResultError(path, "probabilities file", error) from error
    return image_ids, probs


# --- a sweep's folders: a model job (classify, saliency) covers every level of one sweep
# of one shard, so it loads its model once; it writes one file per level into its folder.


def level_table(folder: str | os.PathLike, level: str) -> str:
    """The table of condition ``level`` in a sweep's folder (predictions)."""
    return os.path.join(folder, f"{level}.parquet")


def level_tensors(folder: str | os.PathLike, level: str) -> str:
    """The safetensors file of condition ``level`` in a sweep's folder (probs, maps)."""
    return os.path.join(folder, f"{level}.safetensors")


# --- the study's tables -------------------------------------------------------------------


def empty_table(columns: list[str]) -> pd.DataFrame:
    """No rows, typed columns, so readers (figures) can use numeric operations on them."""
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in NUMERIC_COLUMNS else "object") for c in columns}
    )


def metric_frame(
    condition: Condition,
    *,
    model: str,
    method: str,
    target: str,
    image_ids: list[str],
    metric: str,
    values: np.ndarray,
) -> pd.DataFrame:
    """Rows of the metrics table: one metric of one target's maps, in ``METRIC_COLUMNS``."""
    return pd.DataFrame(
        {
            "dataset": condition.dataset,
            "model": model,
            "perturbation": condition.perturbation,
            "level": condition.table_level,
            "method": method,
            "target": target,
            "image_id": list(image_ids),
            "metric": metric,
            "value": np.asarray(values, dtype=np.float64),
        }
    )[METRIC_COLUMNS]


def encode_map(saliency: np.ndarray) -> dict[str, object]:
    """The ``map``, ``height`` and ``width`` fields of an examples row (float16 bytes)."""
    half = saliency.astype(np.float16)
    return {"map": half.tobytes(), "height": half.shape[0], "width": half.shape[1]}


def example_rows(
    result: SaliencyMaps,
    index: int,
    *,
    dataset: str,
    model: str,
    method: str,
    perturbation: str,
    level: float,
    image: bytes,
) -> list[dict[str, object]]:
    """The examples-table rows (``EXAMPLE_COLUMNS``) of image ``index`` of ``result``: one
    per target, with its class, the image's PNG bytes and the map."""
    names = result.class_names
    rows = []
    for t, target in enumerate(result.target_names):
        class_index = int(result.targets[index, t])
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "method": method,
                "perturbation": perturbation,
                "level": level,
                "image_id": result.image_ids[index],
                "target": target,
                "class_index": class_index,
                "class_name": names[class_index]
                if 0 <= class_index < len(names)
                else str(class_index),
                "signed": result.signed,
                "image": image,
                **encode_map(result.maps[index, t]),
            }
        )
    return rows


def decode_map(row: pd.Series) -> np.ndarray:
    """The map of an examples row, float16 [height, width]."""
    return np.frombuffer(row["map"], dtype=np.float16).reshape(row["height"], row["width"])


def write_summary(summary: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        summary.to_csv(tmp, index=False, float_format="%.10g")


def read_summary(path: str | os.PathLike) -> pd.DataFrame:
    """summary.csv as written: names stay strings (accuracy rows have empty method and
    target, not NaN), empty numbers are NaN."""
    return pd.read_csv(
        path,
        dtype={c: (np.float64 if c in SUMMARY_FLOATS else str) for c in SUMMARY_COLUMNS},
        keep_default_na=False,
        na_values={c: [""] for c in SUMMARY_FLOATS},
    )


# --- issue 12: input/output change of each perturbed copy, and the noise floors -----------

# changes.parquet: one row per perturbed copy of an image, per model (contract C2).
CHANGE_COLUMNS = [
    "dataset",
    "model",
    "perturbation",
    "level",
    "image_id",
    "psnr",
    "ssim",
    "input_l2",
    "kl",
    "prob_clean_pred",
    "flipped",
]
CHANGE_KEYS = ["dataset", "model", "perturbation", "level", "image_id"]
# floors.parquet: drift of each floor map from the clean map (contract C3).
FLOOR_COLUMNS = ["dataset", "model", "method", "target", "floor", "image_id", "metric", "value"]
FLOOR_KEYS = ["dataset", "model", "method", "floor", "target", "metric", "image_id"]
FLOOR_NAMES = ("random_logit", "randomised_head", "randomised_all")
# summary.csv's perturbation for a floor's rows ("floor:random_logit"); their level is NaN.
FLOOR_PREFIX = "floor:"
CHANGE_FLOATS = {"psnr", "ssim", "input_l2", "kl", "prob_clean_pred"}
NUMERIC_COLUMNS |= CHANGE_FLOATS


# --- failure analysis (issue 13): flip levels, drift as a failure predictor, findings -----

FLIP_LEVEL_COLUMNS = [
    "dataset",
    "model",
    "perturbation",
    "image_id",
    "label",
    "clean_pred",
    "clean_correct",
    "flip_level",
    "wrong_level",
]
FLIP_LEVEL_KEYS = ["dataset", "model", "perturbation", "image_id"]
FAILURE_GROUP = ["dataset", "model", "perturbation", "method", "target", "metric", "outcome"]
FAILURE_COLUMNS = [
    *FAILURE_GROUP,
    "n_pos",
    "n_neg",
    "auroc",
    "auroc_low",
    "auroc_high",
    "confidence_drop_auroc",
    "confidence_drop_low",
    "confidence_drop_high",
    "level_auroc",
    "level_low",
    "level_high",
    "difference",
    "difference_low",
    "difference_high",
    "note",
]
FAILURE_OUTCOMES = ("flipped", "wrong")
FINDING_COLUMNS = [
    "dataset",
    "model",
    "perturbation",
    "method",
    "target",
    "accuracy_clean",
    "accuracy_strongest",
    "strongest_level",
    "median_flip_level",
    "metric",
    "drift_vs_floor",
    "auroc",
    "confidence_drop_auroc",
    "difference",
    "difference_low",
    "difference_high",
    "note",
]
