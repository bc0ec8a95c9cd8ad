"""Step 6: score the maps of one shard of every level of a sweep (entropy, drift from the
clean map, mask agreement)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salsweep.condition import Condition
from salsweep.io import (
    METRIC_COLUMNS,
    SaliencyMaps,
    decode_png,
    empty_table,
    load_maps,
    load_probs,
    metric_frame,
    read_table,
    stack_images,
    write_table,
)

log = logging.getLogger(__name__)


def ground_truth_masks(
    table: pd.DataFrame, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a mask, and those masks as booleans [n_with_mask, H, W]."""
    has_mask = table["mask"].notna().to_numpy(dtype=bool)
    if not has_mask.any():
        return has_mask, np.zeros((0, *shape), dtype=bool)
    masks = np.stack([decode_png(blob) > 0 for blob in table["mask"][has_mask]])
    if masks.shape[1:] != shape:
        raise ValueError(f"masks are {masks.shape[1:]}, maps are {shape}")
    return has_mask, masks


def shard_images(table: pd.DataFrame) -> np.ndarray:
    """The table's images as one [N, H, W, C] uint8 array (a gray image gets C = 1)."""
    images = stack_images([decode_png(blob) for blob in table["image"]])
    return images[..., None] if images.ndim == 3 else images


def aligned_probs(path: str, image_ids: list[str]) -> np.ndarray:
    """The softmax vectors of ``path`` (salsweep.io.load_probs), checked to be in
    ``image_ids`` order."""
    ids, probs = load_probs(path)
    if ids != image_ids:
        raise ValueError(f"{path}: image ids differ from the maps' ids")
    return probs


def condition_context(
    table: pd.DataFrame,
    image_ids: list[str],
    needs: set[str],
    *,
    clean_images_path: str | None,
    probs_path: str | None,
    clean_probs_path: str | None,
):
    """The MetricContext of a shard (without pred maps): the copy and the clean images
    where a listed metric needs "images", the two softmax files where one needs "probs"."""
    from salsweep.metrics import MetricContext

    fields = {}
    if "images" in needs and clean_images_path is not None:
        clean = read_table(clean_images_path)
        if clean["image_id"].tolist() != image_ids:
            raise ValueError(f"{clean_images_path}: image ids differ from the maps' ids")
        fields["images"], fields["clean_images"] = shard_images(table), shard_images(clean)
    if "probs" in needs and probs_path is not None and clean_probs_path is not None:
        fields["probs"] = aligned_probs(probs_path, image_ids)
        fields["clean_probs"] = aligned_probs(clean_probs_path, image_ids)
    return MetricContext(**fields)


def copy_transform(
    perturbation_spec: dict | None, level: str | None, shape: tuple[int, int]
) -> np.ndarray | None:
    """The sweep's 2x3 affine (clean pixel coordinates -> the copy's) for images of
    ``shape``, from its kind (Perturbation.affine); None where the copy is in the clean
    frame (no spec: the clean reference, or a kind without a transform)."""
    if perturbation_spec is None or perturbation_spec["kind"] is None or level is None:
        return None
    from salsweep.condition import parse_level
    from salsweep.perturbations import PERTURBATIONS, Perturbation

    kind = PERTURBATIONS.get(perturbation_spec["kind"])
    params = perturbation_spec.get("params", {})
    if kind.affine is Perturbation.affine:
        # No transform: the copy is in the clean frame. Not built, so an nrtk sweep's
        # metrics job does not import NRTK (2-4 s) to learn it.
        return None
    if kind.unknown_frame_reason(params) is not None:
        return None  # Study.check refused frame-comparing metrics on this sweep
    return kind(parse_level(level), **params).affine(*shape)


def to_clean_frame(result, context, matrix: np.ndarray):
    """The copy's maps (and images, where the context has them) warped back into the clean
    frame, and the context with the validity mask (salsweep.frames)."""
    from dataclasses import replace

    from salsweep.frames import maps_to_clean_frame, valid_pixels

    shape = result.maps.shape[2:]
    valid = valid_pixels(matrix, shape)
    maps = np.stack(
        [maps_to_clean_frame(result.maps[:, t], matrix) for t in range(result.maps.shape[1])],
        axis=1,
    )
    fields = {"valid": valid}
    if context.images is not None:
        fields["images"] = maps_to_clean_frame(context.images, matrix)
    return maps, replace(context, **fields)


