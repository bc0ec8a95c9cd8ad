"""Does saliency drift predict failure? Pure functions on the study's tables (no I/O).

- :func:`flip_levels`: per image and sweep, the first level at which the prediction flips
  (differs from the clean prediction) and the first at which it is wrong.
- :func:`failure_table`: per (dataset, model, perturbation, method, target, drift metric,
  outcome), the AUROC of the drift value for the outcome, pooled over the perturbed copies
  of every level, beside the ``confidence_drop`` and ``level`` baselines, each with a 95%
  CI from a seeded bootstrap over images, and the paired difference to confidence_drop.

A sweep's levels are ordered by their *strength*: the distance from the sweep's identity
level (the level that leaves the image unchanged; 0 where it has none), so that "the first
level" means the mildest one for a sweep whose levels grow (blur ksize) or shrink (JPEG
quality) with strength.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from salsweep.condition import CLEAN
from salsweep.io import (
    FAILURE_COLUMNS,
    FAILURE_GROUP,
    FAILURE_OUTCOMES,
    FLIP_LEVEL_COLUMNS,
    FLIP_LEVEL_KEYS,
)
from salsweep.seeding import derive_seed

BOOTSTRAP_REPLICATES = 1000
CI_PERCENTILES = (2.5, 97.5)


def drift_metrics(metric_specs: list[dict]) -> dict[str, bool]:
    """``{label: higher_is_better}`` of the specs' metrics that compare a map against the
    clean map (their registry entry requires a "reference"), labelled as metrics.parquet
    labels them."""
    from salsweep.metrics import METRIC_INFO, metric_label

    drift = {}
    for spec in metric_specs:
        info = METRIC_INFO[spec["name"]]
        if "reference" in info["requires"]:
            params = {k: v for k, v in spec.items() if k != "name"}
            drift[metric_label(spec["name"], params)] = bool(info["higher_is_better"])
    return drift


def strength(levels, identity_level: float | None) -> np.ndarray:
    """How far each level is from the sweep's identity level (0 where it has none)."""
    origin = 0.0 if identity_level is None else float(identity_level)
    return np.abs(np.asarray(levels, dtype=np.float64) - origin)


def with_clean(predictions: pd.DataFrame) -> pd.DataFrame:
    """The perturbed rows of ``predictions`` with their image's clean ``clean_pred``,
    ``clean_prob_pred`` and ``clean_correct``; raises naming an image without a clean row."""
    keys = ["dataset", "model", "image_id"]
    clean = predictions[predictions["perturbation"] == CLEAN]
    duplicated = clean.duplicated(keys)
    if duplicated.any():
        row = clean[duplicated].iloc[0]
        raise ValueError(
            f"predictions: image {row['image_id']!r} ({row['dataset']}/{row['model']}) has "
            "more than one clean row"
        )
    clean = clean[[*keys, "pred", "prob_pred", "correct"]].rename(
        columns={"pred": "clean_pred", "prob_pred": "clean_prob_pred", "correct": "clean_correct"}
    )
    perturbed = predictions[predictions["perturbation"] != CLEAN]
    merged = perturbed.merge(clean, on=keys, how="left", validate="many_to_one")
    missing = merged["clean_pred"].isna()
    if missing.any():
        row = merged[missing].iloc[0]
        raise ValueError(
            f"predictions: image {row['image_id']!r} ({row['dataset']}/{row['model']}, "
            f"{row['perturbation']}) has no clean prediction to compare with"
        )
    merged["clean_pred"] = merged["clean_pred"].astype(perturbed["pred"].dtype)
    merged["clean_correct"] = merged["clean_correct"].astype(bool)
    merged["flipped"] = merged["pred"] != merged["clean_pred"]
    merged["wrong"] = ~merged["correct"].astype(bool)
    return merged


def _first_level(group: pd.DataFrame, column: str) -> float:
    hits = group[group[column]]
    return float(hits["level"].iloc[0]) if len(hits) else np.nan


def flip_levels(
    predictions: pd.DataFrame, identity_levels: Mapping[str, float | None]
) -> pd.DataFrame:
    """One row per (dataset, model, perturbation, image) in ``FLIP_LEVEL_COLUMNS``:
    ``flip_level`` is the mildest level at which the prediction differs from the clean
    prediction, ``wrong_level`` the mildest at which it differs from the label; NaN where
    that never happens on the sweep's grid."""
    copies = with_clean(predictions)
    unknown = sorted(set(copies["perturbation"]) - set(identity_levels))
    if unknown:
        raise ValueError(f"flip levels: sweep {unknown[0]!r} has no identity level given")
    copies["strength"] = [
        float(strength(level, identity_levels[sweep]))
        for sweep, level in zip(copies["perturbation"], copies["level"], strict=True)
    ]
    copies = copies.sort_values([*FLIP_LEVEL_KEYS, "strength"], kind="stable")
    rows = []
    for key, group in copies.groupby(FLIP_LEVEL_KEYS, sort=True):
        first = group.iloc[0]
        rows.append(
            (
                *key,
                first["label"],
                first["clean_pred"],
                bool(first["clean_correct"]),
                _first_level(group, "flipped"),
                _first_level(group, "wrong"),
            )
        )
    table = pd.DataFrame(rows, columns=FLIP_LEVEL_COLUMNS)
    for column in ("flip_level", "wrong_level"):
        table[column] = table[column].astype(np.float64)
    return table


