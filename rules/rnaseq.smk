# Case study 1: RNA-seq quantification at constant memory (target case_study_rnaseq).
# k-mer index -> streaming pseudoalignment + EM per sample -> gene matrices, CPM/TPM, PCA,
# clustering; kallisto and salmon on the same samples (config rnaseq.peers); accuracy against
# the simulated truth; cost from benchmark files; peak memory against input size.
# Inputs, runs and paths: biometal.workflow.rnaseq (PLAN.rnaseq).


rule rnaseq_index:
    """k-mer index of the transcriptome (canonical k-mers -> equivalence classes, unitigs)."""
    input:
        PLAN.rnaseq.transcriptome,
    output:
        index=PLAN.rnaseq.index["biometal"],
        stats="results/rnaseq/index/index.json",
    log:
        "logs/rnaseq/index_biometal.log",
    benchmark:
        "benchmarks/rnaseq/index_biometal.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=2000,
    params:
        k=config["rnaseq"]["k"],
    script:
        "../scripts/rnaseq_index.py"


for batch in PLAN.rnaseq.quant_batches:

    rule:
        """One streaming pass of pseudoalignment per sample, then the EM: counts and TPM.
        One job quantifies rnaseq.samples_per_job samples in turn (start-up paid once).
        """
        name:
            f"rnaseq_quant_{batch.name}"
        input:
            index=PLAN.rnaseq.index["biometal"],
            fq=[f for s in batch.samples for f in PLAN.rnaseq.fastq[s]],
        output:
            quant=batch.outputs("tsv"),
            info=batch.outputs("json"),
        log:
            f"logs/rnaseq/quant/batch{batch.name}.log",
        benchmark:
            f"benchmarks/rnaseq/quant/biometal/batch{batch.name}.tsv"
        conda:
            "../envs/biometal.yaml"
        threads: config["rnaseq"]["threads"]
        resources:
            runtime=30 * len(batch.samples),
            mem_mb=600,
        params:
            samples=batch.samples,
            mates=[len(PLAN.rnaseq.fastq[s]) for s in batch.samples],
            chunk_reads=config["compute"]["chunk_reads"],
            fragment_mean=config["rnaseq"]["fragment_mean"],
            fragment_sd=config["rnaseq"]["fragment_sd"],
            em=config["rnaseq"]["em"],
        script:
            "../scripts/rnaseq_quant.py"


# --------------------------------------------------------------------------- peers


rule kallisto_index:
    """kallisto's index of the same transcriptome (same k)."""
    input:
        PLAN.rnaseq.transcriptome,
    output:
        PLAN.rnaseq.index["kallisto"],
    log:
        "logs/rnaseq/index_kallisto.log",
    benchmark:
        "benchmarks/rnaseq/index_kallisto.tsv"
    conda:
        "../envs/kallisto.yaml"
    resources:
        runtime=20,
        mem_mb=2000,
    params:
        k=config["rnaseq"]["k"],
    shell:
        "kallisto index -k {params.k} -i {output} {input} > {log} 2>&1"


rule kallisto_quant:
    """kallisto quant on one sample (single-end: the configured fragment length)."""
    input:
        index=PLAN.rnaseq.index["kallisto"],
        fq=PLAN.rnaseq.sample_fastq,
    output:
        abundance="results/rnaseq/peers/kallisto/{sample}/abundance.tsv",
        info="results/rnaseq/peers/kallisto/{sample}/run_info.json",
    log:
        "logs/rnaseq/kallisto/{sample}.log",
    benchmark:
        "benchmarks/rnaseq/quant/kallisto/{sample}.tsv"
    conda:
        "../envs/kallisto.yaml"
    threads: config["rnaseq"]["threads"]
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        outdir=subpath(output.abundance, parent=True),
        single=lambda wc: (
            f"--single -l {config['rnaseq']['fragment_mean']} "
            f"-s {config['rnaseq']['fragment_sd']}"
            if PLAN.rnaseq.single_end(wc.sample)
            else ""
        ),
    shell:
        "kallisto quant -t {threads} -i {input.index} -o {params.outdir} {params.single} "
        "{input.fq} > {log} 2>&1"


