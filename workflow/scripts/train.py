from salsweep.snakemake_io import run_script
from salsweep.stages.train import train_model

run_script(
    snakemake,
    train_model,
    train_path=snakemake.input.train,
    test_path=snakemake.input.test,
    classes_path=snakemake.input.classes,
    weights_path=snakemake.output.weights,
    metrics_path=snakemake.output.metrics,
    params=snakemake.params.spec.get("train", {}),
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
