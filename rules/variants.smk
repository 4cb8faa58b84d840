# Case study 2, part 3: calls (biometal: pileup + site statistics + genotypes -> VCF 4.3),
# bcftools and FreeBayes on the same BAM when installed, scores against the truth with the
# callers' wall time and peak memory, figures.
import shutil

VAR = "results/variants"
VARIANT_PEERS = [p for p in VARCFG["peers"] if shutil.which(p)]
for _peer in VARCFG["peers"]:
    if _peer not in VARIANT_PEERS:
        sys.stderr.write(f"note: variant-calling peer '{_peer}' is not installed; it is left out\n")
VARIANT_CALLERS = ["biometal"] + VARIANT_PEERS


def variant_vcf(caller, sample):
    """Where ``caller`` writes the calls of ``sample``."""
    if caller == "biometal":
        return f"{VAR}/{sample}.vcf.gz"
    return f"{VAR}/peers/{caller}/{sample}.vcf.gz"


# (sample, caller, VCF, benchmark file) of every call set scored by evaluate_variants
VARIANT_EVAL_SETS = [
    (s, c, variant_vcf(c, s), f"benchmarks/variants/{c}/{s}.tsv")
    for s in VARIANT_SAMPLE_NAMES
    for c in VARIANT_CALLERS
]


VARIANTS_OUTPUTS = [
    *(variant_vcf(c, s) for c in VARIANT_CALLERS for s in VARIANT_SAMPLE_NAMES),
    *(variant_vcf("biometal", s) + ".tbi" for s in VARIANT_SAMPLE_NAMES),
    *PILEUP_OUTPUTS,
]
if VARIANTS_TRUTH:
    VARIANTS_OUTPUTS += [f"{VAR}/eval.tsv", "results/figures/variants_precision_recall.png"]


rule call_variants:
    """SNPs and indels of one sample: streaming pileup -> binomial / beta-binomial tests,
    diploid genotype likelihoods, GQ, QUAL -> bgzipped, tabix-indexed VCF 4.3."""
    input:
        unpack(variant_bam_inputs),
    output:
        vcf=f"{VAR}/{{sample}}.vcf.gz",
        tbi=f"{VAR}/{{sample}}.vcf.gz.tbi",
    params:
        pileup=VARCFG["pileup"],
        calling=VARCFG["calling"],
        backend=config["compute"]["backend"],
    log:
        "logs/variants/biometal_{sample}.log",
    benchmark:
        "benchmarks/variants/biometal/{sample}.tsv"
    threads: VARCFG["pileup"]["threads"]
    resources:
        mem_mb=1500,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/call_variants.py"


rule call_bcftools:
    """Peer: bcftools mpileup | bcftools call -mv on the same BAM, same MAPQ / base-quality
    filters (BAQ and bcftools' own defaults otherwise)."""
    input:
        unpack(variant_bam_inputs),
    output:
        vcf=f"{VAR}/peers/bcftools/{{sample}}.vcf.gz",
    params:
        min_mapq=VARCFG["pileup"]["min_mapq"],
        min_baseq=VARCFG["pileup"]["min_baseq"],
    log:
        "logs/variants/bcftools_{sample}.log",
    benchmark:
        "benchmarks/variants/bcftools/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    shell:
        "(bcftools mpileup -f {input.reference} -q {params.min_mapq} -Q {params.min_baseq}"
        " -a AD,DP -Ou {input.bam}"
        " | bcftools call -mv -Oz -o {output.vcf}) 2> {log}"


rule call_freebayes:
    """Peer: FreeBayes on the same BAM, same MAPQ / base-quality filters."""
    input:
        unpack(variant_bam_inputs),
    output:
        vcf=f"{VAR}/peers/freebayes/{{sample}}.vcf.gz",
    params:
        min_mapq=VARCFG["pileup"]["min_mapq"],
        min_baseq=VARCFG["pileup"]["min_baseq"],
    log:
        "logs/variants/freebayes_{sample}.log",
    benchmark:
        "benchmarks/variants/freebayes/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    shell:
        "(freebayes -f {input.reference} --min-mapping-quality {params.min_mapq}"
        " --min-base-quality {params.min_baseq} {input.bam}"
        " | bgzip -c > {output.vcf}) 2> {log}"


rule evaluate_variants:
    """Precision, recall and F1 for SNPs and indels of every caller against the truth
    (normalised alleles), with each caller's wall time and peak memory."""
    input:
        truth=VARIANTS_TRUTH or [],
        reference=VARIANTS_REF,
        vcfs=[v for _, _, v, _ in VARIANT_EVAL_SETS],
        benchmarks=[b for _, _, _, b in VARIANT_EVAL_SETS],
    output:
        f"{VAR}/eval.tsv",
    params:
        sets=VARIANT_EVAL_SETS,
    log:
        "logs/variants/evaluate.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/evaluate_variants.py"


rule variants_figure:
    """Precision / recall / F1 per caller (SNPs, indels) and the callers' wall time."""
    input:
        f"{VAR}/eval.tsv",
    output:
        report(
            "results/figures/variants_precision_recall.png",
            caption="../report/variants_precision_recall.rst",
            category="Variant calling",
        ),
    log:
        "logs/variants/figure.log",
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/plot_variants.py"
