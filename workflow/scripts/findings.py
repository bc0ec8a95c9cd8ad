from salsweep.snakemake_io import run_script
from salsweep.stages.findings import write_findings

run_script(
    snakemake,
    write_findings,
    summary_path=snakemake.input.summary,
    flip_levels_path=snakemake.input.flip_levels,
    failure_path=snakemake.input.failure,
    html_path=snakemake.output.page,
    csv_path=snakemake.output.table,
    drift_metrics=snakemake.params.drift_metrics,
    identity_levels=snakemake.params.identity_levels,
)
