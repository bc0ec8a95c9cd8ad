"""flips_{dataset}_{model}.png: example images at the level just before their prediction
flips and at the flip level, with every method's truth-class and predicted-class maps
(seed 001's grid style), from the flip examples table and flip_levels.parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salsweep.figures.panels import (
    MAIN_TARGETS,
    condition_label,
    fixed_grid,
    overlay,
    saliency_colours,
)
from salsweep.figures.style import placeholder, save, set_style
from salsweep.io import decode_map, decode_png


def flip_pairs(examples: pd.DataFrame, flips: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(sweep, image id, flip level) of each example, in the table's order."""
    pairs = []
    indexed = flips.set_index(["perturbation", "image_id"])
    for image_id in dict.fromkeys(examples["image_id"]):
        sweeps = examples[
            (examples["image_id"] == image_id) & (examples["perturbation"] != "clean")
        ]["perturbation"]
        for sweep in dict.fromkeys(sweeps):
            if (sweep, image_id) in indexed.index:
                pairs.append((sweep, image_id, float(indexed.loc[(sweep, image_id), "flip_level"])))
    return pairs


def _before(examples: pd.DataFrame, sweep: str, image_id: str, level: float) -> pd.DataFrame:
    """The example's rows at the level just before its flip: the sweep's milder level
    (its other level) or, for a flip at the mildest level, the clean image."""
    rows = examples[examples["image_id"] == image_id]
    milder = rows[(rows["perturbation"] == sweep) & (rows["level"] != level)]
    return milder if len(milder) else rows[rows["perturbation"] == "clean"]


def flips_figure(examples: pd.DataFrame, flips: pd.DataFrame, png: str, pdf: str, dpi: int):
    """Two rows per example (before, at the flip); columns: the image, then per method its
    truth-class and predicted-class maps."""
    set_style()
    pairs = flip_pairs(examples, flips)
    methods = sorted(examples["method"].unique())
    targets = [t for t in MAIN_TARGETS if t in set(examples["target"])]
    ncols = 1 + len(methods) * len(targets)
    fig, axes, (width, height) = fixed_grid(
        2 * len(pairs),
        ncols,
        cell=(1.75, 1.95),
        pad=(0.2, 0.8),
        margins=(0.1, 0.1, 0.1, 0.8),
        spacing=(0.08, 0.3),
    )
    for k, (sweep, image_id, level) in enumerate(pairs):
        at = examples[
            (examples["image_id"] == image_id)
            & (examples["perturbation"] == sweep)
            & (examples["level"] == level)
        ]
        for r, (rows, when) in enumerate(
            ((_before(examples, sweep, image_id, level), "before"), (at, "flipped"))
        ):
            ax_row = axes[2 * k + r]
            first = rows.iloc[0]
            image = decode_png(first["image"])
            ax_row[0].imshow(image, interpolation="none")
            label = condition_label(first["perturbation"], first["level"])
            ax_row[0].set_title(f"{image_id}\n{label} ({when})", fontsize=7)
            c = 1
            for method in methods:
                for target in targets:
                    match = rows[(rows["method"] == method) & (rows["target"] == target)]
                    if len(match):
                        row = match.iloc[0]
                        colormap, norm = saliency_colours(bool(row["signed"]))
                        sal = decode_map(row).astype(np.float32)
                        ax_row[c].imshow(overlay(image, sal, colormap, norm), interpolation="none")
                        ax_row[c].set_title(
                            f"{method[:16]}\n{target}: {row['class_name'][:14]}", fontsize=7
                        )
                    c += 1
    for ax in axes.flat:
        ax.set_axis_off()
    keys = examples.iloc[0]
    fig.suptitle(
        f"{keys['model']} on {keys['dataset']}: the level before each flip and the flip",
        fontsize=9,
        y=1 - 0.2 / height,
    )
    save(fig, png, pdf, dpi)


def draw_flips(
    examples_path: str,
    flip_levels_path: str,
    pairs: list,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One figure per (dataset, model) of ``pairs``; a page that says so where no example
    image flips."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    flips = read_table(flip_levels_path)
    for (dataset, model), png, pdf in zip(pairs, pngs, pdfs, strict=True):
        mine = examples[(examples["dataset"] == dataset) & (examples["model"] == model)]
        flipped = flips[(flips["dataset"] == dataset) & (flips["model"] == model)]
        if mine.empty:
            placeholder(f"{model} on {dataset}: no prediction flips on any sweep", png, pdf, dpi)
            continue
        flips_figure(mine, flipped, png, pdf, dpi)
