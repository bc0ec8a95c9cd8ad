from salsweep.condition import CLEAN_LEVEL
from salsweep.snakemake_io import level_input, run_script
from salsweep.stages.floors import floors_shard

run_script(
    snakemake,
    floors_shard,
    images_path=snakemake.input.images,
    classes_path=snakemake.input.classes,
    reference_path=level_input(snakemake, "reference", CLEAN_LEVEL),
    out_maps=dict(zip(snakemake.params.floors, snakemake.output.maps, strict=True)),
    out_metrics=snakemake.output.metrics,
    method=snakemake.wildcards.method,
    method_params=snakemake.params.method_params,
    metric_specs=snakemake.params.metrics,
    spec=snakemake.params.spec,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    batch_size=snakemake.params.batch_size,
    seed=snakemake.params.seed,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
    masker_path=snakemake.input.get("masker"),
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
)
