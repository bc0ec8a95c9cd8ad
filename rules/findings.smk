localrules:
    findings,


rule findings:
    input:
        summary=SUMMARY_TABLE,
        flip_levels=FLIP_LEVELS_TABLE,
        failure=FAILURE_TABLE,
    output:
        page=report(
            FINDINGS_PAGE,
            caption="../workflow/report/findings.rst",
            category="Findings",
        ),
        table=report(
            FINDINGS_TABLE,
            caption="../workflow/report/findings.rst",
            category="Findings",
        ),
    log:
        f"{RESULTS}/logs/findings.log",
    benchmark:
        f"{RESULTS}/benchmarks/findings.tsv"
    conda:
        "../envs/data.yaml"
    params:
        drift_metrics=drift_metrics(),
        identity_levels=IDENTITY_LEVELS,
    script:
        "../workflow/scripts/findings.py"
