from salsweep.figures.accuracy import draw_accuracy
from salsweep.snakemake_io import run_script

run_script(
    snakemake,
    draw_accuracy,
    predictions_path=snakemake.input.predictions,
    identity_levels=snakemake.params.identity_levels,
    level_axes=snakemake.params.level_axes,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
    dpi=snakemake.params.dpi,
    flip_levels_path=snakemake.input.flip_levels,
)
