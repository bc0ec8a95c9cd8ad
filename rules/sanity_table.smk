localrules:
    sanity_table,


rule sanity_table:
    input:
        summary=SUMMARY_TABLE,
    output:
        sanity=report(
            SANITY_TABLE,
            caption="../workflow/report/sanity_table.rst",
            category="Scale",
        ),
    log:
        f"{RESULTS}/logs/sanity_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/sanity_table.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/sanity_table.py"
