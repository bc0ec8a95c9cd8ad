from salsweep.snakemake_io import run_script
from salsweep.stages.scale_tables import write_truth_vs_pred_table

run_script(
    snakemake,
    write_truth_vs_pred_table,
    metrics_path=snakemake.input.metrics,
    examples_path=snakemake.input.examples,
    out_path=snakemake.output.table,
)
