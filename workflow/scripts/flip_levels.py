from salsweep.snakemake_io import run_script
from salsweep.stages.flip_levels import write_flip_levels

run_script(
    snakemake,
    write_flip_levels,
    predictions_path=snakemake.input.predictions,
    out_path=snakemake.output.flip_levels,
    identity_levels=snakemake.params.identity_levels,
)
