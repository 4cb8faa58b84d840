"""Rule readqc_metrics: calibration, error by cycle / context and masking tables."""

from biometal.readqc.experiment import readqc_metrics
from biometal.runner import run


def main(smk):
    recal = list(smk.input.recalibrated)
    methods = smk.params.methods
    readqc_metrics(
        list(smk.input.fastq),
        list(smk.input.truth),
        {m: recal[2 * i : 2 * i + 2] for i, m in enumerate(methods)},
        dict(smk.output.items()),
        keep_fractions=smk.params.masking,
        seed=smk.params.seed,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
