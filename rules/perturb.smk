rule perturb:
    input:
        table=f"{RESULTS}/datasets/{{dataset}}/eval.parquet",
    output:
        images=f"{RESULTS}/perturbed/{{dataset}}/{{perturbation}}/{{level}}/shard-{{shard}}.parquet",
    log:
        f"{RESULTS}/logs/perturb/{{dataset}}/{{perturbation}}/{{level}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/perturb/{{dataset}}/{{perturbation}}/{{level}}/shard-{{shard}}.tsv"
    # Seconds per shard: on a cluster --group-components perturb=N batches N shards a job.
    group:
        "perturb"
    conda:
        "../envs/data.yaml"
    params:
        spec=perturbation_spec,
        n_shards=n_shards,
        seed=config["study"]["seed"],
    script:
        "../workflow/scripts/perturb.py"
