localrules:
    manifest,


rule manifest:
    input:
        table_targets(),
        figure_targets(),
    output:
        manifest=report(
            MANIFEST,
            caption="../workflow/report/manifest.rst",
            category="Provenance",
        ),
    log:
        f"{RESULTS}/logs/manifest.log",
    benchmark:
        f"{RESULTS}/benchmarks/manifest.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        config=config,
        repo=workflow.basedir,
        benchmark_dir=f"{RESULTS}/benchmarks",
        start_file=RUN_START_FILE,
    script:
        "../workflow/scripts/manifest.py"
