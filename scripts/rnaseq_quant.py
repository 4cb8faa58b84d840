"""Rules rnaseq_quant and rnaseq_scaling_quant: quantify one sample (one streaming pass + EM)."""

from biometal.rnaseq.quant import quantify_sample
from biometal.runner import run


def main(smk):
    fq = list(smk.input.fq)
    quantify_sample(
        smk.input.index,
        fq[0],
        fq[1] if len(fq) > 1 else None,
        smk.output.quant,
        smk.output.info,
        sample=smk.wildcards.get("sample", f"x{smk.wildcards.get('factor', '')}"),
        chunk_reads=smk.params.chunk_reads,
        fragment_mean=smk.params.fragment_mean,
        fragment_sd=smk.params.fragment_sd,
        threads=smk.threads,
        **smk.params.em,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
