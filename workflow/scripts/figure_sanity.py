from salsweep.figures.sanity import draw_sanity
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_sanity,
    example_paths=list(snakemake.input.examples),
    summary_path=snakemake.input.summary,
    pngs=list(snakemake.output.png),
    pdfs=list(snakemake.output.pdf),
    dpi=snakemake.params.dpi,
)
