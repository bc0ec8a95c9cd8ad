"""Figures drawn from the result tables alone, in one style: seaborn paper context,
PNG at the configured dpi plus a vector PDF (with no creation date, so reruns match)."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from salsweep.io import atomic_path, decode_png  # noqa: E402
from salsweep.stages.aggregate import wilson_interval  # noqa: E402
from salsweep.stages.examples import decode_map  # noqa: E402

log = logging.getLogger(__name__)

CLEAN = "clean"
SEED = 0  # seaborn's bootstrap CIs are random; fix them so figures are reproducible


def set_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update({"figure.max_open_warning": 0, "savefig.bbox": "tight"})


def save(fig: plt.Figure, png: str, pdf: str, dpi: int) -> None:
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None})
    plt.close(fig)


def with_clean_reference(table: pd.DataFrame, identity_levels: dict[str, float]) -> pd.DataFrame:
    """Copy the clean rows into each sweep at that sweep's identity level (the x of 'no change')."""
    clean = table[table["perturbation"] == CLEAN]
    parts = [table[table["perturbation"] != CLEAN]]
    for perturbation, level in identity_levels.items():
        parts.append(clean.assign(perturbation=perturbation, level=float(level)))
    return pd.concat(parts, ignore_index=True)


def accuracy_figure(
    predictions: pd.DataFrame, identity_levels: dict[str, float], png: str, pdf: str, dpi: int
) -> None:
    """Item-response curves: one facet per perturbation, one line per dataset/model pair."""
    set_style()
    table = with_clean_reference(predictions, identity_levels)
    rows = []
    for (perturbation, dataset, model, level), group in table.groupby(
        ["perturbation", "dataset", "model", "level"], sort=True
    ):
        n, k = len(group), int(group["correct"].sum())
        low, high = wilson_interval(k, n)
        rows.append((perturbation, f"{model} on {dataset}", level, k / n, low, high, n))
    curve = pd.DataFrame(
        rows, columns=["perturbation", "pair", "level", "accuracy", "low", "high", "n"]
    )
    perturbations = list(identity_levels)
    ncols = min(3, max(1, len(perturbations)))
    nrows = int(np.ceil(len(perturbations) / ncols)) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    palette = dict(zip(sorted(curve["pair"].unique()), sns.color_palette(n_colors=8), strict=False))
    for ax, perturbation in zip(axes.flat, perturbations, strict=False):
        part = curve[curve["perturbation"] == perturbation]
        for pair, line in part.groupby("pair", sort=True):
            line = line.sort_values("level")
            ax.plot(line["level"], line["accuracy"], marker="o", label=pair, color=palette[pair])
            ax.fill_between(
                line["level"], line["low"], line["high"], alpha=0.2, color=palette[pair]
            )
        ax.axvline(identity_levels[perturbation], color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(perturbation)
        ax.set_xlabel("level")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
    for ax in list(axes.flat)[len(perturbations) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=min(4, len(labels)),
            bbox_to_anchor=(0.5, -0.06),
            frameon=False,
        )
    fig.suptitle("Accuracy against perturbation level (clean at dashed line; 95% Wilson CI)")
    fig.tight_layout()
    save(fig, png, pdf, dpi)


def metrics_figure(
    metrics: pd.DataFrame,
    dataset: str,
    model: str,
    identity_levels: dict[str, float],
    png: str,
    pdf: str,
    dpi: int,
) -> None:
    """Facets method x metric, x = level (one line style per perturbation), hue = target."""
    set_style()
    table = metrics[(metrics["dataset"] == dataset) & (metrics["model"] == model)]
    table = with_clean_reference(table, identity_levels)
    table = table[np.isfinite(table["value"])]
    if table.empty:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, f"no finite metric values for {model} on {dataset}", ha="center")
        ax.set_axis_off()
        save(fig, png, pdf, dpi)
        return
    table = table.assign(series=table["perturbation"] + " / " + table["target"])
    grid = sns.relplot(
        data=table,
        x="level",
        y="value",
        row="method",
        col="metric",
        hue="target",
        style="perturbation",
        kind="line",
        errorbar=("ci", 95),
        seed=SEED,
        n_boot=500,
        markers=True,
        dashes=True,
        facet_kws={"sharey": False, "sharex": False},
        height=2.6,
        aspect=1.2,
    )
    grid.set_titles("{row_name} | {col_name}")
    grid.figure.suptitle(f"Map metrics against level: {model} on {dataset} (mean, 95% CI)", y=1.02)
    save(grid.figure, png, pdf, dpi)


