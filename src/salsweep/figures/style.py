"""The one look of every figure, and how figures are saved.

seaborn and scipy are imported only where a figure needs them (the drift heatmap): the
import costs ~1.2 s a job, and ``snakemake figures`` runs one job per figure kind."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import cycler  # noqa: E402

from salsweep.io import atomic_path  # noqa: E402

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


def placeholder(text: str, png: str, pdf: str, dpi: int) -> None:
    """A page that says why there is nothing to draw, so the set of files stays fixed."""
    set_style()
    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    save(fig, png, pdf, dpi)
