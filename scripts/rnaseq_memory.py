"""Rule rnaseq_memory: peak RSS and time against input size; marginal throughput."""

from biometal.rnaseq.cost import memory_table, throughput_table
from biometal.runner import run


def main(smk):
    runs = [
        (m, f, q, b)
        for (m, f), q, b in zip(
            smk.params.runs, smk.input.quants, smk.input.benchmarks, strict=True
        )
    ]
    throughput_table(memory_table(runs, smk.output.memory), smk.output.throughput)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
