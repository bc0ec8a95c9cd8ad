localrules:
    flip_examples,
    flip_examples_table,


rule flip_examples:
    input:
        flip_levels=FLIP_LEVELS_TABLE,
        maps=flip_example_maps,
        images=example_image_files,
    output:
        examples=FLIP_EXAMPLES,
    log:
        f"{RESULTS}/logs/flip_examples/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/flip_examples/{{dataset}}/{{model}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        map_keys=flip_example_map_keys,
        image_conditions=example_conditions,
        levels=sweep_levels(),
        identity_levels=IDENTITY_LEVELS,
        per_sweep=config["figures"]["examples"],
    script:
        "../workflow/scripts/flip_examples.py"


rule flip_examples_table:
    input:
        flip_example_tables(),
    output:
        examples=FLIP_EXAMPLES_TABLE,
    log:
        f"{RESULTS}/logs/flip_examples_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/flip_examples_table.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/examples_table.py"
