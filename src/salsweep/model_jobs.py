"""What the model jobs (classify, saliency, model metrics, masker training) share: the
job's classifier on its device, its first log line, and the job's images decoded by size, a
chunk at a time."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from salsweep.io import decode_images, read_json, stack_images

log = logging.getLogger(__name__)


def load_job_classifier(
    spec: dict,
    classes_path: str,
    device: str,
    weights_path: str | None,
    deterministic: bool,
    threads: int = 1,
    *,
    dataset: str,
    model: str,
) -> tuple[Any, np.ndarray]:
    """The classifier on its device, and the map from dataset label index to model index.

    ``dataset`` and ``model`` are the config's names, for the errors (a class-count
    mismatch surfaces here, in the first job that reads both)."""
    import torch

    from salsweep.models import load_classifier, resolve_device, set_deterministic

    # One torch thread per Snakemake thread: jobs side by side must not oversubscribe cores,
    # and CPU results depend on the thread count.
    torch.set_num_threads(max(1, int(threads)))
    torch_device = resolve_device(device)
    if torch_device.type == "cuda":
        # CPU kernels are deterministic at a fixed thread count already; the call costs
        # ~2 s of imports (torch._inductor) per job, so it is made only where it matters.
        set_deterministic(deterministic)
    dataset_classes = read_json(classes_path)
    classifier = load_classifier(
        spec,
        dataset_classes,
        torch_device,
        weights_path=weights_path,
        dataset_name=dataset,
        model_name=model,
    )
    return classifier, classifier.label_map


def log_loaded(inputs: str, spec: dict, classifier: Any) -> None:
    """A model job's first log line, once its inputs are read and its model loaded:
    bench/overhead.py counts everything before it (interpreter, imports, model load) as
    start-up. Nothing else is logged before it."""
    import torch

    log.info(
        "loaded: %s; model %s on %s, %d classes, %d threads",
        inputs,
        spec["source"],
        classifier.device,
        classifier.n_classes,
        torch.get_num_threads(),
    )


def rows_by_size(table: pd.DataFrame) -> list[tuple[tuple[int, int], np.ndarray]]:
    """(height, width) and row indices per image size, in first-seen order.

    Sizes come from the PNG headers, so nothing is decoded: jobs decode one chunk at a time
    (:func:`decode_rows`) and their memory does not grow with the shard's pixels.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for index, blob in enumerate(table["image"]):
        with Image.open(io.BytesIO(blob)) as image:
            groups.setdefault((image.height, image.width), []).append(index)
    return [(hw, np.asarray(rows, dtype=np.int64)) for hw, rows in groups.items()]


def decode_rows(table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The images of ``rows`` (all of one size) as one uint8 [N, H, W, 3] batch."""
    return stack_images(decode_images(table["image"].iloc[rows]))


def predict_padded(classifier: Any, images: np.ndarray, batch_size: int) -> np.ndarray:
    """``classifier.predict_proba`` with a short last batch padded to ``batch_size``.

    BLAS picks its kernel by matrix size (a 1-row batch even takes a matrix-vector path),
    so an image's float result depends on its batch's size, though not on the other images
    in it. Running every forward at ``batch_size`` rows makes each image's probabilities
    independent of which shard, and which batch of it, the image falls in.
    """
    n = len(images)
    pad = -n % batch_size
    if n and pad:
        images = np.concatenate([images, np.repeat(images[-1:], pad, axis=0)])
    return classifier.predict_proba(images, batch_size=batch_size)[:n]


# Images handed to one explain() call: bounds memory whatever the shard size.
IMAGES_PER_CALL = 16


def build_explainer(
    method: str,
    method_params: dict,
    *,
    seed: int,
    batch_size: int | str,
    masker_path: str | None = None,
) -> Any:
    """The saliency method of a job. A method's own ``batch_size`` wins over the job's;
    unless the config fixes it, the method seed depends on the study seed and the method
    only, so every copy of an image (clean, perturbed, floors) gets the same random masks."""
    from salsweep.saliency import SALIENCY_METHODS
    from salsweep.seeding import derive_seed

    params = dict(method_params)
    if masker_path is not None:
        params["masker_path"] = masker_path
    batch_size = params.pop("batch_size", batch_size)
    method_seed = params.pop("seed", None)
    if method_seed is None:
        method_seed = derive_seed(seed, "saliency", method) % (2**31)
    return SALIENCY_METHODS.get(method)(seed=method_seed, batch_size=batch_size, **params)


def explain_table(
    explainer: Any,
    classifier: Any,
    table: pd.DataFrame,
    targets: np.ndarray,
    on_chunk: Callable[[int], object] | None = None,
) -> tuple[np.ndarray, list[tuple[tuple[int, int], np.ndarray]]]:
    """Maps float32 [N, T, H, W] of ``targets`` [N, T] for the images of ``table``, decoded
    per call; and the (size, rows) groups they were explained in. ``on_chunk(n)`` is
    called after each call of n images (progress)."""
    groups = rows_by_size(table)  # images are decoded per call, not all up front
    maps: np.ndarray | None = None
    for _, rows in groups:
        for start in range(0, len(rows), IMAGES_PER_CALL):
            chunk = rows[start : start + IMAGES_PER_CALL]
            result = explainer.explain(classifier, decode_rows(table, chunk), targets[chunk])
            if maps is None:
                maps = np.zeros((len(table), *result.shape[1:]), dtype=np.float32)
            maps[chunk] = result
            if on_chunk is not None:
                on_chunk(len(chunk))
    if maps is None:
        maps = np.zeros((0, targets.shape[1], 1, 1), dtype=np.float32)
    return maps, groups
