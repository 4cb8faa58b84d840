"""Rule regions_calls: candidate calls (low thresholds) and the caller's own calls at one depth."""

from biometal.ml.varfilter.data import call_candidates
from biometal.runner import run


def main(smk):
    call_candidates(
        smk.input.bam,
        smk.input.reference,
        smk.output.candidates,
        smk.output.caller,
        sample=smk.wildcards.sample,
        pileup=dict(smk.params.pileup),
        calling=dict(smk.params.calling),
        candidates=dict(smk.params.candidates),
        backend=smk.params.backend,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
