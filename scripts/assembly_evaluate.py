"""Rule assembly_evaluate: the evaluation table, graph steps and figures."""

from biometal.assembly.experiment import assembly_report
from biometal.runner import run
from biometal.workflow.assembly import AssemblyPlan


def main(smk):
    assembly_report(
        AssemblyPlan.report_inputs(smk.params.tools),
        smk.output.table,
        smk.output.steps,
        smk.output.nga50,
        smk.output.graph,
        min_contig=smk.params.min_contig,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
