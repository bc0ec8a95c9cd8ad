from salsweep.snakemake_io import run_script
from salsweep.stages.failure import write_failure

run_script(
    snakemake,
    write_failure,
    predictions_path=snakemake.input.predictions,
    metrics_path=snakemake.input.metrics,
    changes_path=snakemake.input.changes,
    out_path=snakemake.output.failure,
    drift_metrics=snakemake.params.drift_metrics,
    identity_levels=snakemake.params.identity_levels,
    seed=snakemake.params.seed,
)
