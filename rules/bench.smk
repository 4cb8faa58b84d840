# Benchmarks against named peers, measured in the same run on the same data (DESIGN.md
# section 5). Targets (Snakefile): bench_alignment. Not part of `all`: they take minutes and
# their numbers mean something only on an otherwise idle machine.
BENCH_ALIGN = config["bench"]["alignment"]
BENCH_ALIGNMENT_OUTPUTS = [
    "results/bench/alignment.tsv",
    "results/bench/alignment_summary.tsv",
    "results/figures/bench_alignment_gcups.png",
]


rule bench_alignment_run:
    """Alignment throughput (GCUPS, alignments/s): biometal (numba 1 thread and all threads,
    Metal where available) vs parasail called per pair, over lengths x batch sizes x
    identities, interleaved repeats; ratios with Cohen's d; the GCUPS figure."""
    output:
        table=BENCH_ALIGNMENT_OUTPUTS[0],
        summary=BENCH_ALIGNMENT_OUTPUTS[1],
        figure=report(
            BENCH_ALIGNMENT_OUTPUTS[2],
            caption="../report/bench_alignment_gcups.rst",
            category="Benchmarks",
        ),
    params:
        cfg=BENCH_ALIGN,
        seed=config["seed"],
        backend=config["compute"]["backend"],
    log:
        "logs/bench/alignment.log",
    benchmark:
        "benchmarks/bench/alignment.tsv"
    threads: workflow.cores
    resources:
        mem_mb=1000,  # measured: ~480 MB peak RSS with the default grid
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/bench_alignment.py"