def share_flipped(flips: pd.DataFrame, levels, identity_level: float | None) -> np.ndarray:
    """For each of ``levels``: the share of ``flips``' images whose prediction has flipped
    at that level or a milder one (a survival curve, read upside down)."""
    if not len(flips):
        return np.full(len(levels), np.nan)
    flipped_at = strength(flips["flip_level"].to_numpy(dtype=np.float64), identity_level)
    flipped_at = np.where(np.isnan(flipped_at), np.inf, flipped_at)
    return np.array([np.mean(flipped_at <= s) for s in strength(levels, identity_level)])


def median_flip_level(flips: pd.DataFrame, identity_level: float | None) -> float:
    """The level by which half the images have flipped (the survival median); NaN when
    fewer than half ever flip."""
    levels = flips["flip_level"].to_numpy(dtype=np.float64)
    if not len(levels):
        return np.nan
    order = np.argsort(np.where(np.isnan(levels), np.inf, strength(levels, identity_level)))
    half = int(np.ceil(len(levels) / 2)) - 1
    return float(levels[order[half]])


# --- AUROC and its bootstrap ------------------------------------------------------------------


def weighted_auroc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC of ``scores`` [n] for ``positive`` [n] under each row of ``weights`` [B, n]
    (ties count one half), as roc_auc_score(positive, scores, sample_weight=row); NaN for
    a row without positive or without negative weight. O(B n) after one sort."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    w = weights[:, order]
    pos = positive[order].astype(bool)
    pos_w = np.add.reduceat(np.where(pos, w, 0.0), starts, axis=1)
    neg_w = np.add.reduceat(np.where(pos, 0.0, w), starts, axis=1)
    neg_below = np.cumsum(neg_w, axis=1) - neg_w
    wins = (pos_w * (neg_below + 0.5 * neg_w)).sum(axis=1)
    total = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wins / np.where(total > 0, total, 1.0), np.nan)


def bootstrap_weights(image_index: np.ndarray, n_images: int, seed: int, replicates: int):
    """[replicates, n_copies] weights: each replicate draws ``n_images`` images with
    replacement, and a copy weighs as often as its image was drawn (copies of one image
    are resampled together, never apart)."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=replicates)
    return counts[:, image_index].astype(np.float64)


def percentile_ci(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return np.nan, np.nan
    low, high = np.percentile(finite, CI_PERCENTILES)
    return float(low), float(high)


def bootstrap_aurocs(
    scores: Mapping[str, np.ndarray],
    positive: np.ndarray,
    image_ids: np.ndarray,
    seed: int,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> dict[str, np.ndarray]:
    """Each score's AUROC under the same ``replicates`` image resamples (paired), [B]."""
    codes, uniques = pd.factorize(pd.Series(image_ids), sort=True)
    weights = bootstrap_weights(codes, len(uniques), seed, replicates)
    return {name: weighted_auroc(value, positive, weights) for name, value in scores.items()}


