"""metrics_{dataset}_{model}_{sweep}.png: every map metric against one sweep's level, one
panel per (method, metric), a line per target; panels wrap so the figure stays readable.
Where summary.csv has noise-floor rows (perturbation ``floor:<floor>``), each drift metric's
panel also draws every floor as a horizontal band (its mean and 95% CI)."""

from __future__ import annotations

import itertools
import textwrap

import matplotlib
import numpy as np
import pandas as pd

from salsweep.figures.panels import (
    CLEAN,
    MAIN_TARGETS,
    Sweep,
    clean_apart_handle,
    draw_clean_apart,
    draw_floor_bands,
    fixed_grid,
    floor_legend_handles,
    floor_order,
    floor_rows,
    set_level_axis,
    sweeps_from,
    with_clean_reference,
)
from salsweep.figures.style import PALETTE, placeholder, save, set_style

# At most NCOLS panels a row, each CELL inches: 4 x 2.75 in + margins is 11.95 in, 2390 px
# at the default 200 dpi, and a panel's plot area stays about 5.6 cm wide.
NCOLS = 4
CELL = (2.75, 2.2)


def panel_slots(methods: list[str], names: list[str], ncols: int) -> dict[tuple[str, str], int]:
    """Flat panel index of each (method, metric): each method starts a row, its metrics wrap
    at ``ncols``, so a metric keeps its column across methods."""
    rows_per_method = int(np.ceil(len(names) / ncols))
    return {
        (method, metric): (m * rows_per_method + i // ncols) * ncols + i % ncols
        for m, method in enumerate(methods)
        for i, metric in enumerate(names)
    }


def metrics_figure(
    summary: pd.DataFrame,
    dataset: str,
    model: str,
    sweep: Sweep,
    png: str,
    pdf: str,
    dpi: int,
) -> None:
    """One sweep of one pair: the mean and 95% t-interval over images of summary.csv
    (the aggregate step's summary.csv) against level, hue = target."""
    set_style()
    pair = summary[
        (summary["dataset"] == dataset)
        & (summary["model"] == model)
        & (summary["metric"] != "accuracy")
        & np.isfinite(summary["mean"])
        & summary["target"].isin(MAIN_TARGETS)
    ]
    clean = pair[pair["perturbation"] == CLEAN]
    floors = floor_rows(pair)
    table = with_clean_reference(pair, {sweep.name: sweep})
    table = table[table["perturbation"] == sweep.name].sort_values("level", kind="stable")
    if table.empty:
        placeholder(f"no finite values: {model} on {dataset}, {sweep.name}", png, pdf, dpi)
        return
    methods = sorted(table["method"].unique())
    names = list(dict.fromkeys(table["metric"]))
    targets = sorted(table["target"].unique(), key=lambda t: (t != "truth", t))
    colours = dict(zip(targets, itertools.cycle(PALETTE)))
    clean_x = None if sweep.clean_on_line else sweep.clean_x(table["level"])
    ncols = min(NCOLS, len(names))
    slots = panel_slots(methods, names, ncols)
    nrows = max(slots.values()) // ncols + 1
    floor_names = floor_order(floors["floor"])
    # One target's floors (truth first), so that a panel holds at most one band per floor.
    floor_target = next((t for t in targets if t in set(floors["target"])), None)
    floors = floors[floors["target"] == floor_target]
    # A second legend names the floors, three to a row where the figure is wide enough
    # (one panel is not): room for it only where there are floors.
    floor_ncol = min(3 if CELL[0] * ncols >= 6 else 1, max(len(floor_names), 1))
    floor_rows_needed = int(np.ceil(len(floor_names) / floor_ncol))
    extra_top = 0.2 + 0.2 * floor_rows_needed if floor_names else 0.0
    # The sweep's name, unless its level label already starts with it (imagenet_c's do).
    named = "" if sweep.label.startswith(sweep.name) else f", {sweep.name}"
    title = f"{model} on {dataset}: map metrics against {sweep.label}{named} (95% CI)"
    # A figure of one or two panels a row wraps its title (8.5 pt: ~13 characters an inch).
    narrow = CELL[0] * ncols + 0.95 <= 7
    if narrow:
        title = textwrap.fill(title, int((CELL[0] * ncols + 0.95) * 13))
    title_extra = 0.16 * title.count("\n")
    extra_top += title_extra
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=CELL,
        pad=(0.95, 2.15 + extra_top),
        margins=(0.6, 0.35, 0.7, 1.45 + extra_top),
        spacing=(0.3, 0.75),
        sharex=True,
    )
    flat = list(axes.flat)
    panels = dict(iter(table.groupby(["method", "metric", "target"], sort=False)))
    refs = dict(iter(clean.groupby(["method", "metric", "target"], sort=False)))
    floor_panels = dict(iter(floors.groupby(["method", "metric"], sort=False)))
    for (method, metric), slot in slots.items():
        ax = flat[slot]
        if (method, metric) in floor_panels:
            draw_floor_bands(ax, floor_panels[(method, metric)])
        for target in targets:
            line = panels.get((method, metric, target))
            if line is None:
                continue
            levels = line["level"].to_numpy()
            colour = colours[target]
            ax.plot(levels, line["mean"], marker="o", markersize=3, color=colour, label=target)
            ax.fill_between(
                levels, line["ci_low"], line["ci_high"], color=colour, alpha=0.2, linewidth=0
            )
            ref = refs.get((method, metric, target))
            if clean_x is not None and ref is not None:
                row = ref.iloc[0]
                draw_clean_apart(ax, clean_x, row["mean"], row["ci_low"], row["ci_high"], colour)
        ax.set_title(f"{metric}\n{method}", fontsize=8, linespacing=1.15)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    used = set(slots.values())
    for slot, ax in enumerate(flat):
        if slot not in used:
            ax.set_visible(False)
            continue
        # The lowest panel of each column carries the level axis (tick labels and name).
        below = slot + ncols
        lowest = below >= len(flat) or below not in used
        ax.xaxis.set_tick_params(labelbottom=lowest)
        set_level_axis(ax, sweep, table["level"], clean_x, label=lowest)
        ax.xaxis.label.set_fontsize(9)
    handles, labels = flat[min(used)].get_legend_handles_labels()
    handles, labels = handles[: len(targets)], labels[: len(targets)]
    if clean_x is not None:
        handles.append(clean_apart_handle())
        labels.append(handles[-1].get_label())
    if handles:
        fig.legend(
            handles,
            labels,
            title="target",
            loc="upper center",
            ncol=len(handles),
            bbox_to_anchor=(0.5, 1 - (0.4 + title_extra) / height),
            frameon=False,
            fontsize=8.5,
            title_fontsize=8.5,
        )
    if floor_names:
        fig.legend(
            *floor_legend_handles(floor_names),
            title=f"noise floors ({floor_target} target): mean and 95% CI",
            loc="upper center",
            ncol=floor_ncol,
            bbox_to_anchor=(0.5, 1 - (1.0 + title_extra) / height),
            frameon=False,
            fontsize=8.5,
            title_fontsize=8.5,
        )
    fig.suptitle(title, y=1 - 0.1 / height, fontsize=8.5 if narrow else 10.56)
    save(fig, png, pdf, dpi)


def draw_metrics(
    summary_path: str,
    panels: list,
    identity_levels: dict,
    level_axes: dict,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One figure per (dataset, model, perturbation) in ``panels``, in the order of pngs."""
    from salsweep.io import read_summary

    summary = read_summary(summary_path)
    sweeps = sweeps_from(identity_levels, level_axes)
    for (dataset, model, perturbation), png, pdf in zip(panels, pngs, pdfs, strict=True):
        metrics_figure(summary, dataset, model, sweeps[perturbation], png, pdf, dpi)
