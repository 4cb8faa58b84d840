# Case study 1: RNA-seq quantification at constant memory (target case_study_rnaseq).
# k-mer index -> streaming pseudoalignment + EM per sample -> gene matrices, CPM/TPM, PCA,
# clustering; kallisto and salmon on the same samples when installed; accuracy against the
# simulated truth; cost from benchmark files; peak memory against input size.
import shutil

RNACFG = config["rnaseq"]
RNA = "results/rnaseq"


def _rnaseq_fail(message):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def _rnaseq_inputs():
    """(transcriptome, gtf, sheet, {sample: [fq1, fq2?]}, {sample: condition}, truth)."""
    own = [key for key in ("transcriptome", "gtf", "samples") if RNACFG[key]]
    if not own:
        mates = ("R1", "R2") if config["simulate"]["rnaseq"]["paired"] else ("R1",)
        fastq = {s: [rnaseq_fastq(s, m) for m in mates] for s in RNASEQ_SAMPLES}
        # the simulator puts the first ceil(n/2) samples in condition A, the rest in B
        n_a = (len(RNASEQ_SAMPLES) + 1) // 2
        cond = {s: "A" if i < n_a else "B" for i, s in enumerate(RNASEQ_SAMPLES)}
        truth = {"tpm": SIM_RNASEQ_TRUTH["tpm"], "de": SIM_RNASEQ_TRUTH["de"]}
        return SIM_TRANSCRIPTS, SIM_GTF, SIM_RNASEQ_SHEET, fastq, cond, truth
    if len(own) < 3:
        missing = [k for k in ("transcriptome", "gtf", "samples") if k not in own]
        _rnaseq_fail(
            f"config rnaseq.{own[0]} is set but rnaseq.{missing[0]} is not: your own data "
            "needs rnaseq.transcriptome, rnaseq.gtf and rnaseq.samples together"
        )
    for key in ("transcriptome", "gtf"):
        if not Path(RNACFG[key]).is_file():
            _rnaseq_fail(f"config rnaseq.{key}: file '{RNACFG[key]}' not found")
    from biometal.rnaseq.samples import read_rnaseq_sheet

    try:
        rows = read_rnaseq_sheet(RNACFG["samples"])
    except BiometalError as exc:
        _rnaseq_fail(exc)
    fastq = {r["sample"]: [p for p in (r["fq1"], r["fq2"]) if p] for r in rows}
    cond = {r["sample"]: r["condition"] for r in rows}
    return RNACFG["transcriptome"], RNACFG["gtf"], RNACFG["samples"], fastq, cond, {}


(
    RNASEQ_TRANSCRIPTOME,
    RNASEQ_GTF,
    RNASEQ_SHEET,
    RNASEQ_FASTQ,
    RNASEQ_CONDITIONS,
    RNASEQ_TRUTH,
) = _rnaseq_inputs()
RNASEQ_QUANT_SAMPLES = list(RNASEQ_FASTQ)
RNASEQ_PEERS = [p for p in RNACFG["peers"] if shutil.which(p)]
for _peer in RNACFG["peers"]:
    if _peer not in RNASEQ_PEERS:
        sys.stderr.write(f"note: rnaseq peer '{_peer}' is not installed; it is left out\n")
RNASEQ_METHODS = ["biometal"] + RNASEQ_PEERS
RNASEQ_SCALING = RNACFG["memory_scaling"]
RNASEQ_SCALING_SAMPLE = RNASEQ_QUANT_SAMPLES[0]
RNASEQ_SCALING_MATES = ["R1", "R2"][: len(RNASEQ_FASTQ[RNASEQ_SCALING_SAMPLE])]
RNASEQ_SCALING_METHODS = ["biometal"] + [p for p in RNASEQ_PEERS if p == "kallisto"]
# the 1x input: the first sample itself, or its first memory_scaling.reads reads
RNASEQ_SCALING_BASE = {
    mate: (
        f"{RNA}/scaling/base_{mate}.fastq.gz"
        if RNASEQ_SCALING["reads"]
        else RNASEQ_FASTQ[RNASEQ_SCALING_SAMPLE][i]
    )
    for i, mate in enumerate(RNASEQ_SCALING_MATES)
}


