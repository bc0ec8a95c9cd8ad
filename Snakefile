from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/dataset.smk"
include: "rules/perturb.smk"
include: "rules/train.smk"
include: "rules/train_masker.smk"
include: "rules/classify.smk"
include: "rules/saliency.smk"
include: "rules/map_metrics.smk"
include: "rules/model_metrics.smk"
include: "rules/changes.smk"
include: "rules/floors.smk"
include: "rules/aggregate.smk"
include: "rules/examples.smk"
include: "rules/figures.smk"
include: "rules/sanity_examples.smk"
include: "rules/sanity_table.smk"
include: "rules/truth_vs_pred_table.smk"
include: "rules/manifest.smk"
include: "rules/flip_levels.smk"
include: "rules/failure.smk"
include: "rules/flip_examples.smk"
include: "rules/findings.smk"
include: "rules/figure_failure.smk"
include: "rules/figure_flips.smk"


onstart:
    record_run_start()


rule all:
    default_target: True
    input:
        all_targets(),
