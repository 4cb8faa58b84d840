# Case study 3: streaming DNABERT training (target case_study_dnabert). Reads stream from
# files or URLs through DnaBertDataset into a small BERT-style encoder; one model per
# tokenization (standard + dnabert.quality_modes), same steps and seed; masked-token accuracy
# on held-out high-quality reads; loss / throughput / memory / comparison figures.
DNACFG = config["dnabert"]
DNABERT = "results/dnabert"


def _dnabert_fail(message):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def _dnabert_sources():
    """(training inputs, held-out inputs): paths or URLs."""
    if not DNACFG["inputs"]:
        return [SIM_META["R1"]], list(DNACFG["heldout"]) or [SIM_META["R2"]]
    if not DNACFG["heldout"]:
        _dnabert_fail(
            "config dnabert.inputs is set but dnabert.heldout is not: give held-out reads "
            "(paths or URLs) to evaluate on"
        )
    from biometal.io.sources import is_url

    for key in ("inputs", "heldout"):
        for p in DNACFG[key]:
            if p != "-" and not is_url(p) and not Path(p).is_file():
                _dnabert_fail(f"config dnabert.{key}: file '{p}' not found")
            if p == "-":
                _dnabert_fail(f"config dnabert.{key}: '-' (stdin) cannot be read by several jobs")
    return list(DNACFG["inputs"]), list(DNACFG["heldout"])


DNABERT_TRAIN, DNABERT_HELDOUT = _dnabert_sources()
if DNACFG["stride"] > DNACFG["k"]:
    _dnabert_fail(f"config dnabert.stride ({DNACFG['stride']}) must be <= dnabert.k ({DNACFG['k']})")
DNABERT_MODES = ["standard", *DNACFG["quality_modes"]]
DNABERT_FIGURES = ["loss", "throughput", "memory", "comparison"]
DNABERT_OUTPUTS = [
    f"{DNABERT}/evaluation.tsv",
    f"{DNABERT}/quality_thresholds.tsv",
    f"{DNABERT}/vocab.txt",
    *(f"results/figures/dnabert_{name}.png" for name in DNABERT_FIGURES),
]


def _local(paths):
    """Rule inputs: the local files among paths (URLs are streamed by the job itself)."""
    from biometal.io.sources import is_url

    return [p for p in paths if not is_url(p)]


wildcard_constraints:
    dnabert_mode="|".join(DNABERT_MODES),


rule dnabert_vocab:
    """The tokenizer's vocabulary in DNABERT's vocab.txt layout (k-mer ids of every model)."""
    output:
        f"{DNABERT}/vocab.txt",
    params:
        k=DNACFG["k"],
    log:
        "logs/dnabert/vocab.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/dnabert_vocab.py"


rule dnabert_train:
    """MLM training of one tokenization mode on the streamed training reads; model + log of
    loss, tokens/s and RSS every log_every steps."""
    input:
        _local(DNABERT_TRAIN),
    output:
        model=f"{DNABERT}/models/{{dnabert_mode}}.pt",
        log=f"{DNABERT}/train/{{dnabert_mode}}.tsv",
    params:
        sources=DNABERT_TRAIN,
        cfg=DNACFG,
        seed=config["seed"],
    log:
        "logs/dnabert/train_{dnabert_mode}.log",
    benchmark:
        "benchmarks/dnabert/train_{dnabert_mode}.tsv"
    threads: DNACFG["train"]["threads"]
    resources:
        mem_mb=1500,  # measured: ~0.9 GB peak RSS (torch + model + one chunk) at the defaults
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/dnabert_train.py"


rule dnabert_evaluate:
    """Masked-token accuracy of every model on the same masked held-out high-quality reads."""
    input:
        models=expand(f"{DNABERT}/models/{{m}}.pt", m=DNABERT_MODES),
        heldout=_local(DNABERT_HELDOUT),
    output:
        f"{DNABERT}/evaluation.tsv",
    params:
        modes=DNABERT_MODES,
        sources=DNABERT_HELDOUT,
        cfg=DNACFG,
        seed=config["seed"],
    log:
        "logs/dnabert/evaluate.log",
    benchmark:
        "benchmarks/dnabert/evaluate.tsv"
    threads: 2
    resources:
        mem_mb=1500,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/dnabert_evaluate.py"


rule dnabert_quality_thresholds:
    """Fraction of k-mer tokens (and reads) quality-aware tokenization changes, per threshold."""
    input:
        _local(DNABERT_TRAIN),
    output:
        f"{DNABERT}/quality_thresholds.tsv",
    params:
        sources=DNABERT_TRAIN,
        cfg=DNACFG,
    log:
        "logs/dnabert/quality_thresholds.log",
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/dnabert_quality_thresholds.py"


rule dnabert_figures:
    """Loss curves, throughput, memory over time, and standard vs quality-aware accuracy."""
    input:
        logs=expand(f"{DNABERT}/train/{{m}}.tsv", m=DNABERT_MODES),
        evaluation=f"{DNABERT}/evaluation.tsv",
        thresholds=f"{DNABERT}/quality_thresholds.tsv",
    output:
        **{
            name: report(
                f"results/figures/dnabert_{name}.png",
                caption=f"../report/dnabert_{name}.rst",
                category="DNABERT",
            )
            for name in DNABERT_FIGURES
        },
    params:
        quality_threshold=DNACFG["quality_threshold"],
    log:
        "logs/dnabert/figures.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/dnabert_figures.py"