def rnaseq_quant_path(method, sample):
    """Where ``method`` writes the quant table of ``sample``."""
    return {
        "biometal": f"{RNA}/quant/{sample}.tsv",
        "kallisto": f"{RNA}/peers/kallisto/{sample}/abundance.tsv",
        "salmon": f"{RNA}/peers/salmon/{sample}/quant.sf",
    }[method]


def rnaseq_scaling_path(method, factor):
    return {
        "biometal": f"{RNA}/scaling/biometal_x{factor}.tsv",
        "kallisto": f"{RNA}/scaling/kallisto_x{factor}/abundance.tsv",
    }[method]


RNASEQ_INDEX = {
    "biometal": f"{RNA}/index/index.npz",
    "kallisto": f"{RNA}/index/kallisto.idx",
    "salmon": f"{RNA}/index/salmon",
}
RNASEQ_RUNS = [(m, s) for m in RNASEQ_METHODS for s in RNASEQ_QUANT_SAMPLES]
RNASEQ_OUTPUTS = [
    *(rnaseq_quant_path("biometal", s) for s in RNASEQ_QUANT_SAMPLES),
    f"{RNA}/gene_counts.tsv",
    f"{RNA}/gene_cpm.tsv",
    f"{RNA}/gene_tpm.tsv",
    f"{RNA}/pca.tsv",
    f"{RNA}/cost.tsv",
    f"{RNA}/index_cost.tsv",
    f"{RNA}/memory.tsv",
    f"{RNA}/throughput.tsv",
    "results/figures/rnaseq_pca.png",
    "results/figures/rnaseq_correlation.png",
    "results/figures/rnaseq_cost.png",
    "results/figures/rnaseq_memory.png",
]
if RNASEQ_TRUTH:
    RNASEQ_OUTPUTS += [f"{RNA}/accuracy.tsv", "results/figures/rnaseq_accuracy.png"]
# differential expression (a bonus baseline): the first two conditions, 2+ samples each
_levels = list(dict.fromkeys(RNASEQ_CONDITIONS.values()))[:2]
RNASEQ_DE = all(list(RNASEQ_CONDITIONS.values()).count(c) >= 2 for c in _levels)
if RNASEQ_DE:
    RNASEQ_OUTPUTS.append(f"{RNA}/de.tsv")
    if RNASEQ_TRUTH:
        RNASEQ_OUTPUTS.append(f"{RNA}/de_accuracy.tsv")


def _single_end(sample):
    return len(RNASEQ_FASTQ[sample]) == 1


# --------------------------------------------------------------------------- biometal


rule rnaseq_index:
    """k-mer index of the transcriptome (canonical k-mers -> equivalence classes, unitigs)."""
    input:
        RNASEQ_TRANSCRIPTOME,
    output:
        index=RNASEQ_INDEX["biometal"],
        stats=f"{RNA}/index/index.json",
    params:
        k=RNACFG["k"],
    log:
        "logs/rnaseq/index_biometal.log",
    benchmark:
        "benchmarks/rnaseq/index_biometal.tsv"
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_index.py"


rule rnaseq_quant:
    """One streaming pass of pseudoalignment per sample, then the EM: counts and TPM."""
    input:
        index=RNASEQ_INDEX["biometal"],
        fq=lambda wc: RNASEQ_FASTQ[wc.sample],
    output:
        quant=f"{RNA}/quant/{{sample}}.tsv",
        info=f"{RNA}/quant/{{sample}}.json",
    params:
        chunk_reads=config["compute"]["chunk_reads"],
        fragment_mean=RNACFG["fragment_mean"],
        fragment_sd=RNACFG["fragment_sd"],
        em=RNACFG["em"],
    log:
        "logs/rnaseq/quant/{sample}.log",
    benchmark:
        "benchmarks/rnaseq/quant/biometal/{sample}.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_quant.py"


# --------------------------------------------------------------------------- peers


rule kallisto_index:
    """kallisto's index of the same transcriptome (same k)."""
    input:
        RNASEQ_TRANSCRIPTOME,
    output:
        RNASEQ_INDEX["kallisto"],
    params:
        k=RNACFG["k"],
    log:
        "logs/rnaseq/index_kallisto.log",
    benchmark:
        "benchmarks/rnaseq/index_kallisto.tsv"
    resources:
        mem_mb=2000,
    shell:
        "kallisto index -k {params.k} -i {output} {input} > {log} 2>&1"


