rule train:
    input:
        unpack(train_inputs),
    output:
        weights=WEIGHTS,
        metrics=TRAIN_METRICS,
    log:
        f"{RESULTS}/logs/train/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{model}}.tsv"
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
        seed=config["study"]["seed"],
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
    script:
        "../workflow/scripts/train.py"
