"""Rule rnaseq_scaling_head: the first reads of one sample, the base of the memory scaling."""

from biometal.rnaseq.scaling import head_reads
from biometal.runner import run


def main(smk):
    head_reads(list(smk.input), list(smk.output), smk.params.reads)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
