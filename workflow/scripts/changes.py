from salsweep.condition import CLEAN_LEVEL, Condition
from salsweep.io import level_tensors
from salsweep.snakemake_io import level_input, run_script
from salsweep.stages.changes import changes_shard

dataset = snakemake.wildcards.dataset
run_script(
    snakemake,
    changes_shard,
    clean_images_path=snakemake.input.clean_images,
    clean_probs_path=level_input(snakemake, "clean_probs", CLEAN_LEVEL),
    copies=[
        (Condition(dataset, perturbation, level), images, level_tensors(probs, level))
        for (perturbation, level), images, probs in zip(
            snakemake.params.conditions, snakemake.input.images, snakemake.input.probs, strict=True
        )
    ],
    out_path=snakemake.output.changes,
    model=snakemake.wildcards.model,
)
