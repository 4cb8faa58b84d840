# Regions (target case_study_regions): interval operations vs bedtools / bioframe, the
# multi-modal region loader's throughput and memory vs a pysam + cyvcf2 + pyfaidx loader,
# and a learned variant filter: the variant case study's sample (and the same reads
# down-sampled) -> low-threshold candidate calls labelled by the truth -> loader windows ->
# CNN trained on some contigs, scored on held-out ones against the caller's own filters.
# Paths: biometal.workflow.regions.


wildcard_constraints:
    depth=r"[0-9]+x|f[0-9.]+",


rule regions_downsample:
    """The sample's reads down-sampled (samtools view -s through pysam, seeded, pairs kept
    together), indexed."""
    input:
        bam=PLAN.regions.bam,
        bai=PLAN.regions.bai,
    output:
        bam="results/regions/bam/{sample}.{depth}.bam",
        bai="results/regions/bam/{sample}.{depth}.bam.bai",
    log:
        "logs/regions/downsample_{sample}.{depth}.log",
    benchmark:
        "benchmarks/regions/downsample_{sample}.{depth}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=300,
    params:
        fraction=lambda wildcards: PLAN.regions.fraction(wildcards.depth),
        seed=config["seed"],
    script:
        "../scripts/regions_downsample.py"


rule regions_calls:
    """The biometal caller at one depth, twice: with low thresholds (the candidates) and
    with the variant case study's thresholds (the caller's own filters, the baseline).
    """
    input:
        unpack(PLAN.regions.depth_inputs),
    output:
        candidates="results/regions/calls/{sample}.{depth}.candidates.vcf.gz",
        candidates_tbi="results/regions/calls/{sample}.{depth}.candidates.vcf.gz.tbi",
        caller="results/regions/calls/{sample}.{depth}.caller.vcf.gz",
        caller_tbi="results/regions/calls/{sample}.{depth}.caller.vcf.gz.tbi",
    log:
        "logs/regions/calls_{sample}.{depth}.log",
    benchmark:
        "benchmarks/regions/calls_{sample}.{depth}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=30,
        mem_mb=600,
    params:
        pileup=config["variants"]["pileup"],
        calling=config["variants"]["calling"],
        candidates=config["regions"]["varfilter"]["candidates"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/regions_calls.py"


rule regions_varfilter:
    """Candidate windows (region loader) labelled by the truth -> CNN trained on the
    training contigs of every depth -> precision / recall / F1 on the held-out contigs of
    the caller, the candidates, a tuned QUAL threshold and the learned filter, by stratum;
    the model exported as ONNX (checked against torch) and Core ML (float16, INT8)."""
    input:
        **PLAN.regions.varfilter_inputs,
    output:
        **{k: directory(v) for k, v in PLAN.regions.coreml_outputs.items()},
        table=PLAN.regions.table,
        scores=PLAN.regions.scores,
        model=PLAN.regions.model,
        onnx=PLAN.regions.onnx,
        report=PLAN.regions.export_report,
    log:
        "logs/regions/varfilter.log",
    benchmark:
        "benchmarks/regions/varfilter.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        depths=PLAN.regions.depths,
        cfg=config["regions"]["varfilter"],
        pileup=config["variants"]["pileup"],
        seed=config["seed"],
    script:
        "../scripts/regions_varfilter.py"


rule regions_intervals:
    """Interval operations on random sorted intervals: biometal vs bedtools (when on PATH)
    and bioframe (when installed), CPU seconds per repeat."""
    output:
        PLAN.regions.intervals,
    log:
        "logs/regions/intervals.log",
    benchmark:
        "benchmarks/regions/intervals.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=600,
    params:
        cfg=config["regions"]["intervals"],
    script:
        "../scripts/regions_intervals.py"


rule regions_loader:
    """The region loader's throughput (regions/s, MB/s) and peak memory against a plain
    pysam + cyvcf2 + pyfaidx loader on the same windows."""
    input:
        **PLAN.regions.loader_inputs,
    output:
        PLAN.regions.loader,
    log:
        "logs/regions/loader.log",
    benchmark:
        "benchmarks/regions/loader.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        cfg=config["regions"]["loader"],
    script:
        "../scripts/regions_loader.py"


rule regions_figures:
    """Interval benchmark (CPU time per operation, ratios) and loader throughput figures."""
    input:
        intervals=PLAN.regions.intervals,
        loader=PLAN.regions.loader,
    output:
        intervals=report(
            "results/figures/regions_intervals.png",
            caption="../report/regions_intervals.rst",
            category="Regions",
        ),
        loader=report(
            "results/figures/regions_loader.png",
            caption="../report/regions_loader.rst",
            category="Regions",
        ),
    log:
        "logs/regions/figures.log",
    benchmark:
        "benchmarks/regions/figures.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/regions_figures.py"


rule regions_varfilter_figure:
    """Precision / recall of the caller, the candidates and the learned filter per depth
    (curves over the QUAL and P(real) thresholds) and F1 by stratum."""
    input:
        table=PLAN.regions.table,
        scores=PLAN.regions.scores,
    output:
        report(
            "results/figures/regions_varfilter.png",
            caption="../report/regions_varfilter.rst",
            category="Regions",
        ),
    log:
        "logs/regions/varfilter_figure.log",
    benchmark:
        "benchmarks/regions/varfilter_figure.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/regions_varfilter_figure.py"
