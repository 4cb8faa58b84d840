# Read QC (target read_qc): reads simulated with realistic errors and their truth -> mapped
# (mappy, as the variant case study) -> covariates -> BQSR table and neural model ->
# held-out FASTQ recalibrated -> calibration, masking and variant-call scores; adapter
# trimming of the simulated metagenome by biometal, cutadapt and fastp; figures.
# Paths: biometal.workflow.readqc. The variants.recalibrate switch's rule is at the end.


rule readqc_simulate:
    """Reference, truth variants, training and held-out read pairs with realistic errors
    (config read_qc.errors) and per-base error truth."""
    output:
        **PLAN.readqc.sim_files,
    log:
        "logs/readqc/simulate.log",
    benchmark:
        "benchmarks/readqc/simulate.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        seed=config["seed"],
        cfg=config["read_qc"],
        compresslevel=config["simulate"]["compresslevel"],
    script:
        "../scripts/readqc_simulate.py"


rule readqc_map:
    """The training pairs mapped with mappy (minimap2 sr), as the variant case study maps."""
    input:
        reference=PLAN.readqc.data("ref.fa"),
        fastq=[PLAN.readqc.data("train_R1.fq.gz"), PLAN.readqc.data("train_R2.fq.gz")],
    output:
        bam="results/readqc/train.bam",
        bai="results/readqc/train.bam.bai",
    log:
        "logs/readqc/map.log",
    benchmark:
        "benchmarks/readqc/map.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=30,
        mem_mb=1000,
    script:
        "../scripts/readqc_map.py"


rule readqc_covariates:
    """Covariates and mismatch labels of the aligned training bases outside the truth
    variants (what a BQSR table is fitted on)."""
    input:
        bam="results/readqc/train.bam",
        bai="results/readqc/train.bam.bai",
        reference=PLAN.readqc.data("ref.fa"),
        known_sites=PLAN.readqc.data("truth.vcf.gz"),
    output:
        "results/readqc/train_covariates.npz",
    log:
        "logs/readqc/covariates.log",
    benchmark:
        "benchmarks/readqc/covariates.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1500,
    params:
        max_bases=config["read_qc"]["max_train_bases"],
    script:
        "../scripts/readqc_covariates.py"


rule readqc_bqsr:
    """The BQSR table (reported Q x mate x cycle x dinucleotide, shrunk to its parents)."""
    input:
        "results/readqc/train_covariates.npz",
    output:
        PLAN.readqc.table,
    log:
        "logs/readqc/bqsr.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        prior_errors=config["read_qc"]["prior_errors"],
    script:
        "../scripts/readqc_bqsr.py"


rule readqc_neural:
    """The neural base-quality model trained on the same aligned bases, exported as ONNX."""
    input:
        "results/readqc/train_covariates.npz",
    output:
        model=PLAN.readqc.model,
        history="results/readqc/model/history.tsv",
    log:
        "logs/readqc/neural.log",
    benchmark:
        "benchmarks/readqc/neural.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: config["read_qc"]["neural"]["threads"]
    resources:
        runtime=30,
        mem_mb=2000,
        gpu=PLAN.gpus,
    params:
        cfg=config["read_qc"]["neural"],
        seed=config["seed"],
    script:
        "../scripts/readqc_neural.py"


rule readqc_recalibrate:
    """The held-out read pairs with the qualities of one method (bqsr or neural)."""
    input:
        model=lambda wc: PLAN.readqc.model_file(wc.method),
        fastq=[PLAN.readqc.data("test_R1.fq.gz"), PLAN.readqc.data("test_R2.fq.gz")],
    output:
        r1="results/readqc/recalibrated/{method}_R1.fq.gz",
        r2="results/readqc/recalibrated/{method}_R2.fq.gz",
    log:
        "logs/readqc/recalibrate_{method}.log",
    benchmark:
        "benchmarks/readqc/recalibrate_{method}.tsv"
    wildcard_constraints:
        method="bqsr|neural",
    conda:
        "../envs/biometal.yaml"
    threads: config["read_qc"]["neural"]["threads"]
    resources:
        runtime=20,
        mem_mb=1000,
    script:
        "../scripts/readqc_recalibrate.py"


