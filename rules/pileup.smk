# Case study 2, part 2: the pileup (pileup kernel, Metal or numba) and its speed against
# samtools mpileup on the same BAM (results/pileup/throughput.tsv + figure).


rule pileup:
    """Per-position counts (depth, A/C/G/T/N, indels with sequences, BQ/MAPQ, strands) of one
    sample's BAM, streamed region by region, as a bgzipped TSV with a documented header.
    """
    input:
        unpack(PLAN.variants.bam_inputs),
    output:
        "results/pileup/{sample}.tsv.gz",
    log:
        "logs/pileup/{sample}.log",
    benchmark:
        "benchmarks/pileup/{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: config["variants"]["pileup"]["threads"]
    resources:
        runtime=60,
        mem_mb=1000,
        gpu=PLAN.gpus,
    params:
        pileup=config["variants"]["pileup"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/pileup.py"


rule pileup_bench:
    """Pileup wall time: samtools mpileup vs biometal (1 and 2 threads, new process) on the
    first sample's BAM, same filters, interleaved repeats (Metal too where it answers).
    """
    input:
        unpack(PLAN.variants.bench_inputs),
    output:
        summary="results/pileup/throughput.tsv",
        runs="results/pileup/throughput_runs.tsv",
    log:
        "logs/pileup/bench.log",
    conda:
        "../envs/biometal.yaml"
    threads: max(config["variants"]["bench"]["threads"])
    resources:
        runtime=60,
        mem_mb=1500,
        gpu=PLAN.gpus,
    params:
        pileup=config["variants"]["pileup"],
        backend=config["compute"]["backend"],
        repeats=config["variants"]["bench"]["repeats"],
        threads=config["variants"]["bench"]["threads"],
    script:
        "../scripts/pileup_bench.py"


rule pileup_figure:
    """Pileup wall time per method and backend, with the speed-up over samtools mpileup."""
    input:
        "results/pileup/throughput.tsv",
    output:
        report(
            "results/figures/variants_pileup_throughput.png",
            caption="../report/variants_pileup_throughput.rst",
            category="Variant calling",
        ),
    log:
        "logs/pileup/figure.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/plot_pileup_bench.py"
