"""Rule pileup: BAM -> bgzipped pileup TSV through the pileup kernel (Metal or numba)."""

from biometal.pileup.params import pileup_params
from biometal.pileup.tsv import write_pileup_tsv
from biometal.runner import run


def main(smk):
    write_pileup_tsv(
        smk.input.bam,
        smk.output[0],
        pileup_params(smk.params.pileup, threads=smk.threads, backend=smk.params.backend),
        reference=smk.input.reference,
        all_positions=smk.params.pileup["all_positions"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
