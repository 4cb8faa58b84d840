"""Rule bench_alignment_run: biometal's alignment kernels vs parasail, same pairs, same run."""

from biometal.align.bench import run_benchmark_config
from biometal.runner import run


def main(smk):
    run_benchmark_config(
        smk.params.cfg,
        smk.output.table,
        smk.output.summary,
        smk.output.figure,
        seed=smk.params.seed,
        threads=smk.threads,
        backend=smk.params.backend,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
