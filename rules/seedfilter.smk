# The seed-viability filter (target seed_filter): labelled windows -> CNN (+ cheap feature
# models) -> ONNX / Core ML (+ INT8) export -> what filtering saves on this machine -> figures.
# `seedfilter_ship` (not part of all) copies the trained artifacts into models/.


rule seed_windows:
    """Every seed occurrence: query/reference windows (uint8), extension score, true-locus
    test, VIABLE / NON-VIABLE label, seed features; class balance."""
    input:
        unpack(
            (
                lambda wc: PLAN.seeds.ena_fastq(
                    checkpoints.ena_filereport.get().output.runs
                )
            )
            if PLAN.seeds.source == "ena"
            else PLAN.seeds.sim_inputs
        ),
        index=PLAN.seeds.index,
        truth=PLAN.seeds.truth,
    output:
        windows="results/seedfilter/windows.npz",
        balance="results/seedfilter/class_balance.tsv",
    log:
        "logs/seedfilter/windows.log",
    benchmark:
        "benchmarks/seedfilter/windows.tsv"
    conda:
        "../envs/biometal.yaml"
    # one core: the job is mostly numba compiling its kernels on a fresh clone (~55 of 59 s
    # in `make run`), which is single-threaded; the extension itself is ~2 s
    threads: 1
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        n_pairs=config["seedfilter"]["n_pairs"],
        min_seed_len=config["seedfilter"]["min_seed_len"],
        max_occ=config["seedfilter"]["max_occ"],
        window=config["seedfilter"]["window"],
        labels=config["seedfilter"]["labels"],
    script:
        "../scripts/seed_windows.py"


rule seedfilter_train:
    """The 1D CNN: AdamW, cosine schedule, pos_weight, early stopping, split by read pair;
    threshold on validation for the target TPR; test AUROC / AUPRC / TPR / FPR."""
    input:
        "results/seedfilter/windows.npz",
    output:
        model="results/seedfilter/cnn.pt",
        metrics="results/seedfilter/cnn_metrics.json",
        predictions="results/seedfilter/cnn_predictions.tsv.gz",
        history="results/seedfilter/cnn_history.tsv",
    log:
        "logs/seedfilter/train.log",
    benchmark:
        "benchmarks/seedfilter/train.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=60,
        gpu=PLAN.gpus,
        mem_mb=1500,
    params:
        train=config["seedfilter"]["train"],
        seed=config["seed"],
    script:
        "../scripts/seedfilter_train.py"


rule seedfilter_features:
    """The cheap peers: gradient boosting and logistic regression on seed features."""
    input:
        "results/seedfilter/windows.npz",
    output:
        models="results/seedfilter/feature_models.joblib",
        metrics="results/seedfilter/feature_metrics.json",
        predictions="results/seedfilter/feature_predictions.tsv.gz",
    log:
        "logs/seedfilter/features.log",
    conda:
        "../envs/biometal.yaml"
    threads: 1
    resources:
        runtime=30,
        mem_mb=500,
    params:
        train=config["seedfilter"]["train"],
        seed=config["seed"],
    script:
        "../scripts/seedfilter_features.py"


rule seedfilter_export:
    """ONNX (checked against torch at every batch size), Core ML .mlpackage and its INT8
    variant (specs validated)."""
    input:
        "results/seedfilter/cnn.pt",
    output:
        onnx="results/seedfilter/seedfilter.onnx",
        mlpackage=directory("results/seedfilter/seedfilter.mlpackage"),
        mlpackage_int8=directory("results/seedfilter/seedfilter_int8.mlpackage"),
        report="results/seedfilter/export.json",
    log:
        "logs/seedfilter/export.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=30,
        mem_mb=1500,
    params:
        batch_sizes=config["seedfilter"]["export"]["batch_sizes"],
        atol=config["seedfilter"]["export"]["atol"],
    script:
        "../scripts/seedfilter_export.py"


rule seedfilter_cost:
    """Per-seed inference vs extension cost, seeds removed, correct alignments lost,
    extension-stage time with and without each filter; latency by batch size and backend.
    """
    input:
        index=PLAN.seeds.index,
        windows="results/seedfilter/windows.npz",
        model="results/seedfilter/cnn.pt",
        onnx="results/seedfilter/seedfilter.onnx",
        metrics="results/seedfilter/cnn_metrics.json",
        feature_models="results/seedfilter/feature_models.joblib",
    output:
        table="results/seedfilter/cost.tsv",
        latency="results/seedfilter/latency.tsv",
        summary="results/seedfilter/cost_summary.json",
    log:
        "logs/seedfilter/cost.log",
    benchmark:
        "benchmarks/seedfilter/cost.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=30,
        gpu=PLAN.gpus,
        mem_mb=2000,
    params:
        cost=config["seedfilter"]["cost"],
        batch_sizes=config["seedfilter"]["export"]["batch_sizes"],
        providers=config["seedfilter"]["inference"]["providers"],
        split=config["seedfilter"]["train"]["split"],
        seed=config["seed"],
    script:
        "../scripts/seedfilter_cost.py"


rule seedfilter_figures:
    """ROC and PR curves (test split), latency by batch size and backend, extension-stage
    time with and without filtering; one metrics table of every model."""
    input:
        cnn_metrics="results/seedfilter/cnn_metrics.json",
        cnn_predictions="results/seedfilter/cnn_predictions.tsv.gz",
        feature_metrics="results/seedfilter/feature_metrics.json",
        feature_predictions="results/seedfilter/feature_predictions.tsv.gz",
        latency="results/seedfilter/latency.tsv",
        cost="results/seedfilter/cost.tsv",
    output:
        metrics="results/seedfilter/metrics.tsv",
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
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/seedfilter_figures.py"


rule seedfilter_ship:
    """Copy the trained artifacts into models/ with a model card (not part of all)."""
    input:
        onnx="results/seedfilter/seedfilter.onnx",
        mlpackage="results/seedfilter/seedfilter.mlpackage",
        mlpackage_int8="results/seedfilter/seedfilter_int8.mlpackage",
        export="results/seedfilter/export.json",
        metrics="results/seedfilter/metrics.tsv",
        balance="results/seedfilter/class_balance.tsv",
        cost="results/seedfilter/cost_summary.json",
        feature_models="results/seedfilter/feature_models.joblib",
    output:
        onnx="models/seedfilter.onnx",
        mlpackage=directory("models/seedfilter.mlpackage"),
        mlpackage_int8=directory("models/seedfilter_int8.mlpackage"),
        features="models/seedfilter_features.joblib",
        card="models/seedfilter.md",
    log:
        "logs/seedfilter/ship.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        config=config["seedfilter"],
    script:
        "../scripts/seedfilter_ship.py"
