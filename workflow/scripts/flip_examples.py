from salsweep.io import level_tensors
from salsweep.snakemake_io import run_script
from salsweep.stages.flip_levels import collect_flip_examples

keys = snakemake.params.map_keys
run_script(
    snakemake,
    collect_flip_examples,
    flip_levels_path=snakemake.input.flip_levels,
    map_paths=[
        level_tensors(folder, key["condition"]["level"])
        for folder, key in zip(snakemake.input.maps, keys, strict=True)
    ],
    map_conditions=[key["condition"] for key in keys],
    map_methods=[key["method"] for key in keys],
    image_paths=list(snakemake.input.images),
    image_conditions=list(snakemake.params.image_conditions),
    out_path=snakemake.output.examples,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    levels=snakemake.params.levels,
    identity_levels=snakemake.params.identity_levels,
    per_sweep=snakemake.params.per_sweep,
)
