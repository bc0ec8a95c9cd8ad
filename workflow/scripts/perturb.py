from salsweep.condition import Condition
from salsweep.snakemake_io import run_script
from salsweep.stages.perturb import perturb_shard

run_script(
    snakemake,
    perturb_shard,
    table_path=snakemake.input.table,
    out_path=snakemake.output.images,
    condition=Condition.from_wildcards(snakemake.wildcards),
    kind=snakemake.params.spec["kind"],
    params=snakemake.params.spec["params"],
    seed=snakemake.params.seed,
    shard=int(snakemake.wildcards.shard),
    n_shards=snakemake.params.n_shards,
)