rule kallisto_quant:
    """kallisto quant on one sample (single-end: the configured fragment length)."""
    input:
        index=RNASEQ_INDEX["kallisto"],
        fq=lambda wc: RNASEQ_FASTQ[wc.sample],
    output:
        abundance=f"{RNA}/peers/kallisto/{{sample}}/abundance.tsv",
        info=f"{RNA}/peers/kallisto/{{sample}}/run_info.json",
    params:
        outdir=lambda wc, output: Path(output.abundance).parent,
        single=lambda wc: (
            f"--single -l {RNACFG['fragment_mean']} -s {RNACFG['fragment_sd']}"
            if _single_end(wc.sample)
            else ""
        ),
    log:
        "logs/rnaseq/kallisto/{sample}.log",
    benchmark:
        "benchmarks/rnaseq/quant/kallisto/{sample}.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=1000,
    shell:
        "kallisto quant -t {threads} -i {input.index} -o {params.outdir} {params.single} "
        "{input.fq} > {log} 2>&1"


rule salmon_index:
    """salmon's index of the same transcriptome (same k)."""
    input:
        RNASEQ_TRANSCRIPTOME,
    output:
        directory(RNASEQ_INDEX["salmon"]),
    params:
        k=RNACFG["k"],
    log:
        "logs/rnaseq/index_salmon.log",
    benchmark:
        "benchmarks/rnaseq/index_salmon.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=2000,
    shell:
        "salmon index -t {input} -i {output} -k {params.k} -p {threads} > {log} 2>&1"


rule salmon_quant:
    """salmon quant (selective alignment, library type detected) on one sample."""
    input:
        index=RNASEQ_INDEX["salmon"],
        fq=lambda wc: RNASEQ_FASTQ[wc.sample],
    output:
        quant=f"{RNA}/peers/salmon/{{sample}}/quant.sf",
        info=f"{RNA}/peers/salmon/{{sample}}/aux_info/meta_info.json",
    params:
        outdir=lambda wc, output: Path(output.quant).parent,
        reads=lambda wc, input: (
            f"-r {input.fq[0]} --fldMean {RNACFG['fragment_mean']} "
            f"--fldSD {RNACFG['fragment_sd']}"
            if _single_end(wc.sample)
            else f"-1 {input.fq[0]} -2 {input.fq[1]}"
        ),
    log:
        "logs/rnaseq/salmon/{sample}.log",
    benchmark:
        "benchmarks/rnaseq/quant/salmon/{sample}.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=1000,
    shell:
        "salmon quant -i {input.index} -l A {params.reads} -p {threads} -o {params.outdir} "
        "> {log} 2>&1"


# --------------------------------------------------------------------------- matrices, analysis


rule rnaseq_matrices:
    """Gene-level counts (via the GTF), CPM, TPM and log2(CPM + 1): genes x samples."""
    input:
        quants=[rnaseq_quant_path("biometal", s) for s in RNASEQ_QUANT_SAMPLES],
        gtf=RNASEQ_GTF,
    output:
        counts=f"{RNA}/gene_counts.tsv",
        cpm=f"{RNA}/gene_cpm.tsv",
        tpm=f"{RNA}/gene_tpm.tsv",
        log2cpm=f"{RNA}/gene_log2cpm.tsv",
    params:
        samples=RNASEQ_QUANT_SAMPLES,
    log:
        "logs/rnaseq/matrices.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_matrices.py"


rule rnaseq_analysis:
    """PCA of log2 CPM and hierarchical clustering of the samples."""
    input:
        cpm=f"{RNA}/gene_cpm.tsv",
        sheet=RNASEQ_SHEET,
    output:
        pca=f"{RNA}/pca.tsv",
        variance=f"{RNA}/pca_variance.tsv",
        correlation=f"{RNA}/sample_correlation.tsv",
        clustering=f"{RNA}/sample_clustering.tsv",
    params:
        min_cpm=RNACFG["min_cpm"],
    log:
        "logs/rnaseq/analysis.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_analysis.py"


