rule train_masker:
    input:
        unpack(masker_inputs),
    output:
        masker=MASKER,
        metrics=MASKER_METRICS,
    log:
        f"{RESULTS}/logs/train_masker/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_masker/{{dataset}}/{{model}}.tsv"
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
        method_params=masker_params,
        split=masker_split,
        seed=config["study"]["seed"],
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
    script:
        "../workflow/scripts/train_masker.py"
