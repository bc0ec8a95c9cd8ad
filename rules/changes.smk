# How far each perturbed copy moved the input and the output (salsweep.stages.changes): one
# light job per (dataset, model, shard) for all its copies.
rule changes:
    input:
        unpack(change_inputs),
    output:
        changes=CHANGES,
    log:
        f"{RESULTS}/logs/changes/{{dataset}}/{{model}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/changes/{{dataset}}/{{model}}/shard-{{shard}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        conditions=change_conditions,
    script:
        "../workflow/scripts/changes.py"
