"""failure_{dataset}_{model}.png: for each sweep and outcome, each method's drift-metric
AUROCs (with their bootstrap 95% CIs) beside the confidence_drop and level baselines, from
failure.parquet. An AUROC above the line at 0.5 means more drift comes with more failures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salsweep.figures.panels import fixed_grid
from salsweep.figures.style import PALETTE, placeholder, save, set_style
from salsweep.io import FAILURE_OUTCOMES

PREFERRED_TARGET = "pred"
BASELINES = (
    ("confidence_drop_auroc", "confidence_drop", "confidence drop"),
    ("level_auroc", "level", "level"),
)
NA_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.5}
LABEL_INCH_PER_CHAR = 0.065  # an 8 pt label character, with some slack
COLOURS = {"drift": PALETTE[0], "confidence drop": PALETTE[1], "level": PALETTE[2]}


def failure_entries(rows: pd.DataFrame) -> pd.DataFrame:
    """The points of one panel, top to bottom: per method, each drift metric's AUROC, then
    the two baselines on the same copies (those of the method's first metric)."""
    entries = []
    for method, group in rows.groupby("method", sort=True):
        group = group.sort_values("metric")
        for row in group.itertuples():
            entries.append((f"{method}: {row.metric}", "drift", row.auroc, row.auroc_low,
                            row.auroc_high))  # fmt: skip
        first = group.iloc[0]
        for column, prefix, label in BASELINES:
            entries.append((f"{method}: {label}", label, first[column], first[f"{prefix}_low"],
                            first[f"{prefix}_high"]))  # fmt: skip
    return pd.DataFrame(entries, columns=["label", "kind", "auroc", "low", "high"])


def failure_figure(failure: pd.DataFrame, png: str, pdf: str, dpi: int) -> None:
    """Rows are sweeps, columns the outcomes; the target is the predicted class's map where
    the study has it."""
    set_style()
    targets = sorted(failure["target"].unique())
    target = PREFERRED_TARGET if PREFERRED_TARGET in targets else targets[0]
    failure = failure[failure["target"] == target]
    sweeps = sorted(failure["perturbation"].unique())
    n_entries = max(
        len(failure_entries(group)) for _, group in failure.groupby(["perturbation", "outcome"])
    )
    cell_height = 0.22 * n_entries + 0.6
    longest = max(len(label) for label in failure_entries(failure)["label"])
    left = 0.35 + LABEL_INCH_PER_CHAR * longest  # room for the entry labels
    fig, axes, (width, height) = fixed_grid(
        len(sweeps),
        len(FAILURE_OUTCOMES),
        cell=(3.6, cell_height),
        pad=(left + 0.2, 1.5),
        margins=(left, 0.2, 0.9, 0.6),
        spacing=(0.08, 0.45),
        sharex=True,
    )
    for r, sweep in enumerate(sweeps):
        for c, outcome in enumerate(FAILURE_OUTCOMES):
            ax = axes[r, c]
            rows = failure[(failure["perturbation"] == sweep) & (failure["outcome"] == outcome)]
            entries = failure_entries(rows)
            y = np.arange(len(entries))[::-1]
            for kind, colour in COLOURS.items():
                mask = (entries["kind"] == kind).to_numpy()
                part = entries[mask]
                ax.errorbar(
                    part["auroc"],
                    y[mask],
                    xerr=[part["auroc"] - part["low"], part["high"] - part["auroc"]],
                    color=colour,
                    marker="o",
                    linestyle="none",
                    capsize=2,
                    label=kind,
                )
            ax.axvline(0.5, color="grey", linestyle="--", linewidth=0.8)
            ax.set_xlim(0.0, 1.0)
            ax.set_ylim(-0.7, len(entries) - 0.3)
            for at, auroc in zip(y, entries["auroc"], strict=True):
                if not np.isfinite(auroc):  # no positive or no negative copy: see the note
                    ax.text(0.5, at, "n/a", ha="center", va="center", fontsize=7, bbox=NA_BOX)
            ax.set_yticks(y, list(entries["label"]) if c == 0 else [""] * len(y), fontsize=8)
            ax.set_title(f"{sweep}: {outcome}", fontsize=9)
            if r == len(sweeps) - 1:
                ax.set_xlabel("AUROC (95% bootstrap CI)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.05 / height))  # fmt: skip
    dataset, model = failure.iloc[0][["dataset", "model"]]
    fig.suptitle(
        f"Does drift predict failure? {model} on {dataset} ({target}-class maps)",
        fontsize=10,
        y=1 - 0.15 / height,
    )
    save(fig, png, pdf, dpi)


def draw_failure(
    failure_path: str, pairs: list, pngs: list[str], pdfs: list[str], dpi: int
) -> None:
    """One figure per (dataset, model) of ``pairs``, in the order of ``pngs``."""
    from salsweep.io import read_table

    table = read_table(failure_path)
    for (dataset, model), png, pdf in zip(pairs, pngs, pdfs, strict=True):
        rows = table[(table["dataset"] == dataset) & (table["model"] == model)]
        if rows.empty:
            placeholder(f"{model} on {dataset}: no drift metric to score", png, pdf, dpi)
            continue
        failure_figure(rows, png, pdf, dpi)
