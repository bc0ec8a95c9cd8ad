"""Drawing primitives shared by several figure kinds: fixed layouts, the level axis and the
clean reference of a sweep, and saliency overlays."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from salsweep.condition import CLEAN
from salsweep.io import FLOOR_PREFIX

MAIN_TARGETS = ("truth", "pred")  # per-class targets (targets: all) have their own figure
CLEAN_MARKER = "D"
DISPLAY_PERCENTILE = 99.5
LABEL_WIDTH = 30  # characters a level-axis label line holds under a ~5 cm panel
# summary.csv's noise-floor rows: perturbation "floor:<floor>", level empty.
FLOOR_ORDER = ("random_logit", "randomised_head", "randomised_all")
FLOOR_COLOURS = {
    "random_logit": "#6b6b6b",
    "randomised_head": "#a8507f",
    "randomised_all": "#8a5a1e",
}
FLOOR_STYLES = {"random_logit": ":", "randomised_head": "--", "randomised_all": "-."}


@dataclass(frozen=True)
class Sweep:
    """One perturbation sweep as figures draw it: the x-axis label (level name and unit)
    and where the clean image goes: at ``identity_level`` on the sweep's line when that
    level returns the image unchanged (``exact_identity``), else apart, as its own marker."""

    name: str
    label: str
    identity_level: float | None
    exact_identity: bool

    @property
    def clean_on_line(self) -> bool:
        return self.exact_identity and self.identity_level is not None

    def clean_x(self, levels) -> float:
        """Where the clean marker goes when drawn apart: beyond the sweep's levels, on the
        side of no change (the identity level's side; the right when there is none)."""
        low, high = float(np.min(levels)), float(np.max(levels))
        gap = 0.2 * (high - low) if high > low else max(abs(high), 1.0) * 0.2
        if self.identity_level is not None and self.identity_level <= low < high:
            return low - gap
        return high + gap


def sweeps_from(
    identity_levels: Mapping[str, Any], level_axes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Sweep]:
    """The sweeps of a figure rule's params (rules/common.smk: identity_levels, level_axes)."""
    sweeps = {}
    for name, level in identity_levels.items():
        axis = level_axes.get(name, {})
        sweeps[name] = Sweep(
            name=name,
            label=str(axis.get("label", name)),
            identity_level=None if level is None else float(level),
            exact_identity=bool(axis.get("exact_identity", False)),
        )
    return sweeps


def clean_apart_handle() -> Line2D:
    """The legend entry of a clean reference drawn apart from its sweep."""
    return Line2D(
        [],
        [],
        color="grey",
        marker=CLEAN_MARKER,
        linestyle=":",
        label="clean image (drawn apart:\nno exact identity level)",
    )


def draw_clean_apart(ax, x: float, value: float, low: float, high: float, colour) -> None:
    """The clean value as its own marker at ``x`` (with its interval), and a dotted line
    across the panel at its height."""
    ax.axhline(value, color=colour, linestyle=":", linewidth=0.9)
    ax.errorbar(
        [x],
        [value],
        yerr=[[max(value - low, 0.0)], [max(high - value, 0.0)]],
        color=colour,
        marker=CLEAN_MARKER,
        markersize=5,
        capsize=2,
        linestyle="none",
    )


def set_level_axis(ax, sweep: Sweep, levels, clean_x: float | None, label: bool) -> None:
    """Ticks at round levels (plus "clean" where the clean image is drawn apart) and the
    level's name and unit as the x label."""
    levels = np.asarray(levels, dtype=float)
    if clean_x is not None and len(levels):
        low, high = float(levels.min()), float(levels.max())
        ticks = [
            t
            for t in matplotlib.ticker.MaxNLocator(4).tick_values(low, high)
            if low - 1e-9 * (abs(low) + 1) <= t <= high + 1e-9 * (abs(high) + 1)
        ]
        ax.set_xticks([*ticks, clean_x], [f"{t:g}" for t in ticks] + ["clean"])
    elif sweep.clean_on_line:
        ax.axvline(sweep.identity_level, color="grey", linestyle="--", linewidth=0.8)
    if label:
        ax.set_xlabel(wrapped_label(sweep.label))


def wrapped_label(label: str) -> str:
    """An axis label that fits under one panel: a long one puts its unit, "(...)", on a
    second line, and wraps at spaces only if still too long."""
    if len(label) <= LABEL_WIDTH:
        return label
    name, paren, unit = label.partition(" (")
    lines = [name] + ([f"({unit}"] if paren else [])
    return "\n".join(textwrap.fill(line, LABEL_WIDTH) for line in lines)


def fixed_grid(
    nrows: int,
    ncols: int,
    *,
    cell: tuple[float, float],
    pad: tuple[float, float],
    margins: tuple[float, float, float, float],
    spacing: tuple[float, float],
    **subplots_kw,
):
    """Panels in a layout fixed in inches: (fig, axes [nrows, ncols], (width, height)).

    The figure is ``cell`` per panel plus ``pad`` (w, h); ``margins`` (left, right, bottom,
    top) are inches, ``spacing`` (wspace, hspace) fractions of a panel. tight_layout and
    constrained layout re-measure every label on each draw, about half the drawing time
    of a many-panel figure.
    """
    width, height = cell[0] * ncols + pad[0], cell[1] * nrows + pad[1]
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **subplots_kw)
    left, right, bottom, top = margins
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=spacing[0],
        hspace=spacing[1],
    )
    return fig, axes, (width, height)


