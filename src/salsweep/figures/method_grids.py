"""methods/{dataset}_{model}_{k}.png: one example image with every method's map side by
side at every level (seed 003's style)."""

from __future__ import annotations

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


def methods_figure(examples: pd.DataFrame, png: str, pdf: str, dpi: int, target: str = "truth"):
    """One column per method, rows are levels."""
    set_style()
    examples = examples[examples["target"] == target]
    keys = examples.iloc[0]
    methods = sorted(examples["method"].unique())
    conditions = ordered_conditions(examples)
    nrows, ncols = len(conditions), 1 + len(methods)
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=(1.7, 1.85),
        pad=(0.2, 0.7),
        margins=(0.1, 0.1, 0.1, 0.75),
        spacing=(0.08, 0.25),
    )
    for r, (perturbation, level) in enumerate(conditions):
        rows = examples[(examples["perturbation"] == perturbation) & (examples["level"] == level)]
        image = decode_png(rows.iloc[0]["image"])
        axes[r, 0].imshow(image, interpolation="none")
        axes[r, 0].set_title(condition_label(perturbation, level), fontsize=8)
        for c, method in enumerate(methods, start=1):
            row = rows[rows["method"] == method].iloc[0]
            colormap, norm = saliency_colours(bool(row["signed"]))
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(overlay(image, sal, colormap, norm), interpolation="none")
            if r == 0:
                axes[r, c].set_title(method, fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()  # images need no axis; its ticks and spines are half the draw
    fig.suptitle(
        f"{keys['model']} on {keys['dataset']} | {keys['image_id']}\n"
        f"{target}: {keys['class_name']}",
        fontsize=9,
        y=1 - 0.2 / height,
    )
    save(fig, png, pdf, dpi)


def draw_method_grids(
    examples_path: str, keys: list, pngs: list[str], pdfs: list[str], dpi: int
) -> None:
    """One figure per (dataset, model, example index) in ``keys``."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    for (dataset, model, index), png, pdf in zip(keys, pngs, pdfs, strict=True):
        part = examples[(examples["dataset"] == dataset) & (examples["model"] == model)]
        ids = list(dict.fromkeys(part["image_id"]))
        if index >= len(ids):
            placeholder(f"{dataset}/{model}: fewer than {index + 1} images", png, pdf, dpi)
            continue
        methods_figure(part[part["image_id"] == ids[index]], png, pdf, dpi)
