from salsweep.figures.metrics import draw_metrics
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_metrics,
    summary_path=snakemake.input.summary,
    panels=snakemake.params.panels,
    identity_levels=snakemake.params.identity_levels,
    level_axes=snakemake.params.level_axes,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
