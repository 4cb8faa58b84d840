# Read QC: per-read statistics through the read_stats kernel (Metal or numba), per sample.
# Inputs: biometal.workflow.qc (qc.samples sheet, or every simulated sample).


rule read_stats:
    """A/C/G/T/N counts, GC, mean quality and low-quality bases of one sample's reads."""
    input:
        PLAN.qc.fastq,
    output:
        summary="results/qc/{sample}.tsv",
        hist="results/qc/{sample}.hist.tsv",
    log:
        "logs/qc/{sample}.log",
    benchmark:
        "benchmarks/qc/{sample}.tsv"
    wildcard_constraints:
        sample=PLAN.qc.pattern,
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=10,
        mem_mb=500,
        gpu=PLAN.gpus,
    params:
        quality_threshold=config["qc"]["quality_threshold"],
        chunk_reads=config["compute"]["chunk_reads"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/read_stats.py"


rule qc_summary:
    """One table of every sample's QC summary."""
    input:
        expand("results/qc/{sample}.tsv", sample=PLAN.qc.names),
    output:
        PLAN.qc.summary,
    log:
        "logs/qc/summary.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/merge_tables.py"


rule qc_figure:
    """GC and mean-quality distributions of every sample."""
    input:
        expand("results/qc/{sample}.hist.tsv", sample=PLAN.qc.names),
    output:
        report(
            PLAN.qc.figure,
            caption="../report/qc_read_stats.rst",
            category="Read QC",
        ),
    log:
        "logs/qc/figure.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/plot_qc.py"
