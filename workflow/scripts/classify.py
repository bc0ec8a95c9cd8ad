from salsweep.condition import Condition
from salsweep.io import level_table, level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.classify import classify_sweep

levels = snakemake.params.levels
run_script(
    snakemake,
    classify_sweep,
    image_paths=list(snakemake.input.images),
    classes_path=snakemake.input.classes,
    out_paths=[level_table(snakemake.output.predictions, level) for level in levels],
    probs_paths=[level_tensors(snakemake.output.probs, level) for level in levels],
    conditions=[
        Condition(snakemake.wildcards.dataset, snakemake.wildcards.perturbation, level)
        for level in levels
    ],
    model=snakemake.wildcards.model,
    spec=snakemake.params.spec,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    batch_size=snakemake.params.batch_size,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
