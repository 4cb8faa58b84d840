"""Rule regions_loader: region loader throughput and peak memory vs a pysam-based loader."""

from biometal.regions.bench import write_loader_bench
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    write_loader_bench(
        smk.output[0],
        smk.input.reference,
        smk.input.bam,
        smk.input.get("vcf"),
        n_regions=cfg["n_regions"],
        width=cfg["width"],
        repeats=cfg["repeats"],
        memory_counts=cfg["memory_counts"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
