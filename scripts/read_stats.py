"""Rule read_stats: QC of one sample's FASTQ files through the read_stats kernel."""

from biometal.qc import sample_qc
from biometal.runner import run


def main(smk):
    sample_qc(
        smk.wildcards.sample,
        list(smk.input),
        smk.output.summary,
        smk.output.hist,
        quality_threshold=smk.params.quality_threshold,
        chunk_reads=smk.params.chunk_reads,
        backend=smk.params.backend,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
