from salsweep.condition import Condition
from salsweep.snakemake_io import run_script
from salsweep.stages.map_metrics import score_shard

run_script(
    snakemake,
    score_shard,
    maps_path=snakemake.input.maps,
    images_path=snakemake.input.images,
    out_path=snakemake.output.metrics,
    reference_path=snakemake.input.get("reference"),
    metric_specs=snakemake.params.metrics,
    condition=Condition.from_wildcards(snakemake.wildcards),
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
    clean_images_path=snakemake.input.get("clean_images"),
    probs_path=snakemake.input.get("probs"),
    clean_probs_path=snakemake.input.get("clean_probs"),
    perturbation_spec=snakemake.params.perturbation,
    level=snakemake.wildcards.level,
)
