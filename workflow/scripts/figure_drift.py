from salsweep.figures.drift import draw_drift
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_drift,
    metrics_path=snakemake.input.metrics,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
    dpi=snakemake.params.dpi,
)
