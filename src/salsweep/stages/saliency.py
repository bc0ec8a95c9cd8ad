"""Step 5: saliency maps for the truth and predicted classes of one shard of every level
of a sweep."""

from __future__ import annotations

import logging

import numpy as np

from salsweep.io import SaliencyMaps, read_table, save_maps
from salsweep.model_jobs import build_explainer, explain_table, load_job_classifier, log_loaded
from salsweep.progress import progress

log = logging.getLogger(__name__)

# Explaining every class is for small label sets (seed 000's CIFAR-10 all-classes grid).
MAX_ALL_CLASSES = 100


def expand_targets(target_names: list[str], n_classes: int) -> list[str]:
    """The config's targets with "all" replaced by one target per class ("class_<index>")."""
    expanded = [t for t in target_names if t != "all"]
    if "all" in target_names:
        if n_classes > MAX_ALL_CLASSES:
            raise ValueError(
                f"saliency.targets: 'all' explains every class, but the model has {n_classes} "
                f"(at most {MAX_ALL_CLASSES}); use truth and/or pred"
            )
        expanded += [f"class_{index}" for index in range(n_classes)]
    return expanded


def target_indices(predictions, target_names: list[str]) -> np.ndarray:
    """Class indices [N, T] for expanded targets: "truth" = label, "pred" = prediction,
    "class_<k>" = class k."""
    columns = []
    for target in target_names:
        if target == "truth":
            columns.append(predictions["label"].to_numpy())
        elif target == "pred":
            columns.append(predictions["pred"].to_numpy())
        elif target.startswith("class_") and target[6:].isdigit():
            columns.append(np.full(len(predictions), int(target[6:]), dtype=np.int64))
        else:
            raise ValueError(f"unknown saliency target {target!r}; allowed: truth, pred, all")
    return np.stack(columns, axis=1) if columns else np.zeros((len(predictions), 0), np.int64)


def explain_sweep(
    image_paths: list[str],
    prediction_paths: list[str],
    classes_path: str,
    out_paths: list[str],
    *,
    method: str,
    method_params: dict,
    target_names: list[str],
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
    """Explain one shard of each condition of a sweep with one loaded model: the images of
    ``image_paths[i]`` for the targets of ``prediction_paths[i]``, into ``out_paths[i]``.

    ``masker_path``: the trained masking model, for ``realtime_mask`` only; ``dataset``
    and ``model``: the config's names. Each condition gets a fresh explainer, so its maps
    are what a job of that condition alone would write. The method resolves
    ``batch_size="auto"`` and chooses inference mode or gradients itself
    (``SaliencyMethod.explain``)."""
    from salsweep.saliency import SALIENCY_METHODS

    if not len(image_paths) == len(prediction_paths) == len(out_paths):
        raise ValueError("explain_sweep: one image file, predictions file and output per level")
    table = read_table(image_paths[0])  # the first condition's inputs, before the model
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
    target_names = expand_targets(target_names, classifier.n_classes)
    method_class = SALIENCY_METHODS.get(method)
    n_images, n_levels = len(table), len(out_paths)
    log_loaded(
        f"{n_images} images x {len(target_names)} targets x {n_levels} levels, {method}",
        spec,
        classifier,
    )
    with progress(n_images * n_levels, f"explained ({method})", log) as done:
        for index, out_path in enumerate(out_paths):
            if index:
                table = read_table(image_paths[index])
            predictions = read_table(prediction_paths[index]).set_index("image_id")
            targets = target_indices(predictions.loc[table["image_id"]], target_names)
            explainer = build_explainer(
                method, method_params, seed=seed, batch_size=batch_size, masker_path=masker_path
            )
            maps, groups = explain_table(
                explainer, classifier, table, targets, on_chunk=done.update
            )
            out = SaliencyMaps(
                maps=maps,
                targets=targets.astype(np.int64).reshape(len(table), len(target_names)),
                image_ids=table["image_id"].tolist(),
                target_names=list(target_names),
                method=method,
                signed=bool(method_class.signed),
                class_names=list(classifier.class_names),
            )
            batches = {hw: explainer.batch_size_for(classifier, hw) for hw, _ in groups}
            save_maps(out, out_path)
            log.info("%s: %d images, batch %s", out_path, len(table), batches)
    # the last line: bench/overhead.py
    log.info("wrote %s: %s, %d targets", ", ".join(out_paths), method, len(target_names))
