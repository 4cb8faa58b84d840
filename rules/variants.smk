# Case study 2, part 3: calls (biometal: pileup + site statistics + genotypes -> VCF 4.3),
# bcftools and FreeBayes on the same BAM (config variants.peers), scores against the truth
# with the callers' wall time and peak memory, figures.


rule call_variants:
    """SNPs and indels of one sample: streaming pileup -> binomial / beta-binomial tests,
    diploid genotype likelihoods, GQ, QUAL -> bgzipped, tabix-indexed VCF 4.3."""
    input:
        unpack(PLAN.variants.bam_inputs),
    output:
        vcf="results/variants/{sample}.vcf.gz",
        tbi="results/variants/{sample}.vcf.gz.tbi",
    log:
        "logs/variants/biometal_{sample}.log",
    benchmark:
        "benchmarks/variants/biometal/{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: config["variants"]["pileup"]["threads"]
    resources:
        runtime=60,
        mem_mb=1000,
        gpu=PLAN.gpus,
    params:
        pileup=config["variants"]["pileup"],
        calling=config["variants"]["calling"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/call_variants.py"


rule call_bcftools:
    """Peer: bcftools mpileup | bcftools call -mv on the same BAM, same MAPQ / base-quality
    filters (BAQ and bcftools' own defaults otherwise)."""
    input:
        unpack(PLAN.variants.bam_inputs),
    output:
        vcf="results/variants/peers/bcftools/{sample}.vcf.gz",
    log:
        "logs/variants/bcftools_{sample}.log",
    benchmark:
        "benchmarks/variants/bcftools/{sample}.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        runtime=60,
        mem_mb=1000,
    params:
        min_mapq=config["variants"]["pileup"]["min_mapq"],
        min_baseq=config["variants"]["pileup"]["min_baseq"],
    shell:
        "(bcftools mpileup -f {input.reference} -q {params.min_mapq} -Q {params.min_baseq}"
        " -a AD,DP -Ou {input.bam}"
        " | bcftools call -mv -Oz -o {output.vcf}) 2> {log}"


rule call_freebayes:
    """Peer: FreeBayes on the same BAM, same MAPQ / base-quality filters."""
    input:
        unpack(PLAN.variants.bam_inputs),
    output:
        vcf="results/variants/peers/freebayes/{sample}.vcf.gz",
    log:
        "logs/variants/freebayes_{sample}.log",
    benchmark:
        "benchmarks/variants/freebayes/{sample}.tsv"
    conda:
        "../envs/freebayes.yaml"
    threads: 1
    resources:
        runtime=120,
        mem_mb=2000,
    params:
        min_mapq=config["variants"]["pileup"]["min_mapq"],
        min_baseq=config["variants"]["pileup"]["min_baseq"],
    shell:
        "(freebayes -f {input.reference} --min-mapping-quality {params.min_mapq}"
        " --min-base-quality {params.min_baseq} {input.bam}"
        " | bgzip -c > {output.vcf}) 2> {log}"


rule evaluate_variants:
    """Precision, recall and F1 for SNPs and indels of every caller against the truth
    (normalised alleles), with each caller's wall time and peak memory."""
    input:
        truth=PLAN.variants.truth or [],
        reference=PLAN.variants.reference,
        vcfs=[v for _, _, v, _ in PLAN.variants.eval_sets],
        benchmarks=[b for _, _, _, b in PLAN.variants.eval_sets],
    output:
        "results/variants/eval.tsv",
    log:
        "logs/variants/evaluate.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        sets=PLAN.variants.eval_sets,
    script:
        "../scripts/evaluate_variants.py"


rule variants_figure:
    """Precision / recall / F1 per caller (SNPs, indels) and the callers' wall time."""
    input:
        "results/variants/eval.tsv",
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
    resources:
        runtime=5,
        mem_mb=500,
    script:
        "../scripts/plot_variants.py"
