# The seed-viability filter (target seed_filter): labelled windows -> CNN (+ cheap feature
# models) -> ONNX / Core ML (+ INT8) export -> what filtering saves on this machine -> figures.
# `seedfilter_ship` (not part of all) copies the trained artifacts into models/.
SF = "results/seedfilter"
SF_LABELS = SEEDCFG["labels"]
SF_TRAIN = SEEDCFG["train"]
SF_FIGURES = ["roc", "pr", "latency", "stage"]
SEEDFILTER_OUTPUTS = [
    f"{SEEDS}/{SEED_SAMPLE}.fastmap.txt.gz",
    f"{SF}/class_balance.tsv",
    f"{SF}/metrics.tsv",
    f"{SF}/export.json",
    f"{SF}/cost.tsv",
    f"{SF}/latency.tsv",
    f"{SF}/cost_summary.json",
    *[f"results/figures/seedfilter_{f}.png" for f in SF_FIGURES],
]


rule seed_windows:
    """Every seed occurrence: query/reference windows (uint8), extension score, true-locus
    test, VIABLE / NON-VIABLE label, seed features; class balance."""
    input:
        unpack(seed_fastq),
        index=SEED_INDEX,
        truth=SEED_TRUTH,
    output:
        windows=f"{SF}/windows.npz",
        balance=f"{SF}/class_balance.tsv",
    params:
        n_pairs=SEEDCFG["n_pairs"],
        min_seed_len=SEEDCFG["min_seed_len"],
        max_occ=SEEDCFG["max_occ"],
        window=SEEDCFG["window"],
        labels=SF_LABELS,
    log:
        "logs/seedfilter/windows.log",
    benchmark:
        "benchmarks/seedfilter/windows.tsv"
    threads: 2
    resources:
        mem_mb=1500,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seed_windows.py"


rule seedfilter_train:
    """The 1D CNN: AdamW, cosine schedule, pos_weight, early stopping, split by read pair;
    threshold on validation for the target TPR; test AUROC / AUPRC / TPR / FPR."""
    input:
        f"{SF}/windows.npz",
    output:
        model=f"{SF}/cnn.pt",
        metrics=f"{SF}/cnn_metrics.json",
        predictions=f"{SF}/cnn_predictions.tsv.gz",
        history=f"{SF}/cnn_history.tsv",
    params:
        train=SF_TRAIN,
        seed=config["seed"],
    log:
        "logs/seedfilter/train.log",
    benchmark:
        "benchmarks/seedfilter/train.tsv"
    threads: 2
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_train.py"


rule seedfilter_features:
    """The cheap peers: gradient boosting and logistic regression on seed features."""
    input:
        f"{SF}/windows.npz",
    output:
        models=f"{SF}/feature_models.joblib",
        metrics=f"{SF}/feature_metrics.json",
        predictions=f"{SF}/feature_predictions.tsv.gz",
    params:
        train=SF_TRAIN,
        seed=config["seed"],
    log:
        "logs/seedfilter/features.log",
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_features.py"


rule seedfilter_export:
    """ONNX (checked against torch at every batch size), Core ML .mlpackage and its INT8
    variant (specs validated)."""
    input:
        f"{SF}/cnn.pt",
    output:
        onnx=f"{SF}/seedfilter.onnx",
        mlpackage=directory(f"{SF}/seedfilter.mlpackage"),
        mlpackage_int8=directory(f"{SF}/seedfilter_int8.mlpackage"),
        report=f"{SF}/export.json",
    params:
        batch_sizes=SEEDCFG["export"]["batch_sizes"],
        atol=SEEDCFG["export"]["atol"],
    log:
        "logs/seedfilter/export.log",
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_export.py"


rule seedfilter_cost:
    """Per-seed inference vs extension cost, seeds removed, correct alignments lost,
    extension-stage time with and without each filter; latency by batch size and backend."""
    input:
        index=SEED_INDEX,
        windows=f"{SF}/windows.npz",
        model=f"{SF}/cnn.pt",
        onnx=f"{SF}/seedfilter.onnx",
        metrics=f"{SF}/cnn_metrics.json",
        feature_models=f"{SF}/feature_models.joblib",
    output:
        table=f"{SF}/cost.tsv",
        latency=f"{SF}/latency.tsv",
        summary=f"{SF}/cost_summary.json",
    params:
        cost=SEEDCFG["cost"],
        batch_sizes=SEEDCFG["export"]["batch_sizes"],
        providers=SEEDCFG["inference"]["providers"],
        split=SF_TRAIN["split"],
        seed=config["seed"],
    log:
        "logs/seedfilter/cost.log",
    benchmark:
        "benchmarks/seedfilter/cost.tsv"
    threads: 2
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_cost.py"


rule seedfilter_figures:
    """ROC and PR curves (test split), latency by batch size and backend, extension-stage
    time with and without filtering; one metrics table of every model."""
    input:
        cnn_metrics=f"{SF}/cnn_metrics.json",
        cnn_predictions=f"{SF}/cnn_predictions.tsv.gz",
        feature_metrics=f"{SF}/feature_metrics.json",
        feature_predictions=f"{SF}/feature_predictions.tsv.gz",
        latency=f"{SF}/latency.tsv",
        cost=f"{SF}/cost.tsv",
    output:
        metrics=f"{SF}/metrics.tsv",
        roc=report(
            "results/figures/seedfilter_roc.png",
            caption="../report/seedfilter_roc.rst",
            category="Seed filter",
        ),
        pr=report(
            "results/figures/seedfilter_pr.png",
            caption="../report/seedfilter_pr.rst",
            category="Seed filter",
        ),
        latency=report(
            "results/figures/seedfilter_latency.png",
            caption="../report/seedfilter_latency.rst",
            category="Seed filter",
        ),
        stage=report(
            "results/figures/seedfilter_stage.png",
            caption="../report/seedfilter_stage.rst",
            category="Seed filter",
        ),
    log:
        "logs/seedfilter/figures.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_figures.py"


rule seedfilter_ship:
    """Copy the trained artifacts into models/ with a model card (not part of all)."""
    input:
        onnx=f"{SF}/seedfilter.onnx",
        mlpackage=f"{SF}/seedfilter.mlpackage",
        mlpackage_int8=f"{SF}/seedfilter_int8.mlpackage",
        export=f"{SF}/export.json",
        metrics=f"{SF}/metrics.tsv",
        balance=f"{SF}/class_balance.tsv",
        cost=f"{SF}/cost_summary.json",
        feature_models=f"{SF}/feature_models.joblib",
    output:
        onnx="models/seedfilter.onnx",
        mlpackage=directory("models/seedfilter.mlpackage"),
        mlpackage_int8=directory("models/seedfilter_int8.mlpackage"),
        features="models/seedfilter_features.joblib",
        card="models/seedfilter.md",
    params:
        config=SEEDCFG,
    log:
        "logs/seedfilter/ship.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seedfilter_ship.py"
