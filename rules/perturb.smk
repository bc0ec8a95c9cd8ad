rule perturb:
    input:
        table=fill(SPLIT_TABLE, split="eval"),
    output:
        images=PERTURBED,
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
