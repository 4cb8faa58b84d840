"""Rule smem_seeds: SMEMs of the first reads of each FASTQ, in bwa fastmap format."""

from biometal.align.smem import smems_file
from biometal.runner import run


def main(smk):
    smems_file(
        smk.input.index,
        [*smk.input.r1, *smk.input.r2],
        smk.output[0],
        n_reads=smk.params.n_reads,
        min_len=smk.params.min_len,
        max_positions=smk.params.max_occ,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
