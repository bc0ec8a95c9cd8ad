localrules:
    examples,
    examples_table,


rule examples:
    input:
        maps=example_map_files,
        images=example_image_files,
    output:
        examples=EXAMPLES,
    log:
        f"{RESULTS}/logs/examples/{{dataset}}/{{model}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/examples/{{dataset}}/{{model}}/{{method}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        conditions=example_conditions,
        n_examples=config["figures"]["examples"],
    script:
        "../workflow/scripts/examples.py"


rule examples_table:
    input:
        example_tables(),
    output:
        examples=EXAMPLES_TABLE,
    log:
        f"{RESULTS}/logs/examples_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/examples_table.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/examples_table.py"