def score_sweep(
    maps_paths: list[str],
    image_paths: list[str],
    out_path: str,
    *,
    conditions: list[Condition],
    reference_path: str | None,
    metric_specs: list[dict],
    model: str,
    method: str,
    clean_images_path: str | None = None,
    probs_paths: list[str] | None = None,
    clean_probs_path: str | None = None,
    perturbation_spec: dict | None = None,
) -> None:
    """Score one shard of every level of a sweep (``maps_paths[i]`` explains the images of
    ``image_paths[i]``, the copy of ``conditions[i]``) into one table at ``out_path``: a
    job per sweep pays its start-up once, not once per level.

    ``reference_path``: the clean maps (None for the clean reference itself);
    ``clean_images_path``, ``probs_paths``, ``clean_probs_path``: the clean shard's images
    and the classify softmax files, for the metrics that need them (ris, ros, lipschitz);
    None where the rule does not give them (then those metrics are skipped).

    ``perturbation_spec`` (kind and params): the sweep's. Where its kind moves pixels by a
    known transform (rotation, translation, scale), the metrics that compare with the clean
    map (drift, stability) see the copy's maps warped back into the clean frame, over the
    valid pixels only; the mask metrics see the ground-truth masks moved forward into the
    copy's frame; the others (entropy, truth-vs-pred) see the copy's own maps."""
    if not len(maps_paths) == len(image_paths) == len(conditions):
        raise ValueError("score_sweep: one maps file and one image file per level")
    reference = load_maps(reference_path) if reference_path is not None else None
    frames = []
    for index, condition in enumerate(conditions):
        result = load_maps(maps_paths[index])
        table = read_table(image_paths[index])
        if table["image_id"].tolist() != result.image_ids:
            raise ValueError(f"{maps_paths[index]}: image ids differ from {image_paths[index]}")
        if reference is not None and reference.image_ids != result.image_ids:
            raise ValueError(f"{maps_paths[index]}: image ids differ from the clean maps")
        if index == 0:
            # The first log line (bench/overhead.py): inputs read, the metrics' code loaded.
            log.info(
                "loaded: %d images x %d targets x %d levels%s",
                len(result.image_ids),
                len(result.target_names),
                len(conditions),
                " and their clean maps" if reference is not None else "",
            )
        frames.append(
            score_condition(
                result,
                table,
                reference,
                metric_specs=metric_specs,
                condition=condition,
                model=model,
                method=method,
                clean_images_path=clean_images_path,
                probs_path=probs_paths[index] if probs_paths is not None else None,
                clean_probs_path=clean_probs_path,
                perturbation_spec=perturbation_spec,
            )
        )
    frames = [frame for frame in frames if len(frame)]
    out = pd.concat(frames, ignore_index=True) if frames else empty_table(METRIC_COLUMNS)
    write_table(out[METRIC_COLUMNS], out_path)
    undefined = int(out["value"].isna().sum())
    log.info(
        "wrote %s: %d values (%d undefined by definition, kept as NaN)",
        out_path,
        len(out),
        undefined,
    )


def score_condition(
    result: SaliencyMaps,
    table: pd.DataFrame,
    reference: SaliencyMaps | None,
    *,
    metric_specs: list[dict],
    condition: Condition,
    model: str,
    method: str,
    clean_images_path: str | None,
    probs_path: str | None,
    clean_probs_path: str | None,
    perturbation_spec: dict | None,
) -> pd.DataFrame:
    """The metric rows of one condition's maps (see :func:`score_sweep`)."""
    from dataclasses import replace

    from salsweep.metrics import METRIC_INFO, score_maps

    n = len(result.image_ids)
    needs = {r for s in metric_specs for r in METRIC_INFO[s["name"]]["requires"]}
    context = condition_context(
        table,
        result.image_ids,
        needs,
        clean_images_path=clean_images_path,
        probs_path=probs_path,
        clean_probs_path=clean_probs_path,
    )
    # truth-vs-pred metrics: the truth row is scored against the pred map of the same image
    pred_index = result.target_names.index("pred") if "pred" in result.target_names else None

    # Mask metrics are scored for the images that have a mask (a photo without a box gets
    # none, not NaN); every other metric for every image.
    has_mask, masks = ground_truth_masks(table, result.maps.shape[2:])
    matrix = copy_transform(perturbation_spec, condition.level, result.maps.shape[2:])
    frame_maps, frame_context = result.maps, context
    if matrix is not None:
        from salsweep.frames import masks_to_copy_frame

        masks = masks_to_copy_frame(masks, matrix)
        frame_maps, frame_context = to_clean_frame(result, context, matrix)
    # Only a geometric sweep scores the frame-comparing metrics apart (after the others:
    # every other sweep keeps the config's metric order, as before).
    needs_reference = []
    if matrix is not None:
        needs_reference = [
            s for s in metric_specs if "reference" in METRIC_INFO[s["name"]]["requires"]
        ]
    needs_mask = [s for s in metric_specs if "mask" in METRIC_INFO[s["name"]]["requires"]]
    other = [s for s in metric_specs if s not in needs_mask and s not in needs_reference]
    ids = np.asarray(result.image_ids, dtype=object)
    frames = []
    for t, target in enumerate(result.target_names):
        ref = reference.maps[:, t] if reference is not None else None
        target_context = context
        if target == "truth" and pred_index is not None:
            target_context = replace(context, pred_maps=result.maps[:, pred_index])
        scores = (
            [
                (label, ids, v)
                for label, v in score_maps(
                    other, result.maps[:, t], ref, context=target_context
                ).items()
            ]
            if n
            else []
        )
        if needs_reference and ref is not None and n:
            compared = score_maps(needs_reference, frame_maps[:, t], ref, context=frame_context)
            scores += [(label, ids, v) for label, v in compared.items()]
        if needs_mask and has_mask.any():
            masked = score_maps(needs_mask, result.maps[has_mask, t], None, masks)
            scores += [(label, ids[has_mask], v) for label, v in masked.items()]
        for label, image_ids, values in scores:
            frames.append(
                metric_frame(
                    condition,
                    model=model,
                    method=method,
                    target=target,
                    image_ids=image_ids,
                    metric=label,
                    values=values,
                )
            )
    if not frames:
        return empty_table(METRIC_COLUMNS)
    return pd.concat(frames, ignore_index=True)[METRIC_COLUMNS]
