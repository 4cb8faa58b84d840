"""Rule ena_reads: the first N read pairs of a run (streamed) or both whole FASTQ files."""

from biometal.io.download import Retry, fetch_run_reads
from biometal.runner import run


def main(smk):
    p = smk.params
    fetch_run_reads(
        smk.input.runs,
        smk.wildcards.run,
        smk.output.r1,
        smk.output.r2,
        mode=p.mode,
        n_pairs=p.n_pairs,
        retry=Retry(**p.retry),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
