localrules:
    figures,
    figure_accuracy,
    figure_metrics,
    figure_grids,
    figure_drift,
    figure_method_grids,
    figure_class_grids,
    figure_drift_vs_change,
    figure_sanity,


rule figure_accuracy:
    input:
        predictions=PREDICTIONS_TABLE,
        flip_levels=FLIP_LEVELS_TABLE,
    output:
        png=report(
            fill(ACCURACY_FIGURE, ext="png"),
            caption="../workflow/report/accuracy.rst",
            category="Accuracy",
        ),
        pdf=fill(ACCURACY_FIGURE, ext="pdf"),
    log:
        f"{RESULTS}/logs/figure_accuracy.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_accuracy.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        identity_levels=IDENTITY_LEVELS,
        level_axes=LEVEL_AXES,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_accuracy.py"


rule figure_metrics:
    input:
        summary=SUMMARY_TABLE,
    output:
        png=report(
            metric_figures("png"),
            caption="../workflow/report/metrics.rst",
            category="Metrics against level",
        ),
        pdf=metric_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_metrics.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_metrics.tsv"
    # The longest figure jobs start first, so that `snakemake figures` packs onto few cores.
    priority: 1
    conda:
        "../envs/plotting.yaml"
    params:
        panels=metric_panels(),
        identity_levels=IDENTITY_LEVELS,
        level_axes=LEVEL_AXES,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_metrics.py"


rule figure_grids:
    input:
        examples=EXAMPLES_TABLE,
        predictions=PREDICTIONS_TABLE,
    output:
        png=report(
            grid_figures("png"),
            caption="../workflow/report/grid.rst",
            category="Saliency grids",
        ),
        pdf=grid_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_grids.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_grids.tsv"
    # The longest figure jobs start first, so that `snakemake figures` packs onto few cores.
    priority: 1
    conda:
        "../envs/plotting.yaml"
    params:
        grids=grid_keys(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_grids.py"


rule figure_drift:
    input:
        metrics=METRICS_TABLE,
    output:
        png=report(
            fill(DRIFT_FIGURE, ext="png"),
            caption="../workflow/report/drift.rst",
            category="Drift",
        ),
        pdf=fill(DRIFT_FIGURE, ext="pdf"),
    log:
        f"{RESULTS}/logs/figure_drift.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_drift.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_drift.py"


rule figure_method_grids:
    input:
        examples=EXAMPLES_TABLE,
    output:
        png=report(
            method_grid_figures("png"),
            caption="../workflow/report/methods.rst",
            category="Methods side by side",
        ),
        pdf=method_grid_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_method_grids.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_method_grids.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        grid_keys=method_grid_keys(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_method_grids.py"


rule figure_class_grids:
    input:
        examples=EXAMPLES_TABLE,
    output:
        png=report(
            class_grid_figures("png"),
            caption="../workflow/report/classes.rst",
            category="All-class maps",
        ),
        pdf=class_grid_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_class_grids.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_class_grids.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        grids=class_grid_keys(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_class_grids.py"


rule figure_drift_vs_change:
    input:
        summary=SUMMARY_TABLE,
        changes=CHANGES_TABLE,
    output:
        png=report(
            drift_vs_change_figures("png"),
            caption="../workflow/report/drift_vs_change.rst",
            category="Scale",
        ),
        pdf=drift_vs_change_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_drift_vs_change.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_drift_vs_change.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        pairs=STUDY.pairs(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_drift_vs_change.py"


rule figure_sanity:
    input:
        examples=sanity_example_tables(),
        summary=SUMMARY_TABLE,
    output:
        png=report(
            sanity_figures("png"),
            caption="../workflow/report/sanity.rst",
            category="Scale",
        ),
        pdf=sanity_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_sanity.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_sanity.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_sanity.py"


rule figures:
    input:
        figure_targets(),