def grid_figure(examples: pd.DataFrame, predictions: pd.DataFrame, png: str, pdf: str, dpi: int):
    """Seed 001's style: rows are levels; columns: image, truth-class map, predicted-class map."""
    set_style()
    keys = examples.iloc[0]
    image_id = keys["image_id"]
    preds = predictions[
        (predictions["dataset"] == keys["dataset"])
        & (predictions["model"] == keys["model"])
        & (predictions["image_id"] == image_id)
    ].set_index(["perturbation", "level"])
    conditions = (
        examples[["perturbation", "level"]]
        .drop_duplicates()
        .assign(_clean=lambda d: d["perturbation"] != CLEAN)
        .sort_values(["_clean", "perturbation", "level"])
    )
    targets = list(dict.fromkeys(examples["target"]))
    signed = bool(keys["signed"])
    cmap, vmin = ("RdBu_r", -1.0) if signed else ("inferno", 0.0)
    ncols = 1 + len(targets)
    nrows = len(conditions)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.3 * nrows), squeeze=False)
    for r, (perturbation, level) in enumerate(
        conditions[["perturbation", "level"]].itertuples(index=False)
    ):
        rows = examples[(examples["perturbation"] == perturbation) & (examples["level"] == level)]
        image = decode_png(rows.iloc[0]["image"])
        pred = preds.loc[(perturbation, level)] if (perturbation, level) in preds.index else None
        label = "clean" if perturbation == CLEAN else f"{perturbation}={level:g}"
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(label, fontsize=8)
        for c, target in enumerate(targets, start=1):
            row = rows[rows["target"] == target].iloc[0]
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(image, alpha=1.0)
            shown = axes[r, c].imshow(sal, cmap=cmap, vmin=vmin, vmax=1.0, alpha=0.6)
            prob = ""
            if pred is not None:
                column = "prob_label" if target == "truth" else "prob_pred"
                prob = f" p={float(pred[column]):.2f}"
            axes[r, c].set_title(f"{target}: {row['class_name'][:18]}{prob}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=axes[:, 1:].ravel().tolist(), shrink=0.5, label="saliency")
    fig.suptitle(
        f"{keys['method']} | {keys['model']} on {keys['dataset']} | {image_id}", fontsize=10
    )
    save(fig, png, pdf, dpi)


def draw_accuracy(predictions_path: str, identity_levels: dict, png: str, pdf: str, dpi: int):
    from salsweep.io import read_table

    accuracy_figure(read_table(predictions_path), identity_levels, png, pdf, dpi)


def draw_metrics(
    metrics_path: str,
    pairs: list,
    identity_levels: dict,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    from salsweep.io import read_table

    metrics = read_table(metrics_path)
    for (dataset, model), png, pdf in zip(pairs, pngs, pdfs, strict=True):
        metrics_figure(metrics, dataset, model, identity_levels, png, pdf, dpi)


def draw_grids(
    examples_path: str,
    predictions_path: str,
    n_examples: int,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One grid per (dataset, model, method, example index); an index past the dataset's
    size gets a page that says so, so the set of files is fixed by the config."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    predictions = read_table(predictions_path)
    groups = {
        key: group for key, group in examples.groupby(["dataset", "model", "method"], sort=False)
    }
    for png, pdf in zip(pngs, pdfs, strict=True):
        stem = png.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        key, index = _grid_key(stem, groups)
        group = groups.get(key)
        ids = list(dict.fromkeys(group["image_id"])) if group is not None else []
        if index >= len(ids):
            set_style()
            fig, ax = plt.subplots(figsize=(4, 1.5))
            ax.text(0.5, 0.5, f"{stem}: fewer than {index + 1} images", ha="center")
            ax.set_axis_off()
            save(fig, png, pdf, dpi)
            continue
        grid_figure(group[group["image_id"] == ids[index]], predictions, png, pdf, dpi)


def _grid_key(stem: str, groups: dict) -> tuple[tuple[str, str, str], int]:
    prefix, index = stem.rsplit("_", 1)
    for key in groups:
        if "_".join(key) == prefix:
            return key, int(index)
    return (prefix, "", ""), int(index)
