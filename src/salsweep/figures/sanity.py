"""sanity_{dataset}_{model}.png: the sanity check at a glance. One row per method: the
example image, its clean map, and its map under each noise floor (random_logit,
randomised_head, randomised_all), the floor's mean XCorr with the clean map (over all
images, summary.csv's ``floor:<floor>`` rows, 95% CI) in each title."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from salsweep.figures.panels import (
    CLEAN,
    FLOOR_PREFIX,
    fixed_grid,
    floor_order,
    overlay,
    saliency_colours,
)
from salsweep.figures.style import placeholder, save, set_style

CELL = (2.15, 2.15)
TRUTH = "truth"


def shown_target(table: pd.DataFrame) -> str:
    """The truth-class maps where there are some, else the first target."""
    targets = list(dict.fromkeys(table["target"]))
    return TRUTH if TRUTH in targets else targets[0]


def floor_title(floor: str, row: pd.Series | None) -> str:
    if row is None:
        return f"{floor}\nXCorr: no floor rows"
    return f"{floor}\nmean XCorr {row['mean']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def sanity_figure(
    examples: pd.DataFrame, summary: pd.DataFrame, png: str, pdf: str, dpi: int
) -> None:
    """``examples``: one (dataset, model)'s rows of the sanity examples table."""
    from salsweep.io import decode_map, decode_png

    set_style()
    if examples.empty:
        placeholder("no sanity examples (no floor maps)", png, pdf, dpi)
        return
    dataset, model = examples["dataset"].iloc[0], examples["model"].iloc[0]
    target = shown_target(examples)
    table = examples[examples["target"] == target]
    methods = sorted(table["method"].unique())
    floors = floor_order(
        p[len(FLOOR_PREFIX) :] for p in table["perturbation"] if p.startswith(FLOOR_PREFIX)
    )
    xcorr = summary[
        (summary["dataset"] == dataset)
        & (summary["model"] == model)
        & (summary["metric"] == "xcorr")
        & (summary["target"] == target)
    ]
    ncols = 2 + len(floors)
    fig, axes, (width, height) = fixed_grid(
        len(methods),
        ncols,
        cell=CELL,
        pad=(1.0, 1.0),
        margins=(0.75, 0.25, 0.1, 0.9),
        spacing=(0.08, 0.45),
    )
    for r, method in enumerate(methods):
        rows = table[table["method"] == method].set_index("perturbation")
        clean = rows.loc[CLEAN]
        image = decode_png(clean["image"])
        colormap, norm = saliency_colours(bool(clean["signed"]))
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(f"image {clean['image_id']}\n{target}: {clean['class_name']}")
        axes[r, 0].set_ylabel(method, fontsize=9)
        axes[r, 1].imshow(overlay(image, np.asarray(decode_map(clean), np.float32), colormap, norm))
        axes[r, 1].set_title("clean map\n(trained model)")
        means = {
            p[len(FLOOR_PREFIX) :]: row
            for p, row in xcorr[xcorr["method"] == method].set_index("perturbation").iterrows()
            if p.startswith(FLOOR_PREFIX)
        }
        for c, floor in enumerate(floors, start=2):
            ax = axes[r, c]
            key = FLOOR_PREFIX + floor
            if key in rows.index:
                sal = np.asarray(decode_map(rows.loc[key]), np.float32)
                ax.imshow(overlay(image, sal, colormap, norm))
            ax.set_title(floor_title(floor, means.get(floor)))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.title.set_fontsize(7.5)
    fig.suptitle(
        f"{model} on {dataset}: sanity check, {target}-class maps of one image; "
        "XCorr with the clean map over all images",
        y=1 - 0.12 / height,
        fontsize=9.5 if width > 7 else 8,
        wrap=True,
    )
    save(fig, png, pdf, dpi)


def draw_sanity(
    example_paths: list[str],
    summary_path: str,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One figure per sanity examples table (one per (dataset, model)), in the order of pngs."""
    from salsweep.io import read_summary, read_table

    summary = read_summary(summary_path)
    for path, png, pdf in zip(example_paths, pngs, pdfs, strict=True):
        sanity_figure(read_table(path), summary, png, pdf, dpi)
    plt.close("all")
