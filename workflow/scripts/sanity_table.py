from salsweep.snakemake_io import run_script
from salsweep.stages.scale_tables import write_sanity_table

run_script(
    snakemake,
    write_sanity_table,
    summary_path=snakemake.input.summary,
    out_path=snakemake.output.sanity,
)
