from salsweep.figures.class_grids import draw_class_grids
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_class_grids,
    examples_path=snakemake.input.examples,
    grids=snakemake.params.grids,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
