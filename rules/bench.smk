# Benchmarks against named peers, measured in the same run on the same data (DESIGN.md
# section 5). Targets (Snakefile): bench_alignment. Not part of `all`: they take minutes and
# their numbers mean something only on an otherwise idle machine.


rule bench_alignment_run:
    """Alignment throughput (GCUPS, alignments/s): biometal (numba 1 thread and all threads,
    Metal where available) vs parasail called per pair, over lengths x batch sizes x
    identities, interleaved repeats; ratios with Cohen's d; the GCUPS figure."""
    output:
        table=PLAN.bench_alignment[0],
        summary=PLAN.bench_alignment[1],
        figure=report(
            PLAN.bench_alignment[2],
            caption="../report/bench_alignment_gcups.rst",
            category="Benchmarks",
        ),
    log:
        "logs/bench/alignment.log",
    benchmark:
        "benchmarks/bench/alignment.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: workflow.cores
    resources:
        runtime=60,
        mem_mb=1000,  # measured: ~480 MB peak RSS with the default grid
        gpu=PLAN.gpus,
    params:
        cfg=config["bench"]["alignment"],
        seed=config["seed"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/bench_alignment.py"
