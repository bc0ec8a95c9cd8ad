"""Figures drawn from the result tables alone, in one style: seaborn paper context,
PNG at the configured dpi plus a vector PDF (with no creation date, so reruns match).

seaborn and scipy are imported only where a figure needs them (the drift heatmap): the
import costs ~1.2 s a job, and ``snakemake figures`` runs one job per figure kind."""

from __future__ import annotations

import itertools
import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import cycler  # noqa: E402

from salsweep.condition import CLEAN  # noqa: E402
from salsweep.io import atomic_path, decode_map, decode_png  # noqa: E402
from salsweep.stats import wilson_interval  # noqa: E402

log = logging.getLogger(__name__)

MAIN_TARGETS = ("truth", "pred")  # per-class targets (targets: all) have their own figure


# seaborn's colorblind palette (the first 10 colours of sns.color_palette("colorblind")).
PALETTE = [
    (0.00392156862745098, 0.45098039215686275, 0.6980392156862745),
    (0.8705882352941177, 0.5607843137254902, 0.0196078431372549),
    (0.00784313725490196, 0.6196078431372549, 0.45098039215686275),
    (0.8352941176470589, 0.3686274509803922, 0.0),
    (0.8, 0.47058823529411764, 0.7372549019607844),
    (0.792156862745098, 0.5686274509803921, 0.3803921568627451),
    (0.984313725490196, 0.6862745098039216, 0.8941176470588236),
    (0.5803921568627451, 0.5803921568627451, 0.5803921568627451),
    (0.9254901960784314, 0.8823529411764706, 0.2),
    (0.33725490196078434, 0.7058823529411765, 0.9137254901960784),
]
# What sns.set_theme(context="paper", style="whitegrid", palette="colorblind",
# font_scale=1.1) sets (tests/test_figures.py checks it still is), without importing seaborn.
PAPER_STYLE = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.labelsize": 10.56,
    "axes.linewidth": 1.0,
    "axes.prop_cycle": cycler("color", PALETTE),
    "axes.titlesize": 10.56,
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "font.size": 10.56,
    "grid.color": ".8",
    "legend.fontsize": 9.68,
    "legend.title_fontsize": 10.56,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.8,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "patch.linewidth": 0.8,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.labelsize": 9.68,
    "xtick.major.size": 4.8,
    "xtick.major.width": 1.0,
    "xtick.minor.size": 3.2,
    "xtick.minor.width": 0.8,
    "ytick.color": ".15",
    "ytick.labelsize": 9.68,
    "ytick.left": False,
    "ytick.major.size": 4.8,
    "ytick.major.width": 1.0,
    "ytick.minor.size": 3.2,
    "ytick.minor.width": 0.8,
}


def set_style() -> None:
    plt.rcParams.update(PAPER_STYLE)
    # A fixed title position: matplotlib's automatic one measures every axis's tick labels
    # on each draw.
    plt.rcParams.update({"figure.max_open_warning": 0, "axes.titley": 1.0})


def save(fig: plt.Figure, png: str, pdf: str, dpi: int) -> None:
    with atomic_path(png) as tmp:
        # Fast zlib level: big grids spend most of their time in PNG compression.
        fig.savefig(
            tmp,
            format="png",
            dpi=dpi,
            metadata={"Software": None},
            pil_kwargs={"compress_level": 1},
        )
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None})
    plt.close(fig)


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


def placeholder(text: str, png: str, pdf: str, dpi: int) -> None:
    """A page that says why there is nothing to draw, so the set of files stays fixed."""
    set_style()
    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    save(fig, png, pdf, dpi)


def ordered_conditions(table: pd.DataFrame) -> list[tuple[str, float]]:
    """The (perturbation, level) pairs of a table: clean first, then by sweep and level."""
    pairs = set(table[["perturbation", "level"]].itertuples(index=False, name=None))
    return sorted(pairs, key=lambda pair: (pair[0] != CLEAN, pair[0], pair[1]))


def with_clean_reference(table: pd.DataFrame, identity_levels: dict[str, float]) -> pd.DataFrame:
    """Copy the clean rows into each sweep at that sweep's identity level (the x of 'no change')."""
    clean = table[table["perturbation"] == CLEAN]
    parts = [table[table["perturbation"] != CLEAN]]
    for perturbation, level in identity_levels.items():
        parts.append(clean.assign(perturbation=perturbation, level=float(level)))
    return pd.concat(parts, ignore_index=True)