def _auroc(positive: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def score_outcome(
    drift: np.ndarray,
    confidence_drop: np.ndarray,
    level_strength: np.ndarray,
    positive: np.ndarray,
    image_ids: np.ndarray,
    seed: int,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> dict[str, float]:
    """The numbers of one failure row (``FAILURE_COLUMNS`` less the group and the note).
    ``drift`` is already oriented (higher = more drift); NaN AUROCs where an outcome has no
    positive or no negative copy."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    row = {"n_pos": n_pos, "n_neg": n_neg}
    names = {
        "auroc": drift,
        "confidence_drop_auroc": confidence_drop,
        "level_auroc": level_strength,
    }
    if n_pos == 0 or n_neg == 0:
        for column in FAILURE_COLUMNS[FAILURE_COLUMNS.index("auroc") : -1]:
            row[column] = np.nan
        return row
    point = {name: _auroc(positive, np.asarray(s, dtype=np.float64)) for name, s in names.items()}
    boot = bootstrap_aurocs(
        {name: np.asarray(s, dtype=np.float64) for name, s in names.items()},
        positive,
        image_ids,
        seed,
        replicates,
    )
    for name, prefix in (("auroc", "auroc"), ("confidence_drop_auroc", "confidence_drop"),
                         ("level_auroc", "level")):  # fmt: skip
        row[name] = point[name]
        row[f"{prefix}_low"], row[f"{prefix}_high"] = percentile_ci(boot[name])
    row["difference"] = point["auroc"] - point["confidence_drop_auroc"]
    row["difference_low"], row["difference_high"] = percentile_ci(
        boot["auroc"] - boot["confidence_drop_auroc"]
    )
    return row


def _no_class_note(outcome: str, n_pos: int, n_neg: int) -> str:
    if n_pos + n_neg == 0:
        return "no perturbed copy with a drift value"
    if n_pos == 0:
        return f"no {outcome} copy among {n_neg}: AUROC undefined"
    if n_neg == 0:
        return f"every one of {n_pos} copies is {outcome}: AUROC undefined"
    return ""


def failure_copies(
    predictions: pd.DataFrame,
    changes: pd.DataFrame,
    identity_levels: Mapping[str, float | None],
) -> pd.DataFrame:
    """Every perturbed copy with its outcomes (``flipped``, ``wrong``) and baselines
    (``confidence_drop``, ``strength``); raises naming a copy that changes.parquet lacks."""
    copies = with_clean(predictions)
    keys = ["dataset", "model", "perturbation", "level", "image_id"]
    change = changes[[*keys, "prob_clean_pred"]]
    copies = copies.merge(change, on=keys, how="left", validate="one_to_one")
    missing = copies["prob_clean_pred"].isna()
    if missing.any():
        row = copies[missing].iloc[0]
        raise ValueError(
            f"changes: no prob_clean_pred for image {row['image_id']!r} "
            f"({row['dataset']}/{row['model']}, {row['perturbation']}={row['level']:g})"
        )
    copies["confidence_drop"] = copies["clean_prob_pred"] - copies["prob_clean_pred"]
    unknown = sorted(set(copies["perturbation"]) - set(identity_levels))
    if unknown:
        raise ValueError(f"failure: sweep {unknown[0]!r} has no identity level given")
    copies["strength"] = [
        float(strength(level, identity_levels[sweep]))
        for sweep, level in zip(copies["perturbation"], copies["level"], strict=True)
    ]
    return copies[[*keys, "flipped", "wrong", "confidence_drop", "strength"]]


def failure_table(
    copies: pd.DataFrame,
    metrics: pd.DataFrame,
    drift_metrics: Mapping[str, bool],
    seed: int,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> pd.DataFrame:
    """One row per (dataset, model, perturbation, method, target, metric, outcome) in
    ``FAILURE_COLUMNS``. ``copies`` is :func:`failure_copies`; ``drift_metrics`` maps each
    drift metric's label to its ``higher_is_better`` (a similarity such as xcorr is
    negated, so that a higher score always means more drift). The groups are the product
    of the copies' (dataset, model, perturbation), the methods and targets the metrics
    table has for that pair, the drift metrics and the outcomes: a missing combination
    gets NaN and a note, never a missing row."""
    keys = ["dataset", "model", "perturbation", "level", "image_id"]
    drift_rows = metrics[
        (metrics["perturbation"] != CLEAN) & metrics["metric"].isin(list(drift_metrics))
    ]
    by_group = dict(
        iter(drift_rows.groupby(["dataset", "model", "perturbation", "method", "target", "metric"]))
    )
    rows = []
    for (dataset, model), pair_copies in copies.groupby(["dataset", "model"], sort=True):
        pair_metrics = metrics[(metrics["dataset"] == dataset) & (metrics["model"] == model)]
        methods = sorted(pair_metrics["method"].unique())
        targets = sorted(pair_metrics["target"].unique())
        for perturbation, sweep in pair_copies.groupby("perturbation", sort=True):
            for method in methods:
                for target in targets:
                    for metric in sorted(drift_metrics):
                        values = by_group.get(
                            (dataset, model, perturbation, method, target, metric)
                        )
                        if values is None:
                            values = pd.DataFrame(columns=[*keys, "value"])
                        joined = sweep.merge(values[[*keys, "value"]], on=keys, how="inner")
                        defined = joined[np.isfinite(joined["value"].to_numpy(dtype=np.float64))]
                        left_out = len(joined) - len(defined)
                        sign = -1.0 if drift_metrics[metric] else 1.0
                        drift = sign * defined["value"].to_numpy(dtype=np.float64)
                        for outcome in FAILURE_OUTCOMES:
                            group = (dataset, model, perturbation, method, target, metric, outcome)
                            row = score_outcome(
                                drift,
                                defined["confidence_drop"].to_numpy(dtype=np.float64),
                                defined["strength"].to_numpy(dtype=np.float64),
                                defined[outcome].to_numpy(dtype=bool),
                                defined["image_id"].to_numpy(),
                                derive_seed(seed, "failure", *group),
                                replicates,
                            )
                            notes = [_no_class_note(outcome, row["n_pos"], row["n_neg"])]
                            if left_out:
                                notes.append(
                                    f"{left_out} copies with an undefined (NaN) drift left out"
                                )
                            row["note"] = "; ".join(n for n in notes if n)
                            rows.append(dict(zip(FAILURE_GROUP, group, strict=True), **row))
    table = pd.DataFrame(rows, columns=FAILURE_COLUMNS)
    for column in FAILURE_COLUMNS[FAILURE_COLUMNS.index("auroc") : -1]:
        table[column] = table[column].astype(np.float64)
    table["note"] = table["note"].astype(object)
    return table
