from salsweep.condition import Condition
from salsweep.io import level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.model_metrics import score_model_sweep

levels = snakemake.params.levels
run_script(
    snakemake,
    score_model_sweep,
    maps_paths=[level_tensors(snakemake.input.maps, level) for level in levels],
    image_paths=list(snakemake.input.images),
    classes_path=snakemake.input.classes,
    out_path=snakemake.output.metrics,
    metric_specs=snakemake.params.metrics,
    conditions=[
        Condition(snakemake.wildcards.dataset, snakemake.wildcards.perturbation, level)
        for level in levels
    ],
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
    spec=snakemake.params.spec,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    batch_size=snakemake.params.batch_size,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
