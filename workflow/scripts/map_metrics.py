from salsweep.condition import CLEAN_LEVEL, Condition
from salsweep.io import level_tensors
from salsweep.snakemake_io import level_input, run_script
from salsweep.stages.map_metrics import score_sweep

levels = snakemake.params.levels
probs = snakemake.input.get("probs")
run_script(
    snakemake,
    score_sweep,
    maps_paths=[level_tensors(snakemake.input.maps, level) for level in levels],
    image_paths=list(snakemake.input.images),
    out_path=snakemake.output.metrics,
    conditions=[
        Condition(snakemake.wildcards.dataset, snakemake.wildcards.perturbation, level)
        for level in levels
    ],
    reference_path=level_input(snakemake, "reference", CLEAN_LEVEL),
    metric_specs=snakemake.params.metrics,
    model=snakemake.wildcards.model,
    method=snakemake.wildcards.method,
    clean_images_path=snakemake.input.get("clean_images"),
    probs_paths=[level_tensors(probs, level) for level in levels] if probs else None,
    clean_probs_path=level_input(snakemake, "clean_probs", CLEAN_LEVEL),
    perturbation_spec=snakemake.params.perturbation,
)
