"""accuracy.png: item-response curves, one facet per sweep, one line per dataset/model pair;
below each, the share of images whose prediction has flipped by each level (a survival
curve read upside down, from flip_levels.parquet)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from salsweep.failure import share_flipped
from salsweep.figures.panels import (
    CLEAN,
    Sweep,
    clean_apart_handle,
    draw_clean_apart,
    fixed_grid,
    set_level_axis,
    sweeps_from,
    with_clean_reference,
)
from salsweep.figures.style import PALETTE, save, set_style
from salsweep.stats import wilson_interval

NCOLS = 3


def accuracy_curve(predictions: pd.DataFrame, sweeps: Mapping[str, Sweep]) -> pd.DataFrame:
    """Accuracy and its 95% Wilson interval per (perturbation, pair, level); the clean rows
    as perturbation ``clean`` and also inside each sweep whose identity is exact."""
    rows = []
    clean = predictions[predictions["perturbation"] == CLEAN]
    table = pd.concat([with_clean_reference(predictions, sweeps), clean])
    for (perturbation, dataset, model, level), group in table.groupby(
        ["perturbation", "dataset", "model", "level"], sort=True
    ):
        n, k = len(group), int(group["correct"].sum())
        low, high = wilson_interval(k, n)
        rows.append((perturbation, f"{model} on {dataset}", level, k / n, low, high, n))
    return pd.DataFrame(
        rows, columns=["perturbation", "pair", "level", "accuracy", "low", "high", "n"]
    )


def flipped_curve(
    flips: pd.DataFrame, predictions: pd.DataFrame, sweeps: Mapping[str, Sweep]
) -> pd.DataFrame:
    """Per (perturbation, pair, level of the sweep): the share of images flipped by that
    level; 0 at the identity level where the clean image sits on the sweep's line."""
    rows = []
    perturbed = predictions[predictions["perturbation"] != CLEAN]
    levels_of = perturbed.groupby(["perturbation", "dataset", "model"])["level"].unique()
    for (perturbation, dataset, model), group in flips.groupby(
        ["perturbation", "dataset", "model"], sort=True
    ):
        sweep = sweeps.get(perturbation)
        identity = sweep.identity_level if sweep is not None else None
        levels = sorted(levels_of.get((perturbation, dataset, model), []))
        shares = list(share_flipped(group, levels, identity))
        if sweep is not None and sweep.clean_on_line:
            levels, shares = [sweep.identity_level, *levels], [0.0, *shares]
        rows.extend(
            (perturbation, f"{model} on {dataset}", level, share, len(group))
            for level, share in zip(levels, shares, strict=True)
        )
    return pd.DataFrame(rows, columns=["perturbation", "pair", "level", "share", "n"])


def accuracy_figure(
    predictions: pd.DataFrame,
    sweeps: Mapping[str, Sweep],
    png: str,
    pdf: str,
    dpi: int,
    flips: pd.DataFrame | None = None,
) -> None:
    set_style()
    curve = accuracy_curve(predictions, sweeps)
    clean = curve[curve["perturbation"] == CLEAN].set_index("pair")
    names = list(sweeps)
    pairs = sorted(curve["pair"].unique())
    palette = dict(zip(pairs, itertools.cycle(PALETTE)))
    ncols = min(NCOLS, max(1, len(names)))
    nrows = int(np.ceil(len(names) / ncols)) or 1
    apart = any(not sweeps[name].clean_on_line for name in names)
    entries = len(pairs) + apart
    legend_cols = min(3, max(1, entries))
    legend_rows = int(np.ceil(entries / legend_cols))
    bottom = 0.75 + 0.4 * legend_rows  # room for the x label and the legend below
    top = 0.7 if flips is None else 1.05  # the title's extra line on the flipped share
    panel_rows = 1 if flips is None else 2  # a sweep's flipped share sits under its accuracy
    fig, axes, (width, height) = fixed_grid(
        nrows * panel_rows,
        ncols,
        cell=(3.7, 3.0),
        pad=(0.3, bottom + top - 0.45),
        margins=(0.75, 0.25, bottom, top),
        spacing=(0.3, 0.55),
    )
    for ax, name in zip(axes[::panel_rows].flat, names, strict=False):
        sweep = sweeps[name]
        part = curve[curve["perturbation"] == name]
        clean_x = None
        if not sweep.clean_on_line and len(part):
            clean_x = sweep.clean_x(part["level"])
        for pair, line in part.groupby("pair", sort=True):
            line = line.sort_values("level")
            colour = palette[pair]
            ax.plot(line["level"], line["accuracy"], marker="o", label=pair, color=colour)
            ax.fill_between(line["level"], line["low"], line["high"], alpha=0.2, color=colour)
            if clean_x is not None and pair in clean.index:
                ref = clean.loc[pair]
                draw_clean_apart(ax, clean_x, ref["accuracy"], ref["low"], ref["high"], colour)
        set_level_axis(ax, sweep, part["level"], clean_x, label=True)
        ax.set_title(name)
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
    if flips is not None:
        flipped = flipped_curve(flips, predictions, sweeps)
        for ax, name in zip(axes[1::2].flat, names, strict=False):
            part = flipped[flipped["perturbation"] == name]
            for pair, line in part.groupby("pair", sort=True):
                line = line.sort_values("level")
                ax.plot(line["level"], line["share"], marker="o", label=pair, color=palette[pair])
            set_level_axis(ax, sweeps[name], part["level"], None, label=True)
            ax.set_title(f"{name}: flipped")
            ax.set_ylabel("share of images flipped")
            ax.set_ylim(-0.02, 1.02)
    for row in range(panel_rows):
        for ax in list(axes[row::panel_rows].flat)[len(names) :]:
            ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if apart:
        handles.append(clean_apart_handle())
        labels.append(handles[-1].get_label())
    if handles:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=legend_cols,
            bbox_to_anchor=(0.5, 0.1 / height),
            frameon=False,
        )
    where = "clean image at the dashed line" + (", or the diamond" if apart else "")
    flipped_part = "" if flips is None else "\nand the share of predictions flipped by each level"
    fig.suptitle(
        f"Accuracy against perturbation level ({where}; 95% Wilson CI){flipped_part}",
        y=1 - 0.2 / height,
        fontsize=10.56 if width > 7 else 9,
        wrap=True,
    )
    save(fig, png, pdf, dpi)


def draw_accuracy(
    predictions_path: str,
    identity_levels: dict,
    level_axes: dict,
    png: str,
    pdf: str,
    dpi: int,
    flip_levels_path: str | None = None,
) -> None:
    from salsweep.io import read_table

    sweeps = sweeps_from(identity_levels, level_axes)
    flips = read_table(flip_levels_path) if flip_levels_path else None
    accuracy_figure(read_table(predictions_path), sweeps, png, pdf, dpi, flips)
