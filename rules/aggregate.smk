localrules:
    aggregate,
    examples,
    examples_table,


rule aggregate:
    input:
        predictions=all_prediction_files(),
        metrics=all_metric_files() + all_model_metric_files(),
        rejects=all_rejects_files(),
    output:
        predictions=f"{RESULTS}/tables/predictions.parquet",
        metrics=f"{RESULTS}/tables/metrics.parquet",
        summary=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../workflow/report/summary.rst",
            category="Tables",
        ),
        rejects=f"{RESULTS}/tables/rejects.parquet",
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/aggregate.py"


rule examples:
    input:
        maps=example_map_files,
        images=example_image_files,
    output:
        examples=f"{RESULTS}/examples/{{dataset}}/{{model}}/{{method}}.parquet",
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
        examples=f"{RESULTS}/tables/examples.parquet",
    log:
        f"{RESULTS}/logs/examples_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/examples_table.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../workflow/scripts/examples_table.py"