rule salmon_index:
    """salmon's index of the same transcriptome (same k)."""
    input:
        PLAN.rnaseq.transcriptome,
    output:
        directory(PLAN.rnaseq.index["salmon"]),
    log:
        "logs/rnaseq/index_salmon.log",
    benchmark:
        "benchmarks/rnaseq/index_salmon.tsv"
    conda:
        "../envs/salmon.yaml"
    threads: config["rnaseq"]["threads"]
    resources:
        runtime=20,
        mem_mb=2000,
    params:
        k=config["rnaseq"]["k"],
    shell:
        "salmon index -t {input} -i {output} -k {params.k} -p {threads} > {log} 2>&1"


rule salmon_quant:
    """salmon quant (selective alignment, library type detected) on one sample."""
    input:
        index=PLAN.rnaseq.index["salmon"],
        fq=PLAN.rnaseq.sample_fastq,
    output:
        quant="results/rnaseq/peers/salmon/{sample}/quant.sf",
        info="results/rnaseq/peers/salmon/{sample}/aux_info/meta_info.json",
    log:
        "logs/rnaseq/salmon/{sample}.log",
    benchmark:
        "benchmarks/rnaseq/quant/salmon/{sample}.tsv"
    conda:
        "../envs/salmon.yaml"
    threads: config["rnaseq"]["threads"]
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        outdir=subpath(output.quant, parent=True),
        reads=lambda wc, input: (
            f"-r {input.fq[0]} --fldMean {config['rnaseq']['fragment_mean']} "
            f"--fldSD {config['rnaseq']['fragment_sd']}"
            if PLAN.rnaseq.single_end(wc.sample)
            else f"-1 {input.fq[0]} -2 {input.fq[1]}"
        ),
    shell:
        "salmon quant -i {input.index} -l A {params.reads} -p {threads} -o {params.outdir} "
        "> {log} 2>&1"


# --------------------------------------------------------------------------- matrices, analysis


rule rnaseq_matrices:
    """Gene-level counts (via the GTF), CPM, TPM and log2(CPM + 1): genes x samples."""
    input:
        quants=[PLAN.rnaseq.quant_path("biometal", s) for s in PLAN.rnaseq.samples],
        gtf=PLAN.rnaseq.gtf,
    output:
        counts="results/rnaseq/gene_counts.tsv",
        cpm="results/rnaseq/gene_cpm.tsv",
        tpm="results/rnaseq/gene_tpm.tsv",
        log2cpm="results/rnaseq/gene_log2cpm.tsv",
    log:
        "logs/rnaseq/matrices.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        samples=PLAN.rnaseq.samples,
    script:
        "../scripts/rnaseq_matrices.py"


rule rnaseq_analysis:
    """PCA of log2 CPM and hierarchical clustering of the samples."""
    input:
        cpm="results/rnaseq/gene_cpm.tsv",
        sheet=PLAN.rnaseq.sheet,
    output:
        pca="results/rnaseq/pca.tsv",
        variance="results/rnaseq/pca_variance.tsv",
        correlation="results/rnaseq/sample_correlation.tsv",
        clustering="results/rnaseq/sample_clustering.tsv",
    log:
        "logs/rnaseq/analysis.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        min_cpm=config["rnaseq"]["min_cpm"],
    script:
        "../scripts/rnaseq_analysis.py"


rule rnaseq_de:
    """Differential expression between the two conditions (Welch t-test of log2 CPM, BH),
    scored against the simulated DE truth when there is one."""
    input:
        cpm="results/rnaseq/gene_cpm.tsv",
        sheet=PLAN.rnaseq.sheet,
        truth=PLAN.rnaseq.truth.get("de", []),
    output:
        **({"accuracy": "results/rnaseq/de_accuracy.tsv"} if PLAN.rnaseq.truth else {}),
        de="results/rnaseq/de.tsv",
    log:
        "logs/rnaseq/de.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        min_cpm=config["rnaseq"]["min_cpm"],
    script:
        "../scripts/rnaseq_de.py"


