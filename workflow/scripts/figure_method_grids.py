from salsweep.figures.method_grids import draw_method_grids
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_method_grids,
    examples_path=snakemake.input.examples,
    keys=snakemake.params.grid_keys,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
