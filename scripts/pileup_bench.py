"""Rule pileup_bench: pileup throughput of biometal against samtools mpileup, same BAM."""

from biometal.pileup.bench import bench_backends, benchmark_pileup
from biometal.pileup.params import pileup_params
from biometal.runner import run


def main(smk):
    benchmark_pileup(
        smk.input.bam,
        smk.input.reference,
        smk.output.runs,
        smk.output.summary,
        pileup_params(smk.params.pileup, threads=1, backend=smk.params.backend),
        repeats=smk.params.repeats,
        threads=smk.params.threads,
        backends=bench_backends(smk.params.backend),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
