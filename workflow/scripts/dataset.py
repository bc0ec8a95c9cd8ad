from salsweep.snakemake_io import run_script
from salsweep.stages.dataset import materialize_dataset

run_script(
    snakemake,
    materialize_dataset,
    spec=snakemake.params.spec,
    split=snakemake.params.split,
    seed=snakemake.params.seed,
    table_path=snakemake.output.table,
    rejects_path=snakemake.output.rejects,
    classes_path=snakemake.output.get("classes"),
    dataset=snakemake.wildcards.dataset,
)
