from salsweep.figures.drift_vs_change import draw_drift_vs_change
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_drift_vs_change,
    summary_path=snakemake.input.summary,
    changes_path=snakemake.input.changes,
    pairs=snakemake.params.pairs,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
