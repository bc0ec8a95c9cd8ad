from salsweep.condition import Condition
from salsweep.snakemake_io import level_input, run_script
from salsweep.stages.model_metrics import score_model_shard

run_script(
    snakemake,
    score_model_shard,
    maps_path=level_input(snakemake, "maps", snakemake.wildcards.level),
    images_path=snakemake.input.images,
    classes_path=snakemake.input.classes,
    out_path=snakemake.output.metrics,
    metric_specs=snakemake.params.metrics,
    condition=Condition.from_wildcards(snakemake.wildcards),
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
    spec=snakemake.params.spec,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    batch_size=snakemake.params.batch_size,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
