# Noise floors and the sanity check (salsweep.stages.floors): one job per (dataset, model,
# method, shard) loads the model once and writes every configured floor's maps and scores.
rule floors:
    input:
        unpack(floor_inputs),
    output:
        maps=[fill(FLOOR_MAPS, floor=floor) for floor in FLOORS],
        metrics=FLOOR_METRICS,
    log:
        f"{RESULTS}/logs/floors/{{dataset}}/{{model}}/{{method}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/floors/{{dataset}}/{{model}}/{{method}}/shard-{{shard}}.tsv"
    retries: 1
    conda:
        "../envs/torch.yaml"
    threads: GPU_RESOURCES["threads"]
    resources:
        gpu=GPU,
        mem_mb=model_mem_mb,
        runtime=model_runtime,
    params:
        floors=FLOORS,
        metrics=floor_drift_specs(),
        spec=model_spec,
        method_params=method_params,
        batch_size=config["saliency"]["batch_size"],
        seed=config["study"]["seed"],
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
    script:
        "../workflow/scripts/floors.py"
