"""Rules assembly_biometal and assembly_peer: one assembler on one data set, timed."""

from biometal.assembly.experiment import run_tool
from biometal.runner import run


def main(smk):
    run_tool(
        smk.wildcards.get("asm_peer", "biometal"),
        smk.input.r1,
        smk.input.r2,
        smk.output.contigs,
        smk.output.run,
        smk.params.workdir,
        k=smk.params.k,
        min_contig=smk.params.min_contig,
        biometal_stats=smk.input.get("stats"),
        gfa_out=smk.output.get("gfa"),
        stats_out=smk.output.get("stats"),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
