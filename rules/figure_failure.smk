localrules:
    figure_failure,


rule figure_failure:
    input:
        failure=FAILURE_TABLE,
    output:
        png=report(
            failure_figures("png"),
            caption="../workflow/report/failure.rst",
            category="Findings",
        ),
        pdf=failure_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_failure.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_failure.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        pairs=failure_pairs(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_failure.py"
