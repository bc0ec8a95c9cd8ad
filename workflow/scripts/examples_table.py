from salsweep.snakemake_io import run_script
from salsweep.stages.examples import combine_examples

run_script(
    snakemake, combine_examples, paths=list(snakemake.input), out_path=snakemake.output.examples
)
