# Case study 3: streaming DNABERT training (target case_study_dnabert). Reads stream from
# files or URLs through DnaBertDataset into a small BERT-style encoder; one model per
# tokenization (standard + dnabert.quality_modes), same steps and seed; masked-token accuracy
# on held-out high-quality reads; loss / throughput / memory / comparison figures.
# Inputs (biometal.workflow.dnabert): the simulated metagenome or dnabert.inputs/heldout.


rule dnabert_vocab:
    """The tokenizer's vocabulary in DNABERT's vocab.txt layout (k-mer ids of every model)."""
    output:
        "results/dnabert/vocab.txt",
    log:
        "logs/dnabert/vocab.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        k=config["dnabert"]["k"],
    script:
        "../scripts/dnabert_vocab.py"


rule dnabert_train:
    """MLM training of one tokenization mode on the streamed training reads; model + log of
    loss, tokens/s and RSS every log_every steps."""
    input:
        PLAN.dnabert.local(PLAN.dnabert.train),
    output:
        model="results/dnabert/models/{dnabert_mode}.pt",
        log="results/dnabert/train/{dnabert_mode}.tsv",
    log:
        "logs/dnabert/train_{dnabert_mode}.log",
    benchmark:
        "benchmarks/dnabert/train_{dnabert_mode}.tsv"
    wildcard_constraints:
        dnabert_mode=PLAN.dnabert.mode_pattern,
    conda:
        "../envs/biometal.yaml"
    threads: config["dnabert"]["train"]["threads"]
    resources:
        runtime=config["dnabert"]["train"]["runtime"],
        gpu=PLAN.gpus,
        mem_mb=1500,  # measured: ~0.9 GB peak RSS (torch + model + one chunk) at the defaults
    params:
        sources=PLAN.dnabert.train,
        cfg=config["dnabert"],
        seed=config["seed"],
    script:
        "../scripts/dnabert_train.py"


rule dnabert_evaluate:
    """Masked-token accuracy of every model on the same masked held-out high-quality reads."""
    input:
        models=expand("results/dnabert/models/{m}.pt", m=PLAN.dnabert.modes),
        heldout=PLAN.dnabert.local(PLAN.dnabert.heldout),
    output:
        "results/dnabert/evaluation.tsv",
    log:
        "logs/dnabert/evaluate.log",
    benchmark:
        "benchmarks/dnabert/evaluate.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=30,
        gpu=PLAN.gpus,
        mem_mb=1000,
    params:
        modes=PLAN.dnabert.modes,
        sources=PLAN.dnabert.heldout,
        cfg=config["dnabert"],
        seed=config["seed"],
    script:
        "../scripts/dnabert_evaluate.py"


rule dnabert_quality_thresholds:
    """Fraction of k-mer tokens (and reads) quality-aware tokenization changes, per threshold."""
    input:
        PLAN.dnabert.local(PLAN.dnabert.train),
    output:
        "results/dnabert/quality_thresholds.tsv",
    log:
        "logs/dnabert/quality_thresholds.log",
    conda:
        "../envs/biometal.yaml"
    threads: 1
    resources:
        runtime=20,
        mem_mb=500,
    params:
        sources=PLAN.dnabert.train,
        cfg=config["dnabert"],
    script:
        "../scripts/dnabert_quality_thresholds.py"


rule dnabert_figures:
    """Loss curves, throughput, memory over time, and standard vs quality-aware accuracy."""
    input:
        logs=expand("results/dnabert/train/{m}.tsv", m=PLAN.dnabert.modes),
        evaluation="results/dnabert/evaluation.tsv",
        thresholds="results/dnabert/quality_thresholds.tsv",
    output:
        **{
            name: report(
                f"results/figures/dnabert_{name}.png",
                caption=f"../report/dnabert_{name}.rst",
                category="DNABERT",
            )
            for name in ("loss", "throughput", "memory", "comparison")
        },
    log:
        "logs/dnabert/figures.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        quality_threshold=config["dnabert"]["quality_threshold"],
    script:
        "../scripts/dnabert_figures.py"
