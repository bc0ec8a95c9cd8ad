localrules:
    figures,


rule figure_accuracy:
    input:
        predictions=f"{RESULTS}/tables/predictions.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/accuracy.png",
            caption="../workflow/report/accuracy.rst",
            category="Accuracy",
        ),
        pdf=f"{RESULTS}/figures/accuracy.pdf",
    log:
        f"{RESULTS}/logs/figure_accuracy.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_accuracy.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        identity_levels=IDENTITY_LEVELS,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_accuracy.py"


rule figure_metrics:
    input:
        metrics=f"{RESULTS}/tables/metrics.parquet",
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
    conda:
        "../envs/plotting.yaml"
    params:
        panels=metric_panels(),
        identity_levels=IDENTITY_LEVELS,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_metrics.py"


rule figure_grids:
    input:
        examples=f"{RESULTS}/tables/examples.parquet",
        predictions=f"{RESULTS}/tables/predictions.parquet",
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
    conda:
        "../envs/plotting.yaml"
    params:
        grids=grid_keys(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_grids.py"


rule figures:
    input:
        figure_targets(),
