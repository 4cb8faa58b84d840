# Case study 2 (variant calling), part 1: read mapping. Inputs (biometal.workflow.variants):
# the simulated reference + DNA sample, or your own (config variants.reference +
# variants.samples: FASTQ to map, or BAMs aligned already). Mapping: mappy (minimap2 sr)
# -> results/align/{sample}.bam (+ .bai), coordinate-sorted, with read group and mate fields.


rule map_reads:
    """Paired (or single) reads -> coordinate-sorted, indexed BAM with mappy (minimap2 sr)."""
    input:
        reference=PLAN.variants.reference,
        fastq=PLAN.variants.sample_fastq,
    output:
        bam="results/align/{sample}.bam",
        bai="results/align/{sample}.bam.bai",
    log:
        "logs/align/{sample}.log",
    benchmark:
        "benchmarks/align/{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: config["variants"]["mapping"]["threads"]
    resources:
        runtime=60,
        mem_mb=PLAN.variants.map_mem_mb,
    params:
        max_insert=config["variants"]["mapping"]["max_insert"],
    script:
        "../scripts/map_reads.py"
