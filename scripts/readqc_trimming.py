"""Rule readqc_trimming: trimming accuracy against the insert truth, with each tool's cost."""

from biometal.readqc.experiment import write_trimming_table
from biometal.runner import run


def main(smk):
    trimmed = list(smk.input.trimmed)
    tools = smk.params.tools
    write_trimming_table(
        smk.output[0],
        r1=smk.input.r1,
        r2=smk.input.r2,
        truth_tsv=smk.input.truth,
        outputs={t: trimmed[2 * i : 2 * i + 2] for i, t in enumerate(tools)},
        benchmarks=dict(zip(tools, smk.input.benchmarks, strict=True)),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
