"""Rules rnaseq_quant_N and rnaseq_scaling_quant: quantify samples in turn in one process
(one streaming pass + EM each)."""

from biometal.rnaseq.quant import SampleRun, quantify_samples
from biometal.runner import run


def _files(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def main(smk):
    fq = iter(smk.input.fq)
    quants, infos = _files(smk.output.quant), _files(smk.output.info)
    samples = smk.params.get("samples") or [f"x{smk.wildcards.factor}"]
    mates = smk.params.get("mates") or [len(smk.input.fq)]
    runs = [
        SampleRun(sample, next(fq), next(fq) if n == 2 else None, quant, info)
        for sample, n, quant, info in zip(samples, mates, quants, infos, strict=True)
    ]
    quantify_samples(
        smk.input.index,
        runs,
        chunk_reads=smk.params.chunk_reads,
        fragment_mean=smk.params.fragment_mean,
        fragment_sd=smk.params.fragment_sd,
        threads=smk.threads,
        **smk.params.em,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
