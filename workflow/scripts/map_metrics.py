from salsweep.condition import CLEAN_LEVEL, Condition
from salsweep.snakemake_io import level_input, run_script
from salsweep.stages.map_metrics import score_shard

level = snakemake.wildcards.level
run_script(
    snakemake,
    score_shard,
    maps_path=level_input(snakemake, "maps", level),
    images_path=snakemake.input.images,
    out_path=snakemake.output.metrics,
    reference_path=level_input(snakemake, "reference", CLEAN_LEVEL),
    metric_specs=snakemake.params.metrics,
    condition=Condition.from_wildcards(snakemake.wildcards),
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
    clean_images_path=snakemake.input.get("clean_images"),
    probs_path=level_input(snakemake, "probs", level),
    clean_probs_path=level_input(snakemake, "clean_probs", CLEAN_LEVEL),
    perturbation_spec=snakemake.params.perturbation,
    level=level,
)
