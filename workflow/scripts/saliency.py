from salsweep.io import level_table, level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.saliency import explain_sweep

levels = snakemake.params.levels
run_script(
    snakemake,
    explain_sweep,
    image_paths=list(snakemake.input.images),
    prediction_paths=[level_table(snakemake.input.predictions, level) for level in levels],
    classes_path=snakemake.input.classes,
    out_paths=[level_tensors(snakemake.output.maps, level) for level in levels],
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
