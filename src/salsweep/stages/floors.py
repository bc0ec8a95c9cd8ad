"""Step 5b: noise floors and the sanity check of one (dataset, model, method, shard).

On the clean images, maps that *should* differ from the clean map, scored against it with
every drift metric of the study (a metric that needs a reference map):

- ``random_logit``: the map of a random other class, per image and target drawn uniformly
  from the classes other than the target's class, with a generator seeded by
  ``derive_seed(study seed, "random_logit", dataset, image id)`` (Quantus' Random Logit).
- ``randomised_head``: the same targets explained by the model with its classification
  layer re-initialised (:func:`salsweep.models.randomise.randomise_weights`, seed
  ``derive_seed(study seed, "floor", floor, model)``).
- ``randomised_all``: the same with every weight re-initialised (Adebayo et al.'s
  cascading randomisation taken to the end; Quantus' Model Parameter Randomisation).

The method's own seed is the one the clean maps used, so a floor measures the change of
class or weights, not new random masks. ``realtime_mask`` keeps the masker trained on the
trained model; on a randomised model it reads the randomised model's features, so its
randomised floors test whether its map depends on the classifier's weights at all (the
masker is not retrained for the randomised model).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salsweep.io import (
    FLOOR_COLUMNS,
    FLOOR_NAMES,
    SaliencyMaps,
    empty_table,
    load_maps,
    read_table,
    save_maps,
    write_table,
)
from salsweep.model_jobs import build_explainer, explain_table, load_job_classifier, log_loaded
from salsweep.progress import progress
from salsweep.seeding import derive_seed

log = logging.getLogger(__name__)

RANDOMISE_SCOPE = {"randomised_head": "head", "randomised_all": "all"}


def random_logit_targets(
    targets: np.ndarray, image_ids: list[str], n_classes: int, *, seed: int, dataset: str
) -> np.ndarray:
    """Per image and target a class other than ``targets[i, t]``, uniformly; the draw
    depends only on (study seed, dataset, image id), never on the shard or the model."""
    if n_classes < 2:
        raise ValueError(f"random_logit needs >= 2 classes, the model has {n_classes}")
    out = np.empty_like(targets, dtype=np.int64)
    for i, image_id in enumerate(image_ids):
        rng = np.random.default_rng(derive_seed(seed, "random_logit", dataset, image_id))
        draws = rng.integers(0, n_classes - 1, size=targets.shape[1])
        out[i] = draws + (draws >= targets[i])  # skip the target's own class
    return out


def floor_seed(seed: int, floor: str, model: str) -> int:
    return derive_seed(seed, "floor", floor, model)


def floor_frame(
    floor_maps: SaliencyMaps,
    clean: SaliencyMaps,
    *,
    floor: str,
    dataset: str,
    model: str,
    metric_specs: list[dict],
) -> pd.DataFrame:
    """Rows of ``FLOOR_COLUMNS``: each drift metric of each target's floor map vs its clean map."""
    from salsweep.metrics import drift_metric_specs, score_maps

    frames = []
    ids = list(clean.image_ids)
    for t, target in enumerate(clean.target_names):
        if not ids:
            break
        scores = score_maps(
            drift_metric_specs(metric_specs), floor_maps.maps[:, t], clean.maps[:, t]
        )
        for label, values in scores.items():
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": dataset,
                        "model": model,
                        "method": clean.method,
                        "target": target,
                        "floor": floor,
                        "image_id": ids,
                        "metric": label,
                        "value": np.asarray(values, dtype=np.float64),
                    }
                )[FLOOR_COLUMNS]
            )
    return pd.concat(frames, ignore_index=True) if frames else empty_table(FLOOR_COLUMNS)


def floors_shard(
    images_path: str,
    classes_path: str,
    reference_path: str,
    out_maps: dict[str, str],
    out_metrics: str,
    *,
    method: str,
    method_params: dict,
    metric_specs: list[dict],
    spec: dict,
    device: str,
    weights_path: str | None,
    batch_size: int | str,
    seed: int,
    deterministic: bool,
    threads: int = 1,
    masker_path: str | None = None,
    dataset: str,
    model: str,
) -> None:
    """Write each floor of ``out_maps`` (floor name -> maps file) and the floors table.

    The model is loaded once; floors run in the order of ``FLOOR_NAMES`` (the randomised
    ones last, as they change the model in place)."""
    from salsweep.models.randomise import randomise_weights

    unknown = sorted(set(out_maps) - set(FLOOR_NAMES))
    if unknown:
        raise ValueError(f"floors: unknown floor {unknown[0]!r}; allowed: {list(FLOOR_NAMES)}")
    table = read_table(images_path)
    clean = load_maps(reference_path)
    if clean.image_ids != table["image_id"].tolist():
        raise ValueError(f"{reference_path}: image ids differ from {images_path}")
    classifier, _ = load_job_classifier(
        spec,
        classes_path,
        device,
        weights_path,
        deterministic,
        threads,
        dataset=dataset,
        model=model,
    )
    explainer = build_explainer(
        method, method_params, seed=seed, batch_size=batch_size, masker_path=masker_path
    )
    floors = [f for f in FLOOR_NAMES if f in out_maps]
    log_loaded(f"{len(table)} images, {method}, floors {', '.join(floors)}", spec, classifier)
    frames = []
    for floor in floors:
        if floor == "random_logit":
            targets = random_logit_targets(
                clean.targets, clean.image_ids, classifier.n_classes, seed=seed, dataset=dataset
            )
        else:
            targets = clean.targets
            randomise_weights(classifier, RANDOMISE_SCOPE[floor], floor_seed(seed, floor, model))
        with progress(len(table), f"explained ({method}, {floor})", log) as done:
            maps, _ = explain_table(explainer, classifier, table, targets, on_chunk=done.update)
        if len(table) == 0:
            maps = np.zeros((0, *clean.maps.shape[1:]), dtype=np.float32)
        result = SaliencyMaps(
            maps=maps,
            targets=targets.astype(np.int64),
            image_ids=list(clean.image_ids),
            target_names=list(clean.target_names),
            method=method,
            signed=clean.signed,
            class_names=list(classifier.class_names),
        )
        save_maps(result, out_maps[floor])
        frames.append(
            floor_frame(
                result, clean, floor=floor, dataset=dataset, model=model, metric_specs=metric_specs
            )
        )
    frames = [f for f in frames if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else empty_table(FLOOR_COLUMNS)
    write_table(out[FLOOR_COLUMNS], out_metrics)
    log.info(
        "wrote %s: %s, %d floors x %d images, %d values",
        out_metrics,
        method,
        len(out_maps),
        len(table),
        len(out),
    )