def accuracy_figure(
    predictions: pd.DataFrame, identity_levels: dict[str, float], png: str, pdf: str, dpi: int
) -> None:
    """Item-response curves: one facet per perturbation, one line per dataset/model pair."""
    set_style()
    table = with_clean_reference(predictions, identity_levels)
    rows = []
    for (perturbation, dataset, model, level), group in table.groupby(
        ["perturbation", "dataset", "model", "level"], sort=True
    ):
        n, k = len(group), int(group["correct"].sum())
        low, high = wilson_interval(k, n)
        rows.append((perturbation, f"{model} on {dataset}", level, k / n, low, high, n))
    curve = pd.DataFrame(
        rows, columns=["perturbation", "pair", "level", "accuracy", "low", "high", "n"]
    )
    perturbations = list(identity_levels)
    ncols = min(3, max(1, len(perturbations)))
    nrows = int(np.ceil(len(perturbations) / ncols)) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    palette = dict(zip(sorted(curve["pair"].unique()), itertools.cycle(PALETTE)))
    for ax, perturbation in zip(axes.flat, perturbations, strict=False):
        part = curve[curve["perturbation"] == perturbation]
        for pair, line in part.groupby("pair", sort=True):
            line = line.sort_values("level")
            ax.plot(line["level"], line["accuracy"], marker="o", label=pair, color=palette[pair])
            ax.fill_between(
                line["level"], line["low"], line["high"], alpha=0.2, color=palette[pair]
            )
        ax.axvline(identity_levels[perturbation], color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(perturbation)
        ax.set_xlabel("level")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
    for ax in list(axes.flat)[len(perturbations) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=min(4, len(labels)),
            bbox_to_anchor=(0.5, -0.06),
            frameon=False,
        )
    fig.suptitle("Accuracy against perturbation level (clean at dashed line; 95% Wilson CI)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save(fig, png, pdf, dpi)


def metrics_figure(
    summary: pd.DataFrame,
    dataset: str,
    model: str,
    perturbation: str,
    identity_level: float,
    png: str,
    pdf: str,
    dpi: int,
) -> None:
    """One sweep of one pair: facets method x metric, x = level, hue = target, the mean and
    95% t-interval over images of summary.csv (``salsweep.stages.aggregate.summarize``)."""
    set_style()
    table = summary[
        (summary["dataset"] == dataset)
        & (summary["model"] == model)
        & (summary["metric"] != "accuracy")
    ]
    table = with_clean_reference(table, {perturbation: identity_level})
    table = table[(table["perturbation"] == perturbation) & np.isfinite(table["mean"])]
    table = table[table["target"].isin(MAIN_TARGETS)].sort_values("level", kind="stable")
    methods = sorted(table["method"].unique())
    names = list(dict.fromkeys(table["metric"]))
    if table.empty:
        placeholder(f"no finite values: {model} on {dataset}, {perturbation}", png, pdf, dpi)
        return
    targets = sorted(table["target"].unique(), key=lambda t: (t != "truth", t))
    colours = dict(zip(targets, itertools.cycle(PALETTE)))
    fig, axes, (width, height) = fixed_grid(
        len(methods),
        len(names),
        cell=(3.0, 2.3),
        pad=(1.3, 0.9),
        margins=(0.6, 1.3, 0.55, 0.75),
        spacing=(0.32, 0.35),
        sharex=True,
    )
    panels = dict(iter(table.groupby(["method", "metric", "target"], sort=False)))
    for (r, method), (c, metric) in itertools.product(enumerate(methods), enumerate(names)):
        ax = axes[r, c]
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
        ax.axvline(identity_level, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(f"{method} | {metric}", fontsize=8)
        ax.set_xlabel(perturbation if r == len(methods) - 1 else "")
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            title="target",
            loc="upper right",
            bbox_to_anchor=(1 - 0.1 / width, 1 - 0.75 / height),
            frameon=False,
        )
    fig.suptitle(
        f"{model} on {dataset}: map metrics against {perturbation} level (95% CI)",
        y=1 - 0.25 / height,
    )
    save(fig, png, pdf, dpi)


DISPLAY_PERCENTILE = 99.5


def display_scaled(sal: np.ndarray) -> np.ndarray:
    """For display only: divide by the 99.5th percentile of |map| and clip to [-1, 1], so a
    few extreme pixels (typical of raw gradients) do not wash the rest of the map out."""
    scale = float(np.percentile(np.abs(sal), DISPLAY_PERCENTILE))
    return np.clip(sal / scale, -1.0, 1.0) if scale > 0 else sal


def overlay(image: np.ndarray, sal: np.ndarray, colormap, norm, alpha: float = 0.6):
    """The map in colour blended over the image, as one RGB array (one draw per panel)."""
    coloured = colormap(norm(display_scaled(sal)))[..., :3]
    return (1 - alpha) * image.astype(np.float32) / 255.0 + alpha * coloured


def grid_figure(examples: pd.DataFrame, predictions: pd.DataFrame, png: str, pdf: str, dpi: int):
    """Seed 001's style: rows are levels; columns: image, truth-class map, predicted-class map."""
    set_style()
    keys = examples.iloc[0]
    image_id = keys["image_id"]
    preds = predictions[
        (predictions["dataset"] == keys["dataset"])
        & (predictions["model"] == keys["model"])
        & (predictions["image_id"] == image_id)
    ].set_index(["perturbation", "level"])
    conditions = ordered_conditions(examples)
    targets = [t for t in ("truth", "pred") if t in set(examples["target"])]
    signed = bool(keys["signed"])
    colormap = plt.get_cmap("RdBu_r" if signed else "inferno")
    norm = matplotlib.colors.Normalize(vmin=-1.0 if signed else 0.0, vmax=1.0)
    ncols = 1 + len(targets)
    nrows = len(conditions)
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=(1.9, 2.05),
        pad=(1.2, 0.7),
        margins=(0.1, 1.2, 0.1, 0.75),
        spacing=(0.08, 0.22),
    )
    for r, (perturbation, level) in enumerate(conditions):
        rows = examples[(examples["perturbation"] == perturbation) & (examples["level"] == level)]
        image = decode_png(rows.iloc[0]["image"])
        pred = preds.loc[(perturbation, level)] if (perturbation, level) in preds.index else None
        label = "clean" if perturbation == CLEAN else f"{perturbation}={level:g}"
        axes[r, 0].imshow(image, interpolation="none")
        axes[r, 0].set_title(label, fontsize=8)
        for c, target in enumerate(targets, start=1):
            row = rows[rows["target"] == target].iloc[0]
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(overlay(image, sal, colormap, norm), interpolation="none")
            prob = ""
            if pred is not None:
                column = "prob_label" if target == "truth" else "prob_pred"
                prob = f" p={float(pred[column]):.2f}"
            axes[r, c].set_title(f"{target}: {row['class_name'][:18]}{prob}", fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()  # images need no axis; its ticks and spines are half the draw
    colorbar_axes = fig.add_axes((1 - 1.05 / width, 0.3, 0.12 / width, 0.4))
    fig.colorbar(
        matplotlib.cm.ScalarMappable(norm=norm, cmap=colormap),
        cax=colorbar_axes,
        label="saliency",
    )
    fig.suptitle(
        f"{keys['method']} | {keys['model']} on {keys['dataset']} | {image_id}",
        fontsize=10,
        y=1 - 0.2 / height,
    )
    save(fig, png, pdf, dpi)


def draw_accuracy(predictions_path: str, identity_levels: dict, png: str, pdf: str, dpi: int):
    from salsweep.io import read_table

    accuracy_figure(read_table(predictions_path), identity_levels, png, pdf, dpi)


def draw_metrics(
    summary_path: str,
    panels: list,
    identity_levels: dict,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One figure per (dataset, model, perturbation) in ``panels``, in the order of pngs."""
    from salsweep.io import read_summary

    summary = read_summary(summary_path)
    for (dataset, model, perturbation), png, pdf in zip(panels, pngs, pdfs, strict=True):
        level = identity_levels[perturbation]
        metrics_figure(summary, dataset, model, perturbation, level, png, pdf, dpi)


def draw_grids(
    examples_path: str,
    predictions_path: str,
    grids: list,
    pngs: list[str],
    pdfs: list[str],
    dpi: int,
) -> None:
    """One grid per (dataset, model, method, example index) in ``grids``, in the order of
    pngs; an index past the dataset's size gets a page that says so, so the set of files is
    fixed by the config."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    predictions = read_table(predictions_path)
    groups = dict(iter(examples.groupby(["dataset", "model", "method"], sort=False)))
    for (dataset, model, method, index), png, pdf in zip(grids, pngs, pdfs, strict=True):
        group = groups.get((dataset, model, method))
        ids = list(dict.fromkeys(group["image_id"])) if group is not None else []
        if index >= len(ids):
            placeholder(f"{dataset}/{model}/{method}: fewer than {index + 1} images", png, pdf, dpi)
            continue
        grid_figure(group[group["image_id"] == ids[index]], predictions, png, pdf, dpi)


def drift_heatmap(metrics: pd.DataFrame, png: str, pdf: str, dpi: int, metric: str = "xcorr"):
    """Method x perturbation, colour = mean drift metric at each sweep's strongest level,
    one panel per (dataset, model, target)."""
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
    ncols = min(4, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.6 * ncols, 0.5 + 0.45 * table["method"].nunique() * nrows + 1.2),
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


def methods_figure(examples: pd.DataFrame, png: str, pdf: str, dpi: int, target: str = "truth"):
    """Seed 003's style for one image: one column per method, rows are levels."""
    set_style()
    examples = examples[examples["target"] == target]
    keys = examples.iloc[0]
    methods = sorted(examples["method"].unique())
    conditions = ordered_conditions(examples)
    nrows, ncols = len(conditions), 1 + len(methods)
    fig, axes, (width, height) = fixed_grid(
        nrows,
        ncols,
        cell=(1.7, 1.85),
        pad=(0.2, 0.7),
        margins=(0.1, 0.1, 0.1, 0.75),
        spacing=(0.08, 0.25),
    )
    for r, (perturbation, level) in enumerate(conditions):
        rows = examples[(examples["perturbation"] == perturbation) & (examples["level"] == level)]
        image = decode_png(rows.iloc[0]["image"])
        label = "clean" if perturbation == CLEAN else f"{perturbation}={level:g}"
        axes[r, 0].imshow(image, interpolation="none")
        axes[r, 0].set_title(label, fontsize=8)
        for c, method in enumerate(methods, start=1):
            row = rows[rows["method"] == method].iloc[0]
            signed = bool(row["signed"])
            colormap = plt.get_cmap("RdBu_r" if signed else "inferno")
            norm = matplotlib.colors.Normalize(vmin=-1.0 if signed else 0.0, vmax=1.0)
            sal = decode_map(row).astype(np.float32)
            axes[r, c].imshow(overlay(image, sal, colormap, norm), interpolation="none")
            if r == 0:
                axes[r, c].set_title(method, fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()  # images need no axis; its ticks and spines are half the draw
    fig.suptitle(
        f"{keys['model']} on {keys['dataset']} | {keys['image_id']}\n"
        f"{target}: {keys['class_name']}",
        fontsize=9,
        y=1 - 0.2 / height,
    )
    save(fig, png, pdf, dpi)


def draw_drift(metrics_path: str, png: str, pdf: str, dpi: int) -> None:
    from salsweep.io import read_table

    drift_heatmap(read_table(metrics_path), png, pdf, dpi)


def draw_method_grids(
    examples_path: str, keys: list, pngs: list[str], pdfs: list[str], dpi: int
) -> None:
    """One figure per (dataset, model, example index) in ``keys``."""
    from salsweep.io import read_table

    examples = read_table(examples_path)
    for (dataset, model, index), png, pdf in zip(keys, pngs, pdfs, strict=True):
        part = examples[(examples["dataset"] == dataset) & (examples["model"] == model)]
        ids = list(dict.fromkeys(part["image_id"]))
        if index >= len(ids):
            placeholder(f"{dataset}/{model}: fewer than {index + 1} images", png, pdf, dpi)
            continue
        methods_figure(part[part["image_id"] == ids[index]], png, pdf, dpi)


def class_grid_figure(examples: pd.DataFrame, png: str, pdf: str, dpi: int) -> None:
    """Seed 000's style: every class's map for one image; rows are levels, columns classes.
    Signed maps use a diverging colormap (red = evidence for the class)."""
    set_style()
    keys = examples.iloc[0]
    classes = examples[examples["target"].str.startswith("class_")]
    truth = examples[examples["target"] == "truth"]
    pred = examples[examples["target"] == "pred"]
    order = sorted(set(classes["target"]), key=lambda t: int(t[6:]))
    conditions = ordered_conditions(classes)
    signed = bool(keys["signed"])
    colormap = plt.get_cmap("RdBu_r" if signed else "inferno")
    norm = matplotlib.colors.Normalize(vmin=-1.0 if signed else 0.0, vmax=1.0)
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
        axes[r, 0].set_title(
            "clean" if perturbation == CLEAN else f"{perturbation}={level:g}", fontsize=7
        )
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
    """One all-classes grid per (dataset, model, method, example index) in ``grids``."""
    from salsweep.io import read_table

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
