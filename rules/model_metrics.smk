# Faithfulness metrics (ssr_crop, deletion_auc, insertion_auc): the classifier re-scores
# each image edited according to each map, so this is a model (GPU) rule like classify.
rule model_metrics:
    input:
        unpack(model_metric_inputs),
    output:
        metrics=MODEL_METRICS,
    log:
        f"{RESULTS}/logs/model_metrics/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/model_metrics/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.tsv"
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
        metrics=STUDY.model_metric_specs(),
        spec=model_spec,
        device=config["study"]["device"],
        deterministic=config["study"]["deterministic"],
        batch_size=config["study"]["batch_size"],
    script:
        "../workflow/scripts/model_metrics.py"
