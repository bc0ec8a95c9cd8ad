from salsweep.figures.grids import draw_grids
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_grids,
    examples_path=snakemake.input.examples,
    predictions_path=snakemake.input.predictions,
    grids=snakemake.params.grids,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
