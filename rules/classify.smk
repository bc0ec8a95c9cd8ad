rule classify:
    input:
        unpack(classify_inputs),
    output:
        predictions=PREDICTIONS,
        probs=PROBS,
    log:
        f"{RESULTS}/logs/classify/{{dataset}}/{{model}}/{{perturbation}}/{{level}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/classify/{{dataset}}/{{model}}/{{perturbation}}/{{level}}/shard-{{shard}}.tsv"
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
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
        batch_size=config["study"]["batch_size"],
    script:
        "../workflow/scripts/classify.py"
