"""drift_heatmap.png: method x sweep (sweep x method where sweeps outnumber methods), the mean
drift metric at each sweep's strongest level, one panel per (dataset, model, target)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from salsweep.figures.panels import CLEAN, MAIN_TARGETS
from salsweep.figures.style import placeholder, save, set_style

SWEEP_COLUMNS = 6  # the most sweeps a panel shows as columns
MAX_WIDTH_IN = 12.0


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
    n_methods, n_sweeps = table["method"].nunique(), table["perturbation"].nunique()
    # Sweeps stand as columns while there are no more of them than methods (and at most
    # SWEEP_COLUMNS); otherwise their long names would stand on end, squeezed together, so
    # the sweeps go down the rows (the corruption study's 16).
    by_row = n_sweeps > min(SWEEP_COLUMNS, n_methods)
    if by_row:
        panel = (1.7 + max(2.0, 1.25 * n_methods), 1.0 + 0.3 * n_sweeps)
    else:
        panel = (3.6, 1.2 + 0.45 * n_methods)
    # A near-square arrangement, at most MAX_WIDTH_IN wide (2400 px at the default 200 dpi).
    fit = max(1, int(MAX_WIDTH_IN // panel[0]))
    ncols = min(3, fit, int(np.ceil(np.sqrt(len(panels)))))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel[0] * ncols, 0.5 + panel[1] * nrows),
        squeeze=False,
    )
    for ax, ((dataset, model, target), part) in zip(axes.flat, panels, strict=False):
        grid = part.pivot_table(
            index="method", columns="perturbation", values="value", aggfunc="mean"
        )
        if by_row:
            grid = grid.T
            grid.index = [f"{p} @{strongest[p]:g}" for p in grid.index]
        else:
            grid.columns = [f"{p}\n@{strongest[p]:g}" for p in grid.columns]
        seaborn.heatmap(
            grid,
            ax=ax,
            vmin=-1,
            vmax=1,
            cmap="RdBu",
            annot=True,
            fmt=".2f",
            cbar=False,
            annot_kws={"fontsize": 8} if by_row else None,
        )
        if by_row:
            ax.tick_params(axis="x", labelrotation=0, labelsize=8.5)
            ax.tick_params(axis="y", labelrotation=0, labelsize=8.5)
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
