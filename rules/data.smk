# Simulated truth data. Every rule derives its seed from config["seed"] and the stage name,
# so the same config gives byte-identical files. Paths: biometal.workflow.data.


rule simulate_reference:
    """Reference genome: contigs with GC variation, tandem and interspersed repeats."""
    output:
        fasta=PLAN.sim.reference,
        fai=f"{PLAN.sim.reference}.fai",
        repeats=f"{PLAN.sim.root}/reference.repeats.bed",
    log:
        "logs/data/simulate_reference.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["reference"],
    script:
        "../scripts/simulate_reference.py"


rule simulate_variants:
    """Phased diploid SNPs and 1-10 bp indels (bgzipped, tabix-indexed VCF) and haplotypes."""
    input:
        PLAN.sim.reference,
    output:
        vcf=PLAN.sim.vcf,
        tbi=f"{PLAN.sim.vcf}.tbi",
        haplotypes=PLAN.sim.haplotypes,
        hap_fai=f"{PLAN.sim.haplotypes}.fai",
    log:
        "logs/data/simulate_variants.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["variants"],
    script:
        "../scripts/simulate_variants.py"


rule simulate_reads:
    """Paired-end reads from the haplotypes with their truth table."""
    input:
        reference=PLAN.sim.reference,
        haplotypes=PLAN.sim.haplotypes,
        vcf=PLAN.sim.vcf,
    output:
        r1=PLAN.sim.reads["R1"],
        r2=PLAN.sim.reads["R2"],
        truth=PLAN.sim.reads["truth"],
    log:
        f"logs/data/simulate_reads_{PLAN.sim.dna_sample}.log",
    benchmark:
        f"benchmarks/data/simulate_reads_{PLAN.sim.dna_sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["reads"],
        errors=config["simulate"]["errors"],
        compresslevel=config["simulate"]["compresslevel"],
    script:
        "../scripts/simulate_reads.py"


rule simulate_transcriptome:
    """Genes with 1-4 isoforms sharing exons: GTF and transcript FASTA."""
    output:
        gtf=PLAN.sim.gtf,
        transcripts=PLAN.sim.transcripts,
        transcripts_fai=f"{PLAN.sim.transcripts}.fai",
        genome=f"{PLAN.sim.root}/transcriptome/genome.fa",
        tx2gene=f"{PLAN.sim.root}/transcriptome/tx2gene.tsv",
    log:
        "logs/data/simulate_transcriptome.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["transcriptome"],
    script:
        "../scripts/simulate_transcriptome.py"


rule simulate_rnaseq:
    """RNA-seq samples (two conditions, known DE genes) and their truth tables."""
    input:
        transcripts=PLAN.sim.transcripts,
        gtf=PLAN.sim.gtf,
    output:
        fastq=[f for fq in PLAN.sim.rnaseq_fastqs.values() for f in fq],
        sheet=PLAN.sim.rnaseq_sheet,
        counts=PLAN.sim.rnaseq_truth["counts"],
        tpm=PLAN.sim.rnaseq_truth["tpm"],
        de=PLAN.sim.rnaseq_truth["de"],
    log:
        "logs/data/simulate_rnaseq.log",
    benchmark:
        "benchmarks/data/simulate_rnaseq.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["rnaseq"],
        samples=list(PLAN.sim.rnaseq_samples),
        errors=config["simulate"]["errors"],
        compresslevel=config["simulate"]["compresslevel"],
    script:
        "../scripts/simulate_rnaseq.py"


rule simulate_metagenome:
    """Metagenome reads with skewed abundances and adapter read-through, with truth labels."""
    output:
        genomes=PLAN.sim.meta["genomes"],
        r1=PLAN.sim.meta["R1"],
        r2=PLAN.sim.meta["R2"],
        truth=PLAN.sim.meta["truth"],
        abundance=f"{PLAN.sim.root}/metagenome/abundance.tsv",
    log:
        "logs/data/simulate_metagenome.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["simulate"]["metagenome"],
        errors=config["simulate"]["errors"],
        compresslevel=config["simulate"]["compresslevel"],
    script:
        "../scripts/simulate_metagenome.py"