def ordered_conditions(table: pd.DataFrame) -> list[tuple[str, float]]:
    """The (perturbation, level) pairs of a table: clean first, then by sweep and level."""
    pairs = set(table[["perturbation", "level"]].itertuples(index=False, name=None))
    return sorted(pairs, key=lambda pair: (pair[0] != CLEAN, pair[0], pair[1]))


def condition_label(perturbation: str, level: float) -> str:
    return CLEAN if perturbation == CLEAN else f"{perturbation}={level:g}"


def with_clean_reference(table: pd.DataFrame, sweeps: Mapping[str, Sweep]) -> pd.DataFrame:
    """Copy the clean rows into each sweep whose identity level is exact, at that level (the
    x of 'no change'); the other sweeps draw the clean rows apart (``draw_clean_apart``)."""
    clean = table[table["perturbation"] == CLEAN]
    parts = [table[table["perturbation"] != CLEAN]]
    for name, sweep in sweeps.items():
        if sweep.clean_on_line:
            parts.append(clean.assign(perturbation=name, level=float(sweep.identity_level)))
    return pd.concat(parts, ignore_index=True)


def saliency_colours(signed: bool):
    """(colormap, norm) of a map: diverging for signed maps, sequential otherwise."""
    colormap = plt.get_cmap("RdBu_r" if signed else "inferno")
    norm = matplotlib.colors.Normalize(vmin=-1.0 if signed else 0.0, vmax=1.0)
    return colormap, norm


def display_scaled(sal: np.ndarray) -> np.ndarray:
    """For display only: divide by the 99.5th percentile of |map| and clip to [-1, 1], so a
    few extreme pixels (typical of raw gradients) do not wash the rest of the map out."""
    scale = float(np.percentile(np.abs(sal), DISPLAY_PERCENTILE))
    return np.clip(sal / scale, -1.0, 1.0) if scale > 0 else sal


def overlay(image: np.ndarray, sal: np.ndarray, colormap, norm, alpha: float = 0.6):
    """The map in colour blended over the image, as one RGB array (one draw per panel)."""
    coloured = colormap(norm(display_scaled(sal)))[..., :3]
    return (1 - alpha) * image.astype(np.float32) / 255.0 + alpha * coloured


def floor_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv's noise-floor rows, with the floor's name in a column ``floor``."""
    rows = summary[summary["perturbation"].str.startswith(FLOOR_PREFIX)]
    return rows.assign(floor=rows["perturbation"].str.slice(len(FLOOR_PREFIX)))


def floor_order(names) -> list[str]:
    """The floors present, the documented ones first in their order, any other after."""
    present = set(names)
    known = [name for name in FLOOR_ORDER if name in present]
    return known + sorted(present - set(known))


def floor_style(floor: str) -> tuple[object, str]:
    return FLOOR_COLOURS.get(floor, "#4d4d4d"), FLOOR_STYLES.get(floor, (0, (1, 3)))


def draw_floor_bands(ax, floors: pd.DataFrame) -> None:
    """Each floor row of one panel as a horizontal band: its 95% CI shaded, its mean a line.
    Bands sit under the data lines (zorder), so the sweep stays readable over them."""
    for row in floors.itertuples(index=False):
        colour, style = floor_style(row.floor)
        if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
            ax.axhspan(row.ci_low, row.ci_high, color=colour, alpha=0.14, linewidth=0, zorder=0)
        ax.axhline(row.mean, color=colour, linestyle=style, linewidth=1.0, zorder=0.5)


def floor_legend_handles(floors: list[str]) -> tuple[list, list[str]]:
    """Legend (handles, labels) of the floor bands drawn by :func:`draw_floor_bands`."""
    from matplotlib.patches import Patch

    handles, labels = [], []
    for floor in floors:
        colour, style = floor_style(floor)
        band = Patch(facecolor=colour, alpha=0.14, edgecolor="none")
        line = Line2D([], [], color=colour, linestyle=style, linewidth=1.0)
        handles.append((band, line))
        labels.append(floor)
    return handles, labels
