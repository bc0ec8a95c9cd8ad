from salsweep.snakemake_io import run_script
from salsweep.stages.train_masker import train_masker_job

run_script(
    snakemake,
    train_masker_job,
    images_path=snakemake.input.images,
    classes_path=snakemake.input.classes,
    masker_path=snakemake.output.masker,
    metrics_path=snakemake.output.metrics,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    split=snakemake.params.split,
    spec=snakemake.params.spec,
    method_params=snakemake.params.method_params,
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
