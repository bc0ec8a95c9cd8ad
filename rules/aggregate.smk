localrules:
    aggregate,


rule aggregate:
    input:
        predictions=all_prediction_files(),
        metrics=all_metric_files() + all_model_metric_files(),
        rejects=all_rejects_files(),
    output:
        predictions=f"{RESULTS}/tables/predictions.parquet",
        metrics=f"{RESULTS}/tables/metrics.parquet",
        summary=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../workflow/report/summary.rst",
            category="Tables",
        ),
        rejects=f"{RESULTS}/tables/rejects.parquet",
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/aggregate.py"
