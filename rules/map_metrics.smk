rule map_metrics:
    input:
        unpack(metric_inputs),
    output:
        metrics=MAP_METRICS,
    log:
        f"{RESULTS}/logs/map_metrics/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/map_metrics/{{dataset}}/{{model}}/{{method}}/{{perturbation}}/shard-{{shard}}.tsv"
    # Seconds per sweep and shard: on a cluster --group-components map_metrics=N batches N.
    group:
        "map_metrics"
    conda:
        "../envs/data.yaml"
    params:
        levels=sweep_level_texts,
        metrics=STUDY.metric_specs(),
        # Geometric kinds: the stage warps maps back by the sweep's transform.
        perturbation=perturbation_spec,
    script:
        "../workflow/scripts/map_metrics.py"
