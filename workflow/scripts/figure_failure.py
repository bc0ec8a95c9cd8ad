from salsweep.figures.failure import draw_failure
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_failure,
    failure_path=snakemake.input.failure,
    pairs=snakemake.params.pairs,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
