"""grids/{dataset}_{model}_{method}_{k}.png: one example image of one method at every level,
with its truth-class and predicted-class maps (seed 001's style)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from salsweep.figures.panels import (
    condition_label,
    fixed_grid,
    ordered_conditions,
    overlay,
    saliency_colours,
)
from salsweep.figures.style import placeholder, save, set_style
from salsweep.io import decode_map, decode_png


def grid_figure(examples: pd.DataFrame, predictions: pd.DataFrame, png: str, pdf: str, dpi: int):
    """Rows are levels; columns: image, truth-class map, predicted-class map."""
    set_style()
    keys = examples.iloc[0]
    image_id = keys["image_id"]
    preds = predictions[
        (predictions["dataset"] == keys["dataset"])
        & (predictions["model"] == keys["model"])
        & (predictions["image_id"] == image_id)
    ].set_index(["perturbation", "level"])
    conditions = ordered_conditions(examples)
    targets = [t for t in ("truth", "pred") if t in set(examples["target"])]
    colormap, norm = saliency_colours(bool(keys["signed"]))
    ncols = 1 + len(targets)
    nrows = len(conditions)
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=(1.9, 2.05),
        pad=(1.2, 0.7),
        margins=(0.1, 1.2, 0.1, 0.75),
        spacing=(0.08, 0.22),
    )
    for r, (perturbation, level) in enumerate(conditions):
        rows = examples[(examples["perturbation"] == perturbation) & (examples["level"] == level)]
        image = decode_png(rows.iloc[0]["image"])
        pred = preds.loc[(perturbation, level)] if (perturbation, level) in preds.index else None
        axes[r, 0].imshow(image, interpolation="none")
        axes[r, 0].set_title(condition_label(perturbation, level), fontsize=8)
        for c, target in enumerate(targets, start=1):
            row = rows[rows["target"] == target].iloc[0]
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(overlay(image, sal, colormap, norm), interpolation="none")
            prob = ""
            if pred is not None:
                column = "prob_label" if target == "truth" else "prob_pred"
                prob = f" p={float(pred[column]):.2f}"
            axes[r, c].set_title(f"{target}: {row['class_name'][:18]}{prob}", fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()  # images need no axis; its ticks and spines are half the draw
    colorbar_axes = fig.add_axes((1 - 1.05 / width, 0.3, 0.12 / width, 0.4))
    fig.colorbar(
        matplotlib.cm.ScalarMappable(norm=norm, cmap=colormap),
        cax=colorbar_axes,
        label="saliency",
    )
    fig.suptitle(
        f"{keys['method']} | {keys['model']} on {keys['dataset']} | {image_id}",
        fontsize=10,
        y=1 - 0.2 / height,
    )
    save(fig, png, pdf, dpi)


def draw_grids(
    examples_path: str,
    predictions_path: str,
    grids: list,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One grid per (dataset, model, method, example index) in ``grids``, in the order of
    pngs; an index past the dataset's size gets a page that says so, so the set of files is
    fixed by the config."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    predictions = read_table(predictions_path)
    groups = dict(iter(examples.groupby(["dataset", "model", "method"], sort=False)))
    for (dataset, model, method, index), png, pdf in zip(grids, pngs, pdfs, strict=True):
        group = groups.get((dataset, model, method))
        ids = list(dict.fromkeys(group["image_id"])) if group is not None else []
        if index >= len(ids):
            placeholder(f"{dataset}/{model}/{method}: fewer than {index + 1} images", png, pdf, dpi)
            continue
        grid_figure(group[group["image_id"] == ids[index]], predictions, png, pdf, dpi)
