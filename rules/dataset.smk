# Light on CPU but they download: on a cluster only the submit node may have network.
localrules:
    dataset,
    dataset_train_split,


rule dataset:
    input:
        files=dataset_files,
    output:
        table=fill(SPLIT_TABLE, split="eval"),
        classes=CLASSES,
        rejects=fill(SPLIT_REJECTS, split="eval"),
    log:
        f"{RESULTS}/logs/dataset/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dataset/{{dataset}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        spec=dataset_spec,
        seed=config["study"]["seed"],
        split="eval",
    script:
        "../workflow/scripts/dataset.py"


rule dataset_train_split:
    input:
        files=dataset_files,
    output:
        table=fill(SPLIT_TABLE, split="train"),
        rejects=fill(SPLIT_REJECTS, split="train"),
    log:
        f"{RESULTS}/logs/dataset_train_split/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dataset_train_split/{{dataset}}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        spec=train_split_spec,
        seed=config["study"]["seed"],
        split="train",
    script:
        "../workflow/scripts/dataset.py"
