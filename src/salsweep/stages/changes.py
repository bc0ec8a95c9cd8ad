"""Step 4b: how far each perturbed copy moved the input and the model's output.

Per image of one (dataset, model, shard), for every perturbed copy (not the clean one):

- ``psnr``, ``ssim``: scikit-image's ``peak_signal_noise_ratio`` and
  ``structural_similarity`` (channels averaged, 7x7 window or the largest odd one that
  fits) of the copy against the clean image, both scaled to [0, 1] (``data_range=1``);
  psnr is +inf for a copy equal to the clean image.
- ``input_l2``: ||x - x'||_2 over all pixels and channels on that [0, 1] scale.
- ``kl``: KL(p_clean || p_copy) over the model's softmax (natural log, nats); both vectors
  are clipped below at ``KL_EPS`` and renormalised first, so a class whose float32
  probability underflowed to 0 gives a large finite value, not inf.
- ``prob_clean_pred``: the copy's probability of the clean image's predicted class.
- ``flipped``: the copy's predicted class differs from the clean one's (argmax, as in
  predictions.parquet).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import CHANGE_COLUMNS, decode_png, load_probs, read_table, write_table

log = logging.getLogger(__name__)

KL_EPS = 1e-12
SSIM_WINDOW = 7


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p || q) per row of [N, C] probabilities, after the ``KL_EPS`` guard."""
    from scipy.special import rel_entr

    p = np.clip(np.asarray(p, dtype=np.float64), KL_EPS, None)
    q = np.clip(np.asarray(q, dtype=np.float64), KL_EPS, None)
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    return rel_entr(p, q).sum(axis=1)


def image_change(clean: np.ndarray, copy: np.ndarray) -> tuple[float, float, float]:
    """(psnr, ssim, input_l2) of two uint8 HxWx3 images, on the [0, 1] scale."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    x = clean.astype(np.float64) / 255.0
    y = copy.astype(np.float64) / 255.0
    l2 = float(np.sqrt(np.sum((x - y) ** 2)))
    if l2 == 0.0:
        psnr = float("inf")  # skimage divides by a zero error and warns
    else:
        psnr = float(peak_signal_noise_ratio(x, y, data_range=1.0))
    side = min(x.shape[0], x.shape[1])
    window = min(SSIM_WINDOW, side if side % 2 else side - 1)
    ssim = float(structural_similarity(x, y, data_range=1.0, channel_axis=-1, win_size=window))
    return psnr, ssim, l2


def change_frame(
    condition: Condition,
    model: str,
    image_ids: list[str],
    clean_images: list[np.ndarray],
    copy_images: list[np.ndarray],
    clean_probs: np.ndarray,
    copy_probs: np.ndarray,
) -> pd.DataFrame:
    """The changes rows of one perturbed copy, rows aligned by the caller."""
    n = len(image_ids)
    inputs = np.zeros((n, 3), dtype=np.float64)
    for i, (x, y) in enumerate(zip(clean_images, copy_images, strict=True)):
        if x.shape != y.shape:
            raise ValueError(
                f"image {image_ids[i]!r}: the {condition.perturbation} {condition.level} copy is "
                f"{y.shape}, the clean image {x.shape}"
            )
        inputs[i] = image_change(x, y)
    clean_pred = clean_probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    copy_pred = copy_probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "dataset": [condition.dataset] * n,
            "model": [model] * n,
            "perturbation": [condition.perturbation] * n,
            "level": np.full(n, condition.table_level),
            "image_id": list(image_ids),
            "psnr": inputs[:, 0],
            "ssim": inputs[:, 1],
            "input_l2": inputs[:, 2],
            "kl": kl_divergence(clean_probs, copy_probs) if n else np.zeros(0),
            "prob_clean_pred": copy_probs[np.arange(n), clean_pred].astype(np.float64),
            "flipped": (copy_pred != clean_pred).astype(bool),
        }
    )[CHANGE_COLUMNS]


def _images_by_id(path: str) -> tuple[list[str], dict[str, bytes]]:
    table = read_table(path, columns=["image_id", "image"])
    return table["image_id"].tolist(), dict(zip(table["image_id"], table["image"], strict=True))


def _probs_by_id(path: str, image_ids: list[str]) -> np.ndarray:
    ids, probs = load_probs(path)
    index = {image_id: row for row, image_id in enumerate(ids)}
    missing = [i for i in image_ids if i not in index]
    if missing:
        raise ValueError(f"{path}: no probabilities for image {missing[0]!r}")
    return probs[[index[i] for i in image_ids]]


def changes_shard(
    clean_images_path: str,
    clean_probs_path: str,
    copies: list[tuple[Condition, str, str]],
    out_path: str,
    *,
    model: str,
) -> None:
    """``copies``: (condition, images file, probs file) of every perturbed copy of the
    shard. Writes one table of ``CHANGE_COLUMNS``."""
    ids, clean_blobs = _images_by_id(clean_images_path)
    clean_images = [decode_png(clean_blobs[i]) for i in ids]
    clean_probs = _probs_by_id(clean_probs_path, ids)
    log.info("loaded: %d clean images; %d perturbed copies to compare", len(ids), len(copies))
    frames = []
    for condition, images_path, probs_path in copies:
        copy_ids, copy_blobs = _images_by_id(images_path)
        if sorted(copy_ids) != sorted(ids):
            raise ValueError(f"{images_path}: image ids differ from {clean_images_path}")
        copy_images = [decode_png(copy_blobs[i]) for i in ids]
        copy_probs = _probs_by_id(probs_path, ids)
        frames.append(
            change_frame(condition, model, ids, clean_images, copy_images, clean_probs, copy_probs)
        )
    if frames:
        out = pd.concat(frames, ignore_index=True)
    else:
        out = change_frame(
            Condition("none", "none", "0"), model, [], [], [], clean_probs[:0], clean_probs[:0]
        )
    write_table(out[CHANGE_COLUMNS], out_path)
    flipped = int(out["flipped"].sum())
    log.info(
        "wrote %s: %d copies x %d images, %d flipped", out_path, len(copies), len(ids), flipped
    )
