from salsweep.condition import Condition
from salsweep.snakemake_io import run_script
from salsweep.stages.classify import classify_shard

run_script(
    snakemake,
    classify_shard,
    images_path=snakemake.input.images,
    classes_path=snakemake.input.classes,
    out_path=snakemake.output.predictions,
    probs_path=snakemake.output.probs,
    condition=Condition.from_wildcards(snakemake.wildcards),
    model=snakemake.wildcards.model,
    spec=snakemake.params.spec,
    device=snakemake.params.device,
    weights_path=snakemake.input.get("weights"),
    batch_size=snakemake.params.batch_size,
    deterministic=snakemake.params.deterministic,
    threads=snakemake.threads,
)
