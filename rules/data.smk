# Simulated truth data. Every rule derives its seed from config["seed"] and the stage name,
# so the same config gives byte-identical files.
SIMCFG = config["simulate"]


rule simulate_reference:
    """Reference genome: contigs with GC variation, tandem and interspersed repeats."""
    output:
        fasta=SIM_REFERENCE,
        fai=SIM_REFERENCE + ".fai",
        repeats=f"{SIM}/reference.repeats.bed",
    params:
        seed=config["seed"],
        cfg=SIMCFG["reference"],
    log:
        "logs/data/simulate_reference.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_reference.py"


rule simulate_variants:
    """Phased diploid SNPs and 1-10 bp indels (bgzipped, tabix-indexed VCF) and haplotypes."""
    input:
        SIM_REFERENCE,
    output:
        vcf=SIM_VCF,
        tbi=SIM_VCF + ".tbi",
        haplotypes=SIM_HAPLOTYPES,
        hap_fai=SIM_HAPLOTYPES + ".fai",
    params:
        seed=config["seed"],
        cfg=SIMCFG["variants"],
    log:
        "logs/data/simulate_variants.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_variants.py"


rule simulate_reads:
    """Paired-end reads from the haplotypes with their truth table."""
    input:
        reference=SIM_REFERENCE,
        haplotypes=SIM_HAPLOTYPES,
        vcf=SIM_VCF,
    output:
        r1=SIM_READS["R1"],
        r2=SIM_READS["R2"],
        truth=SIM_READS["truth"],
    params:
        seed=config["seed"],
        cfg=SIMCFG["reads"],
        errors=SIMCFG["errors"],
        compresslevel=SIMCFG["compresslevel"],
    log:
        f"logs/data/simulate_reads_{SIM_DNA_SAMPLE}.log",
    benchmark:
        f"benchmarks/data/simulate_reads_{SIM_DNA_SAMPLE}.tsv"
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_reads.py"


rule simulate_transcriptome:
    """Genes with 1-4 isoforms sharing exons: GTF and transcript FASTA."""
    output:
        gtf=SIM_GTF,
        transcripts=SIM_TRANSCRIPTS,
        transcripts_fai=SIM_TRANSCRIPTS + ".fai",
        genome=f"{SIM}/transcriptome/genome.fa",
        tx2gene=f"{SIM}/transcriptome/tx2gene.tsv",
    params:
        seed=config["seed"],
        cfg=SIMCFG["transcriptome"],
    log:
        "logs/data/simulate_transcriptome.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_transcriptome.py"


rule simulate_rnaseq:
    """RNA-seq samples (two conditions, known DE genes) and their truth tables."""
    input:
        transcripts=SIM_TRANSCRIPTS,
        gtf=SIM_GTF,
    output:
        fastq=[
            rnaseq_fastq(s, mate)
            for s in RNASEQ_SAMPLES
            for mate in (("R1", "R2") if SIMCFG["rnaseq"]["paired"] else ("R1",))
        ],
        sheet=SIM_RNASEQ_SHEET,
        counts=SIM_RNASEQ_TRUTH["counts"],
        tpm=SIM_RNASEQ_TRUTH["tpm"],
        de=SIM_RNASEQ_TRUTH["de"],
    params:
        seed=config["seed"],
        cfg=SIMCFG["rnaseq"],
        samples=RNASEQ_SAMPLES,
        errors=SIMCFG["errors"],
        compresslevel=SIMCFG["compresslevel"],
    log:
        "logs/data/simulate_rnaseq.log",
    benchmark:
        "benchmarks/data/simulate_rnaseq.tsv"
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_rnaseq.py"


rule simulate_metagenome:
    """Metagenome reads with skewed abundances and adapter read-through, with truth labels."""
    output:
        genomes=SIM_META["genomes"],
        r1=SIM_META["R1"],
        r2=SIM_META["R2"],
        truth=SIM_META["truth"],
        abundance=f"{SIM}/metagenome/abundance.tsv",
    params:
        seed=config["seed"],
        cfg=SIMCFG["metagenome"],
        errors=SIMCFG["errors"],
        compresslevel=SIMCFG["compresslevel"],
    log:
        "logs/data/simulate_metagenome.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/simulate_metagenome.py"