rule rnaseq_accuracy:
    """Spearman, log-Pearson and MARD of every method and sample against the truth TPM."""
    input:
        quants=PLAN.rnaseq.quants,
        truth=PLAN.rnaseq.truth.get("tpm", []),
    output:
        "results/rnaseq/accuracy.tsv",
    log:
        "logs/rnaseq/accuracy.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        runs=PLAN.rnaseq.runs,
    script:
        "../scripts/rnaseq_accuracy.py"


rule rnaseq_cost:
    """Wall time, CPU time, peak RSS and reads/s per core of every run; index build cost."""
    input:
        quants=PLAN.rnaseq.quants,
        benchmarks=PLAN.rnaseq.quant_benchmarks,
        indexes=[PLAN.rnaseq.index[m] for m in PLAN.rnaseq.methods],
        index_benchmarks=[
            f"benchmarks/rnaseq/index_{m}.tsv" for m in PLAN.rnaseq.methods
        ],
    output:
        cost="results/rnaseq/cost.tsv",
        index_cost="results/rnaseq/index_cost.tsv",
    log:
        "logs/rnaseq/cost.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        runs=PLAN.rnaseq.runs,
        methods=PLAN.rnaseq.methods,
        threads=config["rnaseq"]["threads"],
    script:
        "../scripts/rnaseq_cost.py"


# --------------------------------------------------------------------------- memory scaling


rule rnaseq_scaling_head:
    """The first memory_scaling.reads reads (pairs) of the first sample."""
    input:
        PLAN.rnaseq.fastq[PLAN.rnaseq.scaling_sample],
    output:
        temp(
            expand(
                "results/rnaseq/scaling/base_{mate}.fastq.gz",
                mate=PLAN.rnaseq.scaling_mates,
            )
        ),
    log:
        "logs/rnaseq/scaling/head.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        reads=PLAN.rnaseq.scaling_reads,
    script:
        "../scripts/rnaseq_scaling_head.py"


rule rnaseq_scaling_replicate:
    """The base reads concatenated factor times: gzip members, streamed by cat (a
    concatenation of gzip files is a gzip file), no recompression."""
    input:
        PLAN.rnaseq.scaling_base,
    output:
        temp("results/rnaseq/scaling/x{factor}_{mate}.fastq.gz"),
    log:
        "logs/rnaseq/scaling/replicate_x{factor}_{mate}.log",
    wildcard_constraints:
        factor=r"\d+",
        mate="R1|R2",
    conda:
        "../envs/coreutils.yaml"
    resources:
        runtime=10,
        mem_mb=100,
    shell:
        "(for i in $(seq {wildcards.factor}); do cat {input:q}; done > {output:q}) 2> {log}"


rule rnaseq_scaling_quant:
    """biometal on the replicated input, in a fresh process (its peak RSS is the point)."""
    input:
        index=PLAN.rnaseq.index["biometal"],
        fq=expand(
            "results/rnaseq/scaling/x{{factor}}_{mate}.fastq.gz",
            mate=PLAN.rnaseq.scaling_mates,
        ),
    output:
        quant="results/rnaseq/scaling/biometal_x{factor}.tsv",
        info="results/rnaseq/scaling/biometal_x{factor}.json",
    log:
        "logs/rnaseq/scaling/biometal_x{factor}.log",
    benchmark:
        "benchmarks/rnaseq/scaling/biometal_x{factor}.tsv"
    wildcard_constraints:
        factor=r"\d+",
    conda:
        "../envs/biometal.yaml"
    threads: config["rnaseq"]["threads"]
    resources:
        runtime=30,
        mem_mb=600,
    params:
        chunk_reads=config["compute"]["chunk_reads"],
        fragment_mean=config["rnaseq"]["fragment_mean"],
        fragment_sd=config["rnaseq"]["fragment_sd"],
        em=config["rnaseq"]["em"],
    script:
        "../scripts/rnaseq_quant.py"


