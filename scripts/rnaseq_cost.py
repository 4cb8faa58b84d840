"""Rule rnaseq_cost: cost of every quantification and index build, from benchmark files."""

from biometal.rnaseq.cost import cost_table, index_cost_table
from biometal.runner import run


def main(smk):
    runs = [
        (m, s, q, b, smk.params.threads)
        for (m, s), q, b in zip(
            smk.params.runs, smk.input.quants, smk.input.benchmarks, strict=True
        )
    ]
    cost_table(runs, smk.output.cost)
    builds = zip(smk.params.methods, smk.input.indexes, smk.input.index_benchmarks, strict=True)
    index_cost_table(list(builds), smk.output.index_cost)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
