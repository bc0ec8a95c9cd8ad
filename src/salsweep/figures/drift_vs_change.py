"""drift_vs_change_{dataset}_{model}.png: how far the maps drift against how far the input
(SSIM) and the output (KL) moved, every sweep on one axis, so sweeps that move the pixels by
different amounts can be compared.

Per method, two panel rows: x = mean SSIM of the perturbed copy with the clean image (1 is
no change), then x = mean KL(p_clean || p_copy) (0 is no change); one column per drift
metric (``xcorr`` and one more); a line per sweep through its levels (colour), truth and
predicted-class targets as solid and dashed lines; y = summary.csv's mean with its 95% CI.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from salsweep.figures.panels import CLEAN, MAIN_TARGETS, fixed_grid
from salsweep.figures.style import PALETTE, save, set_style

# The input and output change axes: (column of changes.parquet, axis label, no-change x).
CHANGE_AXES = (
    ("ssim", "input change: SSIM with the clean image", 1.0),
    ("kl", "output change: KL(p_clean ‖ p_copy)", 0.0),
)
# After xcorr, the first of these the study lists is the second drift metric drawn.
SECOND_METRICS = ("topk_iou", "spearman", "ssd")
TARGET_STYLES = {"truth": "-", "pred": "--"}
CELL = (3.6, 2.3)
LEGEND_COLUMNS = 5
CHANGE_COLUMNS_USED = ["dataset", "model", "perturbation", "level", "ssim", "kl"]
LEVEL_DIGITS = 9  # levels match across tables after summary.csv's %.10g round trip


def drift_metrics(names) -> list[str]:
    """``xcorr`` and one more drift metric of ``names`` (labels as in summary.csv, e.g.
    ``topk_iou@10``), in that order; fewer when the study lists fewer."""
    names = list(dict.fromkeys(names))
    base = {name: name.split("@")[0] for name in names}
    chosen = [name for name in names if base[name] == "xcorr"][:1]
    for kind in SECOND_METRICS:
        others = [name for name in names if base[name] == kind]
        if others:
            chosen.append(others[0])
            break
    return chosen


def mean_changes(changes: pd.DataFrame, dataset: str, model: str) -> pd.DataFrame:
    """Mean SSIM and KL over images per (perturbation, level) of one pair (finite values)."""
    part = changes[(changes["dataset"] == dataset) & (changes["model"] == model)]
    part = part.assign(level_key=part["level"].round(LEVEL_DIGITS))
    return (
        part.groupby(["perturbation", "level_key"], sort=True)[["ssim", "kl"]].mean().reset_index()
    )


def drift_vs_change_figure(
    summary: pd.DataFrame,
    changes: pd.DataFrame,
    dataset: str,
    model: str,
    png: str,
    pdf: str,
    dpi: int,
) -> None:
    from salsweep.figures.style import placeholder

    set_style()
    rows = summary[
        (summary["dataset"] == dataset)
        & (summary["model"] == model)
        & (summary["perturbation"] != CLEAN)
        & ~summary["perturbation"].str.startswith("floor:")
        & summary["target"].isin(MAIN_TARGETS)
        & np.isfinite(summary["mean"])
    ]
    names = drift_metrics(rows["metric"])
    x_table = mean_changes(changes, dataset, model)
    rows = rows[rows["metric"].isin(names)].assign(level_key=rows["level"].round(LEVEL_DIGITS))
    table = rows.merge(x_table, on=["perturbation", "level_key"], how="inner")
    if table.empty:
        placeholder(
            f"no drift metric (xcorr, {', '.join(SECOND_METRICS)}) with input/output change: "
            f"{model} on {dataset}",
            png,
            pdf,
            dpi,
        )
        return
    methods = sorted(table["method"].unique())
    sweeps = list(dict.fromkeys(table.sort_values("perturbation")["perturbation"]))
    targets = [t for t in MAIN_TARGETS if t in set(table["target"])]
    colours = dict(zip(sweeps, itertools.cycle(PALETTE)))
    nrows, ncols = 2 * len(methods), len(names)
    legend_rows = int(np.ceil(len(sweeps) / LEGEND_COLUMNS)) + 1
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=CELL,
        pad=(1.0, 1.6 + 0.25 * legend_rows),
        margins=(0.75, 0.25, 0.55, 1.0 + 0.25 * legend_rows),
        spacing=(0.3, 0.75),
    )
    lines = dict(iter(table.groupby(["method", "metric", "target", "perturbation"])))
    for (m, method), (a, (column, label, no_change)), (c, metric) in itertools.product(
        enumerate(methods), enumerate(CHANGE_AXES), enumerate(names)
    ):
        ax = axes[2 * m + a, c]
        ax.axvline(no_change, color="grey", linestyle=":", linewidth=0.9)
        for target, sweep in itertools.product(targets, sweeps):
            line = lines.get((method, metric, target, sweep))
            if line is None:
                continue
            line = line.sort_values("level_key")
            means = line["mean"].to_numpy()
            ax.errorbar(
                line[column],
                means,
                yerr=[
                    np.maximum(means - line["ci_low"].to_numpy(), 0.0),
                    np.maximum(line["ci_high"].to_numpy() - means, 0.0),
                ],
                color=colours[sweep],
                linestyle=TARGET_STYLES.get(target, "-."),
                marker="o",
                markersize=3,
                capsize=2,
                linewidth=1.1,
            )
        if column == "kl":
            # KL spans orders of magnitude across sweeps; linear below 0.01 keeps 0 on the axis.
            ax.set_xscale("symlog", linthresh=0.01)
        else:
            ax.invert_xaxis()  # no change (SSIM 1) on the left, as KL 0 below it
        ax.set_xlabel(label, fontsize=8.5)
        ax.set_ylabel(metric, fontsize=8.5)
        ax.set_title(f"{method}: {metric} against {column.upper()}", fontsize=8.5)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.tick_params(labelsize=8)
    # Two legend rows: the sweeps (colour), then the targets (line style) and no change.
    sweep_handles = [
        Line2D([], [], color=colours[s], marker="o", markersize=3, label=s) for s in sweeps
    ]
    style_handles = [
        Line2D([], [], color="black", linestyle=TARGET_STYLES.get(t, "-."), label=f"{t} target")
        for t in targets
    ]
    style_handles.append(Line2D([], [], color="grey", linestyle=":", label="no change"))
    for top, handles in ((0.35, sweep_handles), (0.1 + 0.25 * legend_rows, style_handles)):
        fig.legend(
            handles=handles,
            loc="upper center",
            ncol=min(len(handles), LEGEND_COLUMNS),
            bbox_to_anchor=(0.5, 1 - top / height),
            frameon=False,
            fontsize=8,
        )
    fig.suptitle(
        f"{model} on {dataset}: map drift against input and output change (mean per level, 95% CI)",
        y=1 - 0.08 / height,
        fontsize=10 if width > 7 else 8.5,
    )
    save(fig, png, pdf, dpi)


def draw_drift_vs_change(
    summary_path: str,
    changes_path: str,
    pairs: list,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One figure per (dataset, model) in ``pairs``, in the order of pngs."""
    from salsweep.io import read_summary, read_table

    summary = read_summary(summary_path)
    changes = read_table(changes_path, columns=CHANGE_COLUMNS_USED)
    for (dataset, model), png, pdf in zip(pairs, pngs, pdfs, strict=True):
        drift_vs_change_figure(summary, changes, dataset, model, png, pdf, dpi)