rule kallisto_scaling_quant:
    """kallisto on the replicated input (same reads, same threads)."""
    input:
        index=PLAN.rnaseq.index["kallisto"],
        fq=expand(
            "results/rnaseq/scaling/x{{factor}}_{mate}.fastq.gz",
            mate=PLAN.rnaseq.scaling_mates,
        ),
    output:
        abundance="results/rnaseq/scaling/kallisto_x{factor}/abundance.tsv",
        info="results/rnaseq/scaling/kallisto_x{factor}/run_info.json",
    log:
        "logs/rnaseq/scaling/kallisto_x{factor}.log",
    benchmark:
        "benchmarks/rnaseq/scaling/kallisto_x{factor}.tsv"
    wildcard_constraints:
        factor=r"\d+",
    conda:
        "../envs/kallisto.yaml"
    threads: config["rnaseq"]["threads"]
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        outdir=subpath(output.abundance, parent=True),
        single=(
            f"--single -l {config['rnaseq']['fragment_mean']} "
            f"-s {config['rnaseq']['fragment_sd']}"
            if len(PLAN.rnaseq.scaling_mates) == 1
            else ""
        ),
    shell:
        "kallisto quant -t {threads} -i {input.index} -o {params.outdir} {params.single} "
        "{input.fq} > {log} 2>&1"


rule rnaseq_memory:
    """Peak RSS, wall and CPU time against input size; marginal throughput, per method."""
    input:
        quants=[PLAN.rnaseq.scaling_path(m, f) for m, f in PLAN.rnaseq.scaling_runs],
        benchmarks=[
            f"benchmarks/rnaseq/scaling/{m}_x{f}.tsv"
            for m, f in PLAN.rnaseq.scaling_runs
        ],
    output:
        memory="results/rnaseq/memory.tsv",
        throughput="results/rnaseq/throughput.tsv",
    log:
        "logs/rnaseq/memory.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        runs=PLAN.rnaseq.scaling_runs,
    script:
        "../scripts/rnaseq_memory.py"


# --------------------------------------------------------------------------- figures


rule rnaseq_figure_pca:
    """Figure: PCA of the samples, coloured by condition."""
    input:
        pca="results/rnaseq/pca.tsv",
        variance="results/rnaseq/pca_variance.tsv",
    output:
        report(
            "results/figures/rnaseq_pca.png",
            caption="../report/rnaseq_pca.rst",
            category="RNA-seq",
        ),
    log:
        "logs/rnaseq/figure_pca.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/rnaseq_figure_pca.py"


rule rnaseq_figure_correlation:
    """Figure: sample correlation heatmap with the clustering dendrogram."""
    input:
        correlation="results/rnaseq/sample_correlation.tsv",
        clustering="results/rnaseq/sample_clustering.tsv",
        pca="results/rnaseq/pca.tsv",
    output:
        report(
            "results/figures/rnaseq_correlation.png",
            caption="../report/rnaseq_correlation.rst",
            category="RNA-seq",
        ),
    log:
        "logs/rnaseq/figure_correlation.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/rnaseq_figure_correlation.py"


rule rnaseq_figure_accuracy:
    """Figure: estimated vs true TPM and Spearman / MARD per method."""
    input:
        accuracy="results/rnaseq/accuracy.tsv",
        quants=PLAN.rnaseq.quants,
        truth=PLAN.rnaseq.truth.get("tpm", []),
    output:
        report(
            "results/figures/rnaseq_accuracy.png",
            caption="../report/rnaseq_accuracy.rst",
            category="RNA-seq",
        ),
    log:
        "logs/rnaseq/figure_accuracy.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    params:
        runs=PLAN.rnaseq.runs,
    script:
        "../scripts/rnaseq_figure_accuracy.py"


rule rnaseq_figure_cost:
    """Figure: throughput per core, wall time, peak RSS per method; index build cost."""
    input:
        cost="results/rnaseq/cost.tsv",
        index_cost="results/rnaseq/index_cost.tsv",
    output:
        report(
            "results/figures/rnaseq_cost.png",
            caption="../report/rnaseq_cost.rst",
            category="RNA-seq",
        ),
    log:
        "logs/rnaseq/figure_cost.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/rnaseq_figure_cost.py"


rule rnaseq_figure_memory:
    """Figure: peak RSS against input size (1x..Nx the same sample)."""
    input:
        memory="results/rnaseq/memory.tsv",
        throughput="results/rnaseq/throughput.tsv",
    output:
        report(
            "results/figures/rnaseq_memory.png",
            caption="../report/rnaseq_memory.rst",
            category="RNA-seq",
        ),
    log:
        "logs/rnaseq/figure_memory.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/rnaseq_figure_memory.py"
