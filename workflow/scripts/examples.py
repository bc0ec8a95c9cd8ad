from salsweep.condition import Condition
from salsweep.snakemake_io import run_script
from salsweep.stages.examples import collect_examples

run_script(
    snakemake,
    collect_examples,
    map_paths=list(snakemake.input.maps),
    image_paths=list(snakemake.input.images),
    out_path=snakemake.output.examples,
    conditions=[Condition(**fields) for fields in snakemake.params.conditions],
    n_examples=snakemake.params.n_examples,
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
)