rule readqc_metrics:
    """Scores of the held-out bases against the simulator's truth: ECE, log-loss, MAE and r
    (reported, bqsr, neural, true p), calibration curves, error by cycle and context,
    masking at equal bases kept."""
    input:
        fastq=[PLAN.readqc.data("test_R1.fq.gz"), PLAN.readqc.data("test_R2.fq.gz")],
        truth=[
            PLAN.readqc.data("test_R1.errors.tsv.gz"),
            PLAN.readqc.data("test_R2.errors.tsv.gz"),
        ],
        recalibrated=[
            f for m in PLAN.readqc.methods for f in PLAN.readqc.recalibrated(m)
        ],
    output:
        **PLAN.readqc.tables,
    log:
        "logs/readqc/metrics.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1500,
    params:
        methods=PLAN.readqc.methods,
        masking=config["read_qc"]["masking"],
        seed=config["seed"],
    script:
        "../scripts/readqc_metrics.py"


rule readqc_recal_bam:
    """The training pairs with one method's qualities, mapped again (variant calls)."""
    input:
        model=lambda wc: PLAN.readqc.model_file(wc.method),
        reference=PLAN.readqc.data("ref.fa"),
        fastq=[PLAN.readqc.data("train_R1.fq.gz"), PLAN.readqc.data("train_R2.fq.gz")],
    output:
        bam="results/readqc/variants/train_{method}.bam",
        bai="results/readqc/variants/train_{method}.bam.bai",
    log:
        "logs/readqc/recal_bam_{method}.log",
    wildcard_constraints:
        method="bqsr|neural",
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=30,
        mem_mb=1500,
    script:
        "../scripts/readqc_recal_bam.py"


rule readqc_variants:
    """SNP and indel calls with reported vs recalibrated qualities against the truth."""
    input:
        reference=PLAN.readqc.data("ref.fa"),
        truth=PLAN.readqc.data("truth.vcf.gz"),
        reported="results/readqc/train.bam",
        bams=[PLAN.readqc.recal_bam(m) for m in PLAN.readqc.methods],
    output:
        "results/readqc/variants.tsv",
    log:
        "logs/readqc/variants.log",
    benchmark:
        "benchmarks/readqc/variants.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1500,
    params:
        methods=PLAN.readqc.methods,
        min_mapq=config["variants"]["pileup"]["min_mapq"],
        min_baseq=config["variants"]["pileup"]["min_baseq"],
    script:
        "../scripts/readqc_variants.py"


rule readqc_trim_biometal:
    """Adapter trimming of the metagenome pairs by biometal (mate overlap + adapters)."""
    input:
        r1=PLAN.readqc.meta["R1"],
        r2=PLAN.readqc.meta["R2"],
    output:
        r1="results/readqc/trimmed/biometal_R1.fq.gz",
        r2="results/readqc/trimmed/biometal_R2.fq.gz",
    log:
        "logs/readqc/trim_biometal.log",
    benchmark:
        PLAN.readqc.trim_benchmark("biometal")
    conda:
        "../envs/biometal.yaml"
    threads: 1
    resources:
        runtime=20,
        mem_mb=1000,
    script:
        "../scripts/readqc_trim.py"


rule readqc_trim_cutadapt:
    """Peer: cutadapt on the same pairs (TruSeq adapters, its defaults -e 0.1 -O 3)."""
    input:
        r1=PLAN.readqc.meta["R1"],
        r2=PLAN.readqc.meta["R2"],
    output:
        r1="results/readqc/trimmed/cutadapt_R1.fq.gz",
        r2="results/readqc/trimmed/cutadapt_R2.fq.gz",
    log:
        "logs/readqc/trim_cutadapt.log",
    benchmark:
        PLAN.readqc.trim_benchmark("cutadapt")
    conda:
        "../envs/cutadapt.yaml"
    threads: 1
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        a1=PLAN.readqc.adapters[0],
        a2=PLAN.readqc.adapters[1],
    shell:
        "cutadapt -j 1 -a {params.a1} -A {params.a2} -o {output.r1} -p {output.r2}"
        " {input.r1} {input.r2} > {log} 2>&1"


