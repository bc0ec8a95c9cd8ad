localrules:
    aggregate,


rule aggregate:
    input:
        predictions=all_prediction_files(),
        metrics=all_metric_files() + all_model_metric_files(),
        rejects=all_rejects_files(),
        changes=all_change_files(),
        floors=all_floor_files(),
    output:
        predictions=PREDICTIONS_TABLE,
        metrics=METRICS_TABLE,
        summary=report(
            SUMMARY_TABLE,
            caption="../workflow/report/summary.rst",
            category="Tables",
        ),
        rejects=REJECTS_TABLE,
        changes=CHANGES_TABLE,
        floors=FLOORS_TABLE,
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate.tsv"
    conda:
        "../envs/data.yaml"
    params:
        prediction_levels=all_prediction_levels(),
    script:
        "../workflow/scripts/aggregate.py"
