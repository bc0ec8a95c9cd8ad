localrules:
    truth_vs_pred_table,


rule truth_vs_pred_table:
    input:
        metrics=METRICS_TABLE,
        examples=EXAMPLES_TABLE,
    output:
        table=report(
            TRUTH_VS_PRED_TABLE,
            caption="../workflow/report/truth_vs_pred.rst",
            category="Scale",
        ),
    log:
        f"{RESULTS}/logs/truth_vs_pred_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/truth_vs_pred_table.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/truth_vs_pred_table.py"
