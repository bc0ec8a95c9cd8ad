from salsweep.condition import Condition
from salsweep.snakemake_io import run_script
from salsweep.stages.changes import changes_shard

dataset = snakemake.wildcards.dataset
run_script(
    snakemake,
    changes_shard,
    clean_images_path=snakemake.input.clean_images,
    clean_probs_path=snakemake.input.clean_probs,
    copies=[
        (Condition(dataset, perturbation, level), images, probs)
        for (perturbation, level), images, probs in zip(
            snakemake.params.conditions, snakemake.input.images, snakemake.input.probs, strict=True
        )
    ],
    out_path=snakemake.output.changes,
    model=snakemake.wildcards.model,
)
