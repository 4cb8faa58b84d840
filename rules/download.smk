# Public data for the seed filter (seedfilter.source: ena, see config/1000g.yaml): the ENA
# filereport of a study, the first N read pairs of each chosen run (streamed) or the whole
# MD5-verified files, and a reference with its checksum. Nothing here runs on the default
# (simulated, offline) config. These are localrules (Snakefile): compute nodes are often
# offline.


checkpoint ena_filereport:
    """Run metadata of the study (run, sample, FASTQ URLs, MD5s, bytes) and the chosen runs."""
    output:
        report=PLAN.seeds.ena_filereport,
        runs=PLAN.seeds.ena_runs_table,
    log:
        "logs/data/ena_filereport.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        project=config["seedfilter"]["ena"]["project"],
        portal=config["seedfilter"]["ena"]["portal"],
        fastq_base=config["seedfilter"]["ena"]["fastq_base"],
        samples=config["seedfilter"]["ena"]["samples"],
        n_samples=config["seedfilter"]["ena"]["n_samples"],
        retry=PLAN.seeds.ena_retry,
    script:
        "../scripts/download_filereport.py"


rule ena_reads:
    """The first seedfilter.n_pairs read pairs of one run, streamed (mode head), or both
    whole FASTQ files, MD5-verified and resumable (mode whole)."""
    input:
        runs=PLAN.seeds.ena_runs_table,
    output:
        r1="results/data/ena/{run}_R1.fastq.gz",
        r2="results/data/ena/{run}_R2.fastq.gz",
    log:
        "logs/data/ena_reads_{run}.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=240,
        mem_mb=500,
    params:
        mode=config["seedfilter"]["ena"]["mode"],
        n_pairs=config["seedfilter"]["n_pairs"],
        retry=PLAN.seeds.ena_retry,
    script:
        "../scripts/download_reads.py"


rule ena_reference:
    """The reference (e.g. GRCh38 chr20) from its URL, checked against its MD5."""
    output:
        PLAN.seeds.ena_reference,
    log:
        "logs/data/ena_reference.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=60,
        mem_mb=500,
    params:
        url=config["seedfilter"]["ena"]["reference"]["url"],
        md5=config["seedfilter"]["ena"]["reference"]["md5"],
        md5_url=config["seedfilter"]["ena"]["reference"]["md5_url"],
        retry=PLAN.seeds.ena_retry,
    script:
        "../scripts/download_reference.py"
