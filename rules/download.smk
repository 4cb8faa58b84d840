# Public data for the seed filter (seedfilter.source: ena, see config/1000g.yaml): the ENA
# filereport of a study, the first N read pairs of each chosen run (streamed) or the whole
# MD5-verified files, and a reference with its checksum. Nothing here runs on the default
# (simulated, offline) config.
ENACFG = config["seedfilter"]["ena"]
ENA = "results/data/ena"
ENA_PROJECT = ENACFG["project"]
ENA_REFERENCE = f"{ENA}/reference.fa.gz"
ENA_RETRY = {k: ENACFG[k] for k in ("retries", "backoff", "timeout")}


checkpoint ena_filereport:
    """Run metadata of the study (run, sample, FASTQ URLs, MD5s, bytes) and the chosen runs."""
    output:
        report=f"{ENA}/{ENA_PROJECT}.filereport.tsv",
        runs=f"{ENA}/{ENA_PROJECT}.runs.tsv",
    params:
        project=ENA_PROJECT,
        portal=ENACFG["portal"],
        fastq_base=ENACFG["fastq_base"],
        samples=ENACFG["samples"],
        n_samples=ENACFG["n_samples"],
        retry=ENA_RETRY,
    log:
        "logs/data/ena_filereport.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/download_filereport.py"


rule ena_reads:
    """The first seedfilter.n_pairs read pairs of one run, streamed (mode head), or both
    whole FASTQ files, MD5-verified and resumable (mode whole)."""
    input:
        runs=f"{ENA}/{ENA_PROJECT}.runs.tsv",
    output:
        r1=f"{ENA}/{{run}}_R1.fastq.gz",
        r2=f"{ENA}/{{run}}_R2.fastq.gz",
    params:
        mode=ENACFG["mode"],
        n_pairs=config["seedfilter"]["n_pairs"],
        retry=ENA_RETRY,
    log:
        "logs/data/ena_reads_{run}.log",
    resources:
        mem_mb=500,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/download_reads.py"


rule ena_reference:
    """The reference (e.g. GRCh38 chr20) from its URL, checked against its MD5."""
    output:
        ENA_REFERENCE,
    params:
        url=ENACFG["reference"]["url"],
        md5=ENACFG["reference"]["md5"],
        md5_url=ENACFG["reference"]["md5_url"],
        retry=ENA_RETRY,
    log:
        "logs/data/ena_reference.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/download_reference.py"


def ena_runs(wildcards=None):
    """Run accessions chosen by the filereport checkpoint."""
    import pandas as pd

    table = checkpoints.ena_filereport.get().output.runs
    return list(pd.read_csv(table, sep="\t")["run"])
