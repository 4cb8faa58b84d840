# Read QC: per-read statistics through the read_stats kernel (Metal or numba), per sample.


rule read_stats:
    """A/C/G/T/N counts, GC, mean quality and low-quality bases of one sample's reads."""
    input:
        lambda wc: QC_SAMPLES[wc.sample],
    output:
        summary="results/qc/{sample}.tsv",
        hist="results/qc/{sample}.hist.tsv",
    params:
        quality_threshold=config["qc"]["quality_threshold"],
        chunk_reads=config["compute"]["chunk_reads"],
        backend=config["compute"]["backend"],
    log:
        "logs/qc/{sample}.log",
    benchmark:
        "benchmarks/qc/{sample}.tsv"
    threads: 2
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/read_stats.py"


rule qc_summary:
    """One table of every sample's QC summary."""
    input:
        expand("results/qc/{sample}.tsv", sample=sorted(QC_SAMPLES)),
    output:
        "results/qc/summary.tsv",
    log:
        "logs/qc/summary.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/merge_tables.py"


rule qc_figure:
    """GC and mean-quality distributions of every sample."""
    input:
        expand("results/qc/{sample}.hist.tsv", sample=sorted(QC_SAMPLES)),
    output:
        report(
            "results/figures/qc_read_stats.png",
            caption="../report/qc_read_stats.rst",
            category="Read QC",
        ),
    log:
        "logs/qc/figure.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/plot_qc.py"
