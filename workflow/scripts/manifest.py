from salsweep.snakemake_io import run_script
from salsweep.stages.manifest import write_manifest

run_script(
    snakemake,
    write_manifest,
    config=snakemake.params.config,
    repo=snakemake.params.repo,
    benchmark_dir=snakemake.params.benchmark_dir,
    start_file=snakemake.params.start_file,
    out_path=snakemake.output.manifest,
)
