from salsweep.condition import CLEAN_LEVEL
from salsweep.io import level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.sanity_examples import collect_sanity_examples

run_script(
    snakemake,
    collect_sanity_examples,
    clean_map_paths=[level_tensors(folder, CLEAN_LEVEL) for folder in snakemake.input.clean_maps],
    floor_map_paths=list(snakemake.input.floor_maps),
    image_path=snakemake.input.images,
    out_path=snakemake.output.examples,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    methods=list(snakemake.params.methods),
    floors=list(snakemake.params.floors),
)
