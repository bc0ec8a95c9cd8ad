localrules:
    flip_levels,


rule flip_levels:
    input:
        predictions=PREDICTIONS_TABLE,
    output:
        flip_levels=FLIP_LEVELS_TABLE,
    log:
        f"{RESULTS}/logs/flip_levels.log",
    benchmark:
        f"{RESULTS}/benchmarks/flip_levels.tsv"
    conda:
        "../envs/data.yaml"
    params:
        identity_levels=IDENTITY_LEVELS,
    script:
        "../workflow/scripts/flip_levels.py"
