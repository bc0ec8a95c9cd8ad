localrules:
    failure,


rule failure:
    input:
        predictions=PREDICTIONS_TABLE,
        metrics=METRICS_TABLE,
        changes=CHANGES_TABLE,
    output:
        failure=FAILURE_TABLE,
    log:
        f"{RESULTS}/logs/failure.log",
    benchmark:
        f"{RESULTS}/benchmarks/failure.tsv"
    conda:
        "../envs/data.yaml"
    params:
        drift_metrics=drift_metrics(),
        identity_levels=IDENTITY_LEVELS,
        seed=config["study"]["seed"],
    script:
        "../workflow/scripts/failure.py"
