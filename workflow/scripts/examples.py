from salsweep.condition import Condition
from salsweep.io import level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.examples import collect_examples

conditions = [Condition(**fields) for fields in snakemake.params.conditions]
run_script(
    snakemake,
    collect_examples,
    map_paths=[
        level_tensors(folder, condition.level)
        for folder, condition in zip(snakemake.input.maps, conditions, strict=True)
    ],
    image_paths=list(snakemake.input.images),
    out_path=snakemake.output.examples,
    conditions=conditions,
    n_examples=snakemake.params.n_examples,
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
)