rule rnaseq_de:
    """Differential expression between the two conditions (Welch t-test of log2 CPM, BH),
    scored against the simulated DE truth when there is one."""
    input:
        cpm=f"{RNA}/gene_cpm.tsv",
        sheet=RNASEQ_SHEET,
        truth=RNASEQ_TRUTH.get("de", []),
    output:
        de=f"{RNA}/de.tsv",
        **({"accuracy": f"{RNA}/de_accuracy.tsv"} if RNASEQ_TRUTH else {}),
    params:
        min_cpm=RNACFG["min_cpm"],
    log:
        "logs/rnaseq/de.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_de.py"


rule rnaseq_accuracy:
    """Spearman, log-Pearson and MARD of every method and sample against the truth TPM."""
    input:
        quants=[rnaseq_quant_path(m, s) for m, s in RNASEQ_RUNS],
        truth=RNASEQ_TRUTH.get("tpm", []),
    output:
        f"{RNA}/accuracy.tsv",
    params:
        runs=RNASEQ_RUNS,
    log:
        "logs/rnaseq/accuracy.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_accuracy.py"


rule rnaseq_cost:
    """Wall time, CPU time, peak RSS and reads/s per core of every run; index build cost."""
    input:
        quants=[rnaseq_quant_path(m, s) for m, s in RNASEQ_RUNS],
        benchmarks=[f"benchmarks/rnaseq/quant/{m}/{s}.tsv" for m, s in RNASEQ_RUNS],
        indexes=[RNASEQ_INDEX[m] for m in RNASEQ_METHODS],
        index_benchmarks=[f"benchmarks/rnaseq/index_{m}.tsv" for m in RNASEQ_METHODS],
    output:
        cost=f"{RNA}/cost.tsv",
        index_cost=f"{RNA}/index_cost.tsv",
    params:
        runs=RNASEQ_RUNS,
        methods=RNASEQ_METHODS,
        threads=RNACFG["threads"],
    log:
        "logs/rnaseq/cost.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_cost.py"


# --------------------------------------------------------------------------- memory scaling


rule rnaseq_scaling_head:
    """The first memory_scaling.reads reads (pairs) of the first sample."""
    input:
        RNASEQ_FASTQ[RNASEQ_SCALING_SAMPLE],
    output:
        temp(expand(f"{RNA}/scaling/base_{{mate}}.fastq.gz", mate=RNASEQ_SCALING_MATES)),
    params:
        reads=RNASEQ_SCALING["reads"],
    log:
        "logs/rnaseq/scaling/head.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_scaling_head.py"


rule rnaseq_scaling_replicate:
    """The base reads concatenated factor times: gzip members, streamed by cat (a
    concatenation of gzip files is a gzip file), no recompression."""
    input:
        lambda wc: RNASEQ_SCALING_BASE[wc.mate],
    output:
        temp(f"{RNA}/scaling/x{{factor}}_{{mate}}.fastq.gz"),
    wildcard_constraints:
        factor=r"\d+",
        mate="R1|R2",
    log:
        "logs/rnaseq/scaling/replicate_x{factor}_{mate}.log",
    shell:
        "(for i in $(seq {wildcards.factor}); do cat {input:q}; done > {output:q}) 2> {log}"


rule rnaseq_scaling_quant:
    """biometal on the replicated input, in a fresh process (its peak RSS is the point)."""
    input:
        index=RNASEQ_INDEX["biometal"],
        fq=expand(f"{RNA}/scaling/x{{{{factor}}}}_{{mate}}.fastq.gz", mate=RNASEQ_SCALING_MATES),
    output:
        quant=f"{RNA}/scaling/biometal_x{{factor}}.tsv",
        info=f"{RNA}/scaling/biometal_x{{factor}}.json",
    wildcard_constraints:
        factor=r"\d+",
    params:
        chunk_reads=config["compute"]["chunk_reads"],
        fragment_mean=RNACFG["fragment_mean"],
        fragment_sd=RNACFG["fragment_sd"],
        em=RNACFG["em"],
    log:
        "logs/rnaseq/scaling/biometal_x{factor}.log",
    benchmark:
        "benchmarks/rnaseq/scaling/biometal_x{factor}.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_quant.py"


