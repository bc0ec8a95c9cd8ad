rule saliency:
    input:
        unpack(saliency_inputs),
    output:
        maps=MAPS,
    log:
        f"{RESULTS}/logs/saliency/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/{{level}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/saliency/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/{{level}}/shard-{{shard}}.tsv"
    retries: 1
    conda:
        "../envs/torch.yaml"
    threads: GPU_RESOURCES["threads"]
    resources:
        gpu=GPU,
        mem_mb=model_mem_mb,
        runtime=model_runtime,
    params:
        spec=model_spec,
        method_params=method_params,
        targets=config["saliency"]["targets"],
        batch_size=config["saliency"]["batch_size"],
        seed=config["study"]["seed"],
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
    script:
        "../workflow/scripts/saliency.py"
