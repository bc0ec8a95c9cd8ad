from salsweep.snakemake_io import run_script
from salsweep.stages.saliency import explain_shard

run_script(
    snakemake,
    explain_shard,
    images_path=snakemake.input.images,
    predictions_path=snakemake.input.predictions,
    classes_path=snakemake.input.classes,
    out_path=snakemake.output.maps,
    method=snakemake.wildcards.method,
    method_params=snakemake.params.method_params,
    target_names=snakemake.params.targets,
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
