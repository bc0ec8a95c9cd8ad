localrules:
    figure_flips,


rule figure_flips:
    input:
        examples=FLIP_EXAMPLES_TABLE,
        flip_levels=FLIP_LEVELS_TABLE,
    output:
        png=report(
            flips_figures("png"),
            caption="../workflow/report/flips.rst",
            category="Findings",
        ),
        pdf=flips_figures("pdf"),
    log:
        f"{RESULTS}/logs/figure_flips.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure_flips.tsv"
    conda:
        "../envs/plotting.yaml"
    params:
        pairs=failure_pairs(),
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/figure_flips.py"
