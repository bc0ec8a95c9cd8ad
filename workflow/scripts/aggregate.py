from salsweep.io import level_table
from salsweep.snakemake_io import run_script
from salsweep.stages.aggregate import aggregate

run_script(
    snakemake,
    aggregate,
    prediction_paths=[
        level_table(folder, level)
        for folder, level in zip(
            snakemake.input.predictions, snakemake.params.prediction_levels, strict=True
        )
    ],
    metric_paths=list(snakemake.input.metrics),
    reject_paths=list(snakemake.input.rejects),
    out_predictions=snakemake.output.predictions,
    out_metrics=snakemake.output.metrics,
    out_summary=snakemake.output.summary,
    out_rejects=snakemake.output.rejects,
    change_paths=list(snakemake.input.changes),
    floor_paths=list(snakemake.input.floors),
    out_changes=snakemake.output.changes,
    out_floors=snakemake.output.floors,
)