rule readqc_trim_fastp:
    """Peer: fastp on the same pairs (TruSeq adapters given; quality, length and poly-G
    filters off, so every read is kept)."""
    input:
        r1=PLAN.readqc.meta["R1"],
        r2=PLAN.readqc.meta["R2"],
    output:
        r1="results/readqc/trimmed/fastp_R1.fq.gz",
        r2="results/readqc/trimmed/fastp_R2.fq.gz",
    log:
        "logs/readqc/trim_fastp.log",
    benchmark:
        PLAN.readqc.trim_benchmark("fastp")
    conda:
        "../envs/fastp.yaml"
    threads: 1
    resources:
        runtime=20,
        mem_mb=2000,  # 1.2 GB peak RSS measured on 100,000 pairs
    params:
        a1=PLAN.readqc.adapters[0],
        a2=PLAN.readqc.adapters[1],
    shell:
        "fastp -w 1 -i {input.r1} -I {input.r2} -o {output.r1} -O {output.r2} -Q -L -G"
        " --adapter_sequence {params.a1} --adapter_sequence_r2 {params.a2}"
        " -j /dev/null -h /dev/null > {log} 2>&1"


rule readqc_trimming:
    """Trimming accuracy of every tool against the simulator's insert truth, with its cost."""
    input:
        r1=PLAN.readqc.meta["R1"],
        r2=PLAN.readqc.meta["R2"],
        truth=PLAN.readqc.meta["truth"],
        trimmed=[f for t in PLAN.readqc.trim_tools for f in PLAN.readqc.trimmed(t)],
        benchmarks=[PLAN.readqc.trim_benchmark(t) for t in PLAN.readqc.trim_tools],
    output:
        "results/readqc/trimming.tsv",
    log:
        "logs/readqc/trimming.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        tools=PLAN.readqc.trim_tools,
    script:
        "../scripts/readqc_trimming.py"


rule readqc_figures:
    """Calibration curves and error by cycle / context; masking; trimming; variant calls."""
    input:
        **PLAN.readqc.tables,
        variants="results/readqc/variants.tsv",
        trimming="results/readqc/trimming.tsv",
    output:
        calibration=report(
            PLAN.readqc.figures["calibration"],
            caption="../report/readqc_calibration.rst",
            category="Read QC",
        ),
        masking=report(
            PLAN.readqc.figures["masking"],
            caption="../report/readqc_masking.rst",
            category="Read QC",
        ),
        trimming=report(
            PLAN.readqc.figures["trimming"],
            caption="../report/readqc_trimming.rst",
            category="Read QC",
        ),
        variants=report(
            PLAN.readqc.figures["variants"],
            caption="../report/readqc_variants.rst",
            category="Read QC",
        ),
    log:
        "logs/readqc/figures.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    script:
        "../scripts/readqc_figures.py"


rule readqc_variants_recalibrate:
    """variants.recalibrate: a sample's reads with recalibrated qualities (BQSR fitted on
    its own BAM, or the read_qc model), mapped again; the case study calls on this BAM.
    """
    input:
        unpack(PLAN.variants.recal_inputs),
    output:
        bam="results/align/recalibrated/{sample}.bam",
        bai="results/align/recalibrated/{sample}.bam.bai",
    log:
        "logs/readqc/variants_recalibrate_{sample}.log",
    benchmark:
        "benchmarks/readqc/variants_recalibrate_{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: config["variants"]["mapping"]["threads"]
    resources:
        runtime=60,
        mem_mb=PLAN.variants.map_mem_mb,
    params:
        method=PLAN.variants.recalibrate,
        max_insert=config["variants"]["mapping"]["max_insert"],
    script:
        "../scripts/readqc_variants_recalibrate.py"
