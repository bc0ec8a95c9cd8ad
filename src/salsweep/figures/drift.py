"""drift_heatmap.png: method x sweep, the mean drift metric at each sweep's strongest level,
one panel per (dataset, model, target)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from salsweep.figures.panels import CLEAN, MAIN_TARGETS
from salsweep.figures.style import placeholder, save, set_style


def drift_heatmap(metrics: pd.DataFrame, png: str, pdf: str, dpi: int, metric: str = "xcorr"):
    import seaborn

    set_style()
    table = metrics[(metrics["metric"] == metric) & (metrics["perturbation"] != CLEAN)]
    table = table[np.isfinite(table["value"]) & table["target"].isin(MAIN_TARGETS)]
    if table.empty:
        placeholder(f"no {metric} values (is it in the config's metrics?)", png, pdf, dpi)
        return
    # "Strongest" is the level farthest from the clean reference within each sweep.
    strongest = table.groupby("perturbation")["level"].agg(lambda s: s.loc[s.abs().idxmax()])
    table = table[table["level"] == table["perturbation"].map(strongest)]
    panels = list(table.groupby(["dataset", "model", "target"], sort=True))
    # A near-square arrangement, at most 3 a row: 3 x 3.6 in is 2160 px at 200 dpi.
    ncols = min(3, int(np.ceil(np.sqrt(len(panels)))))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.6 * ncols, 0.5 + (0.45 * table["method"].nunique() + 1.2) * nrows),
        squeeze=False,
    )
    for ax, ((dataset, model, target), part) in zip(axes.flat, panels, strict=False):
        grid = part.pivot_table(
            index="method", columns="perturbation", values="value", aggfunc="mean"
        )
        grid.columns = [f"{p}\n@{strongest[p]:g}" for p in grid.columns]
        seaborn.heatmap(
            grid, ax=ax, vmin=-1, vmax=1, cmap="RdBu", annot=True, fmt=".2f", cbar=False
        )
        ax.set_title(f"{model} on {dataset} | {target}", fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(f"Mean {metric} with the clean map at each sweep's strongest level")
    fig.tight_layout()
    save(fig, png, pdf, dpi)


def draw_drift(metrics_path: str, png: str, pdf: str, dpi: int) -> None:
    from salsweep.io import read_table

    drift_heatmap(read_table(metrics_path), png, pdf, dpi)
