rule classify:
    input:
        unpack(classify_inputs),
    output:
        predictions=directory(PREDICTIONS),
        probs=directory(PROBS),
    log:
        f"{RESULTS}/logs/classify/{{dataset}}/{{model}}/{{perturbation}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/classify/{{dataset}}/{{model}}/{{perturbation}}/shard-{{shard}}.tsv"
    retries: 1
    conda:
        "../envs/torch.yaml"
    threads: GPU_RESOURCES["threads"]
    resources:
        gpu=GPU,
        mem_mb=model_mem_mb,
        runtime=model_runtime,
    params:
        levels=sweep_level_texts,
        spec=model_spec,
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
        batch_size=config["study"]["batch_size"],
    script:
        "../workflow/scripts/classify.py"