rule kallisto_scaling_quant:
    """kallisto on the replicated input (same reads, same threads)."""
    input:
        index=RNASEQ_INDEX["kallisto"],
        fq=expand(f"{RNA}/scaling/x{{{{factor}}}}_{{mate}}.fastq.gz", mate=RNASEQ_SCALING_MATES),
    output:
        abundance=f"{RNA}/scaling/kallisto_x{{factor}}/abundance.tsv",
        info=f"{RNA}/scaling/kallisto_x{{factor}}/run_info.json",
    wildcard_constraints:
        factor=r"\d+",
    params:
        outdir=lambda wc, output: Path(output.abundance).parent,
        single=(
            f"--single -l {RNACFG['fragment_mean']} -s {RNACFG['fragment_sd']}"
            if len(RNASEQ_SCALING_MATES) == 1
            else ""
        ),
    log:
        "logs/rnaseq/scaling/kallisto_x{factor}.log",
    benchmark:
        "benchmarks/rnaseq/scaling/kallisto_x{factor}.tsv"
    threads: RNACFG["threads"]
    resources:
        mem_mb=1000,
    shell:
        "kallisto quant -t {threads} -i {input.index} -o {params.outdir} {params.single} "
        "{input.fq} > {log} 2>&1"


rule rnaseq_memory:
    """Peak RSS, wall and CPU time against input size; marginal throughput, per method."""
    input:
        quants=[
            rnaseq_scaling_path(m, f)
            for m in RNASEQ_SCALING_METHODS
            for f in RNASEQ_SCALING["factors"]
        ],
        benchmarks=[
            f"benchmarks/rnaseq/scaling/{m}_x{f}.tsv"
            for m in RNASEQ_SCALING_METHODS
            for f in RNASEQ_SCALING["factors"]
        ],
    output:
        memory=f"{RNA}/memory.tsv",
        throughput=f"{RNA}/throughput.tsv",
    params:
        runs=[(m, f) for m in RNASEQ_SCALING_METHODS for f in RNASEQ_SCALING["factors"]],
    log:
        "logs/rnaseq/memory.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_memory.py"


# --------------------------------------------------------------------------- figures


rule rnaseq_figure_pca:
    """Figure: PCA of the samples, coloured by condition."""
    input:
        pca=f"{RNA}/pca.tsv",
        variance=f"{RNA}/pca_variance.tsv",
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
    script:
        "../scripts/rnaseq_figure_pca.py"


rule rnaseq_figure_correlation:
    """Figure: sample correlation heatmap with the clustering dendrogram."""
    input:
        correlation=f"{RNA}/sample_correlation.tsv",
        clustering=f"{RNA}/sample_clustering.tsv",
        pca=f"{RNA}/pca.tsv",
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
    script:
        "../scripts/rnaseq_figure_correlation.py"


rule rnaseq_figure_accuracy:
    """Figure: estimated vs true TPM and Spearman / MARD per method."""
    input:
        accuracy=f"{RNA}/accuracy.tsv",
        quants=[rnaseq_quant_path(m, s) for m, s in RNASEQ_RUNS],
        truth=RNASEQ_TRUTH.get("tpm", []),
    output:
        report(
            "results/figures/rnaseq_accuracy.png",
            caption="../report/rnaseq_accuracy.rst",
            category="RNA-seq",
        ),
    params:
        runs=RNASEQ_RUNS,
    log:
        "logs/rnaseq/figure_accuracy.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/rnaseq_figure_accuracy.py"


rule rnaseq_figure_cost:
    """Figure: throughput per core, wall time, peak RSS per method; index build cost."""
    input:
        cost=f"{RNA}/cost.tsv",
        index_cost=f"{RNA}/index_cost.tsv",
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
    script:
        "../scripts/rnaseq_figure_cost.py"


rule rnaseq_figure_memory:
    """Figure: peak RSS against input size (1x..Nx the same sample)."""
    input:
        memory=f"{RNA}/memory.tsv",
        throughput=f"{RNA}/throughput.tsv",
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
    script:
        "../scripts/rnaseq_figure_memory.py"
