"""classes/{dataset}_{model}_{method}_{k}.png: every class's map for one example image at
every level (seed 000's style); only for studies with ``saliency.targets: [all]``."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from salsweep.figures.panels import (
    condition_label,
    display_scaled,
    fixed_grid,
    ordered_conditions,
    saliency_colours,
)
from salsweep.figures.style import placeholder, save, set_style
from salsweep.io import decode_map, decode_png


def class_grid_figure(examples: pd.DataFrame, png: str, pdf: str, dpi: int) -> None:
    """Rows are levels, columns classes. Signed maps use a diverging colormap (red =
    evidence for the class)."""
    set_style()
    keys = examples.iloc[0]
    classes = examples[examples["target"].str.startswith("class_")]
    truth = examples[examples["target"] == "truth"]
    pred = examples[examples["target"] == "pred"]
    order = sorted(set(classes["target"]), key=lambda t: int(t[6:]))
    conditions = ordered_conditions(classes)
    colormap, norm = saliency_colours(bool(keys["signed"]))
    nrows, ncols = len(conditions), 1 + len(order)
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=(1.45, 1.6),
        pad=(1.2, 0.8),
        margins=(0.1, 1.2, 0.1, 0.8),
        spacing=(0.06, 0.3),
    )
    for r, (perturbation, level) in enumerate(conditions):
        at = (classes["perturbation"] == perturbation) & (classes["level"] == level)
        rows = classes[at]
        image = decode_png(rows.iloc[0]["image"])
        axes[r, 0].imshow(image, interpolation="none")
        axes[r, 0].set_title(condition_label(perturbation, level), fontsize=7)
        marks = {}
        for name, part in (("truth", truth), ("pred", pred)):
            hit = part[(part["perturbation"] == perturbation) & (part["level"] == level)]
            if len(hit):
                marks.setdefault(int(hit.iloc[0]["class_index"]), []).append(name)
        for c, target in enumerate(order, start=1):
            row = rows[rows["target"] == target].iloc[0]
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(colormap(norm(display_scaled(sal)))[..., :3], interpolation="none")
            note = "/".join(marks.get(int(row["class_index"]), []))
            title = str(row["class_name"])[:12] + (f"\n({note})" if note else "")
            axes[r, c].set_title(title, fontsize=7, color="black" if not note else "darkred")
    for ax in axes.flat:
        ax.set_axis_off()  # images need no axis; its ticks and spines are half the draw
    colorbar_axes = fig.add_axes((1 - 1.05 / width, 0.3, 0.12 / width, 0.4))
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=colormap), cax=colorbar_axes)
    fig.suptitle(
        f"{keys['method']} | {keys['model']} on {keys['dataset']} | {keys['image_id']}: "
        "every class",
        fontsize=10,
        y=1 - 0.25 / height,
    )
    save(fig, png, pdf, dpi)


def draw_class_grids(
    examples_path: str, grids: list, pngs: list[str], pdfs: list[str], dpi: int
) -> None:
    """One all-classes grid per (dataset, model, method, example index) in ``grids``; no
    grids (a study without ``targets: [all]``) draws nothing."""
    from salsweep.io import read_table

    if not grids:
        return
    examples = read_table(examples_path)
    for (dataset, model, method, index), png, pdf in zip(grids, pngs, pdfs, strict=True):
        part = examples[
            (examples["dataset"] == dataset)
            & (examples["model"] == model)
            & (examples["method"] == method)
        ]
        ids = list(dict.fromkeys(part["image_id"]))
        if index >= len(ids) or not part["target"].str.startswith("class_").any():
            placeholder(
                f"{dataset}/{model}/{method}: no class maps for image {index}", png, pdf, dpi
            )
            continue
        class_grid_figure(part[part["image_id"] == ids[index]], png, pdf, dpi)
