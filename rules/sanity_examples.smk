localrules:
    sanity_examples,


rule sanity_examples:
    input:
        unpack(sanity_example_inputs),
    output:
        examples=SANITY_EXAMPLES,
    log:
        f"{RESULTS}/logs/sanity_examples/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sanity_examples/{{dataset}}/{{model}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        methods=STUDY.methods,
        floors=FLOORS,
    script:
        "../workflow/scripts/sanity_examples.py"
