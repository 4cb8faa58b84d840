# Case study 2, part 2: the pileup (pileup kernel, Metal or numba) and its speed against
# samtools mpileup on the same BAM (results/pileup/throughput.tsv + figure).
from biometal.kernels import metal_available

PILEUP = "results/pileup"
PILEUP_BENCH = VARCFG["bench"]
# the benchmark times the numba backend, and Metal too where it answers
PILEUP_BACKENDS = ["cpu"] + (
    ["metal"] if config["compute"]["backend"] != "cpu" and metal_available() else []
)
PILEUP_OUTPUTS = [f"{PILEUP}/{s}.tsv.gz" for s in VARIANT_SAMPLE_NAMES]
if PILEUP_BENCH["repeats"] > 0:
    PILEUP_OUTPUTS += [
        f"{PILEUP}/throughput.tsv",
        "results/figures/variants_pileup_throughput.png",
    ]


rule pileup:
    """Per-position counts (depth, A/C/G/T/N, indels with sequences, BQ/MAPQ, strands) of one
    sample's BAM, streamed region by region, as a bgzipped TSV with a documented header."""
    input:
        unpack(variant_bam_inputs),
    output:
        f"{PILEUP}/{{sample}}.tsv.gz",
    params:
        pileup=VARCFG["pileup"],
        backend=config["compute"]["backend"],
    log:
        "logs/pileup/{sample}.log",
    benchmark:
        "benchmarks/pileup/{sample}.tsv"
    threads: VARCFG["pileup"]["threads"]
    resources:
        mem_mb=1500,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/pileup.py"


rule pileup_bench:
    """Pileup wall time: samtools mpileup vs biometal (1 and 2 threads, new process) on the
    first sample's BAM, same filters, interleaved repeats."""
    input:
        unpack(lambda wc: sample_bam_inputs(VARIANT_SAMPLE_NAMES[0])),
    output:
        summary=f"{PILEUP}/throughput.tsv",
        runs=f"{PILEUP}/throughput_runs.tsv",
    params:
        pileup=VARCFG["pileup"],
        backend=config["compute"]["backend"],
        backends=PILEUP_BACKENDS,
        repeats=PILEUP_BENCH["repeats"],
        threads=PILEUP_BENCH["threads"],
    log:
        "logs/pileup/bench.log",
    threads: max(PILEUP_BENCH["threads"])
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/pileup_bench.py"


rule pileup_figure:
    """Pileup wall time per method and backend, with the speed-up over samtools mpileup."""
    input:
        f"{PILEUP}/throughput.tsv",
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
    script:
        "../scripts/plot_pileup_bench.py"
