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


rule bench_paper_scale_run:
    """The '500 GB on a laptop' measurements (not part of `all`, ~25 min on 2 cores): reads
    streamed through FIFOs into biometal quant and kallisto quant, 1M..20M pairs, cost fit and
    projection; the count-matrix step (20,000 genes x 500 samples) numpy vs numba vs Python.
    Needs kallisto on PATH. The two bench/ scripts are the measurement (see README)."""
    output:
        runs="results/bench/rnaseq_paper_scale/runs.tsv",
        fit="results/bench/rnaseq_paper_scale/fit.tsv",
        projection="results/bench/rnaseq_paper_scale/projection.tsv",
        matrix="results/bench/count_matrix/count_matrix.tsv",
    log:
        "logs/bench/paper_scale.log",
    conda:
        "../envs/biometal.yaml"
    threads: workflow.cores
    resources:
        runtime=60,
        mem_mb=4000,  # measured: pool of 500k pairs (~320 MB) + biometal quant (~0.3 GB)
    shell:
        "(python bench/rnaseq_paper_scale.py --out results/bench/rnaseq_paper_scale"
        " && python bench/count_matrix.py --out results/bench/count_matrix) > {log} 2>&1"


rule bench_paper_scale:
    """Figures of the paper-scale benchmark: CPU seconds and peak RSS against read pairs with
    the fitted cost lines; count-matrix seconds per step and implementation."""
    input:
        runs="results/bench/rnaseq_paper_scale/runs.tsv",
        fit="results/bench/rnaseq_paper_scale/fit.tsv",
        matrix="results/bench/count_matrix/count_matrix.tsv",
    output:
        scaling=report(
            "results/figures/bench_paper_scale.png",
            caption="../report/bench_paper_scale.rst",
            category="Benchmarks",
        ),
        matrix=report(
            "results/figures/bench_count_matrix.png",
            caption="../report/bench_count_matrix.rst",
            category="Benchmarks",
        ),
    log:
        "logs/bench/paper_scale_figures.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/bench_paper_scale.py"
