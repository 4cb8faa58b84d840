# DNABERT read classification (target dnabert_classify): which genome of the simulated
# metagenome each read comes from. The case study's MLM-pretrained encoder and a random one
# are fine-tuned on labelled R1 reads; both and an exact k-mer classifier are scored on
# held-out R2 reads and on reads of diverged strains (accuracy, macro F1, CPU per million
# reads); the encoder and classifier are exported to ONNX / Core ML (+ INT8) and checked.
# Paths: biometal.workflow.dnabert_classify.


rule dnabert_classify_data:
    """Test reads: held-out metagenome R2 reads and reads of diverged copies of every genome."""
    input:
        genomes=PLAN.dnabert_classify.meta["genomes"],
        r2=PLAN.dnabert_classify.meta["R2"],
        truth=PLAN.dnabert_classify.meta["truth"],
    output:
        **PLAN.dnabert_classify.data,
    log:
        "logs/dnabert_classify/data.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=800,
    params:
        cfg=config["dnabert_classify"],
        read_length=config["simulate"]["metagenome"]["read_length"],
        seed=config["seed"],
    script:
        "../scripts/dnabert_classify_data.py"


rule dnabert_classify_kmer:
    """The exact k-mer classifier: index of the genomes, every test set classified."""
    input:
        genomes=PLAN.dnabert_classify.meta["genomes"],
        data=list(PLAN.dnabert_classify.data.values()),
    output:
        pred=PLAN.dnabert_classify.pred("kmer"),
        cost=PLAN.dnabert_classify.cost("kmer"),
    log:
        "logs/dnabert_classify/kmer.log",
    benchmark:
        "benchmarks/dnabert_classify/kmer.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,  # measured: ~0.5 GB peak RSS (2 M k-mers + sort) at the defaults
    params:
        cfg=config["dnabert_classify"],
    script:
        "../scripts/dnabert_classify_kmer.py"


rule dnabert_classify_finetune:
    """Fine-tune one classifier (pretrained encoder or from scratch), export it to ONNX
    (checked against torch) and classify every test set through ONNX Runtime."""
    input:
        r1=PLAN.dnabert_classify.meta["R1"],
        truth=PLAN.dnabert_classify.meta["truth"],
        genomes=PLAN.dnabert_classify.meta["genomes"],
        pretrained=PLAN.dnabert_classify.pretrained,
        data=list(PLAN.dnabert_classify.data.values()),
    output:
        model=PLAN.dnabert_classify.classifier("{init}"),
        onnx=PLAN.dnabert_classify.classifier("{init}", "onnx"),
        log="results/dnabert/classify/train/{init}.tsv",
        pred=PLAN.dnabert_classify.pred("dnabert_{init}"),
        cost=PLAN.dnabert_classify.cost("dnabert_{init}"),
        report=PLAN.dnabert_classify.classifier_report("{init}"),
    log:
        "logs/dnabert_classify/finetune_{init}.log",
    benchmark:
        "benchmarks/dnabert_classify/finetune_{init}.tsv"
    wildcard_constraints:
        init="|".join(PLAN.dnabert_classify.inits),
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=config["dnabert_classify"]["runtime"],
        mem_mb=1200,  # measured: ~0.7 GB peak RSS at the defaults
    params:
        cfg=config["dnabert_classify"],
        seed=config["seed"],
    script:
        "../scripts/dnabert_classify_finetune.py"


rule dnabert_classify_export:
    """The case study's encoder to ONNX and Core ML (FP16, INT8), the fine-tuned classifier
    to Core ML (FP16, INT8); the table of export checks."""
    input:
        encoder=PLAN.dnabert_classify.pretrained,
        classifier=PLAN.dnabert_classify.classifier("pretrained"),
        reports=expand(
            PLAN.dnabert_classify.classifier_report("{init}"),
            init=PLAN.dnabert_classify.inits,
        ),
    output:
        onnx="results/dnabert/classify/models/encoder.onnx",
        mlpackages=[directory(p) for p in PLAN.dnabert_classify.mlpackages.values()],
        table=PLAN.dnabert_classify.tables["export"],
    log:
        "logs/dnabert_classify/export.log",
    benchmark:
        "benchmarks/dnabert_classify/export.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1500,
    params:
        cfg=config["dnabert_classify"],
        inits=PLAN.dnabert_classify.inits,
    script:
        "../scripts/dnabert_classify_export.py"


rule dnabert_classify_report:
    """Classification table (method x test set), accuracy by read length, confusion
    matrices, costs, figures and the model card."""
    input:
        preds=[PLAN.dnabert_classify.pred(m) for m in PLAN.dnabert_classify.methods],
        costs=[PLAN.dnabert_classify.cost(m) for m in PLAN.dnabert_classify.methods],
        classes=PLAN.dnabert_classify.data["classes"],
        export=PLAN.dnabert_classify.tables["export"],
        classifier=PLAN.dnabert_classify.classifier("pretrained"),
    output:
        **{
            f"fig_{name}": report(
                path,
                caption=f"../report/dnabert_classify_{name}.rst",
                category="DNABERT read classification",
            )
            for name, path in PLAN.dnabert_classify.figures.items()
        },
        classification=PLAN.dnabert_classify.tables["classification"],
        by_length=PLAN.dnabert_classify.tables["by_length"],
        confusion=PLAN.dnabert_classify.tables["confusion"],
        cost=PLAN.dnabert_classify.tables["cost"],
        card=PLAN.dnabert_classify.card,
    log:
        "logs/dnabert_classify/report.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=600,
    params:
        methods=PLAN.dnabert_classify.methods,
        read_length=config["simulate"]["metagenome"]["read_length"],
    script:
        "../scripts/dnabert_classify_report.py"
