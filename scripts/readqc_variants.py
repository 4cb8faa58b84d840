"""Rule readqc_variants: SNP/indel calls with reported vs recalibrated qualities, scored."""

from biometal.readqc.experiment import variant_table
from biometal.runner import run


def main(smk):
    bams = {"reported": smk.input.reported}
    bams.update(zip(smk.params.methods, smk.input.bams, strict=True))
    variant_table(
        smk.input.reference,
        smk.input.truth,
        bams,
        smk.output[0],
        min_mapq=smk.params.min_mapq,
        min_baseq=smk.params.min_baseq,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
