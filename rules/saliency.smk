rule saliency:
    input:
        unpack(saliency_inputs),
    output:
        maps=directory(MAPS),
    log:
        f"{RESULTS}/logs/saliency/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/saliency/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.tsv"
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
        method_params=method_params,
        targets=config["saliency"]["targets"],
        batch_size=config["saliency"]["batch_size"],
        seed=config["study"]["seed"],
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
    script:
        "../workflow/scripts/saliency.py"
