from salsweep.figures.flips import draw_flips
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_flips,
    examples_path=snakemake.input.examples,
    flip_levels_path=snakemake.input.flip_levels,
    pairs=snakemake.params.pairs,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
