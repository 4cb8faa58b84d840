# Population calling (target case_study_cohort): a cohort simulated from one population's
# variant sites (neutral allele frequencies) on a region of the simulated reference ->
# per-sample mappy BAMs -> per-sample gVCFs (site_stats kernel at every position) -> joint
# genotyping with cohort priors; bcftools multi-sample calling on the same BAMs as the peer;
# per-sample scores against the truth, recall by allele count and depth, whole-job CPU, the
# kernel's throughput, figures. Paths: biometal.workflow.cohort.


rule cohort_simulate:
    """The cohort: region of the simulated reference, multi-sample truth VCF, reads per
    sample (config cohort)."""
    input:
        reference=PLAN.cohort.reference,
    output:
        **PLAN.cohort.sim_outputs(),
    log:
        "logs/cohort/simulate.log",
    benchmark:
        "benchmarks/cohort/simulate.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        samples=PLAN.cohort.samples,
        cfg=config["cohort"],
        seed=config["seed"],
    script:
        "../scripts/cohort_simulate.py"


rule cohort_map:
    """One cohort sample's reads mapped with mappy (as the variant case study maps)."""
    input:
        reference=PLAN.cohort.region,
        fastq=lambda wc: PLAN.cohort.reads(wc.sample),
    output:
        bam="results/cohort/bam/{sample}.bam",
        bai="results/cohort/bam/{sample}.bam.bai",
    log:
        "logs/cohort/map_{sample}.log",
    benchmark:
        "benchmarks/cohort/map_{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=800,
    script:
        "../scripts/cohort_map.py"


rule cohort_gvcf:
    """One sample's gVCF: streaming pileup, site_stats kernel at every position, site
    records where reads show an ALT, GQ-banded reference blocks elsewhere."""
    input:
        bam="results/cohort/bam/{sample}.bam",
        bai="results/cohort/bam/{sample}.bam.bai",
        reference=PLAN.cohort.region,
    output:
        gvcf="results/cohort/gvcf/{sample}.g.vcf.gz",
        tbi="results/cohort/gvcf/{sample}.g.vcf.gz.tbi",
        cpu="results/cohort/cpu/gvcf_{sample}.json",
    log:
        "logs/cohort/gvcf_{sample}.log",
    benchmark:
        "benchmarks/cohort/gvcf_{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=800,
        gpu=PLAN.gpus,
    params:
        pileup=config["variants"]["pileup"],
        calling=config["variants"]["calling"],
        gvcf=config["cohort"]["gvcf"],
        backend=config["compute"]["backend"],
    script:
        "../scripts/cohort_gvcf.py"


rule cohort_joint:
    """Joint genotyping of every sample's gVCF: one multi-sample VCF, cohort priors (EM)."""
    input:
        gvcfs=[PLAN.cohort.gvcf(s) for s in PLAN.cohort.samples],
        tbis=[f"{PLAN.cohort.gvcf(s)}.tbi" for s in PLAN.cohort.samples],
        reference=PLAN.cohort.region,
    output:
        vcf=PLAN.cohort.joint,
        tbi=f"{PLAN.cohort.joint}.tbi",
        cpu="results/cohort/cpu/joint.json",
    log:
        "logs/cohort/joint.log",
    benchmark:
        "benchmarks/cohort/joint.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        calling=config["variants"]["calling"],
    script:
        "../scripts/cohort_joint.py"


rule cohort_bcftools:
    """Peer: bcftools mpileup -b bams.txt | bcftools call -mv on the same BAMs (same MAPQ /
    base-quality filters); the shell's `times` records the pipeline's CPU time."""
    input:
        bams=[PLAN.cohort.bam(s) for s in PLAN.cohort.samples],
        bais=[f"{PLAN.cohort.bam(s)}.bai" for s in PLAN.cohort.samples],
        reference=PLAN.cohort.region,
    output:
        vcf=PLAN.cohort.peer_vcf("bcftools"),
        tbi=f"{PLAN.cohort.peer_vcf('bcftools')}.tbi",
        cpu="results/cohort/cpu/bcftools.times",
    log:
        "logs/cohort/bcftools.log",
    benchmark:
        "benchmarks/cohort/bcftools.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        runtime=30,
        mem_mb=1000,
    params:
        min_mapq=config["variants"]["pileup"]["min_mapq"],
        min_baseq=config["variants"]["pileup"]["min_baseq"],
        bams_txt=lambda wc, output: f"{output.vcf}.bams.txt",
    shell:
        "printf '%s\\n' {input.bams} > {params.bams_txt}"
        " && (bcftools mpileup -f {input.reference} -q {params.min_mapq}"
        " -Q {params.min_baseq} -a AD,DP -b {params.bams_txt} -Ou"
        " | bcftools call -mv -Oz -o {output.vcf}) 2> {log}"
        " && bcftools index -t -f {output.vcf} && rm -f {params.bams_txt}"
        " && times > {output.cpu}"


rule cohort_evaluate:
    """Per-sample SNP / indel scores of single-sample, joint and peer calls against the
    truth, het recall, genotype concordance, whole-job CPU; recall by allele count and depth.
    """
    input:
        truth=PLAN.cohort.truth,
        reference=PLAN.cohort.region,
        gvcfs=[PLAN.cohort.gvcf(s) for s in PLAN.cohort.samples],
        joint=PLAN.cohort.joint,
        peers=[PLAN.cohort.peer_vcf(p) for p in PLAN.cohort.peers],
        cpu_gvcf=[f"results/cohort/cpu/gvcf_{s}.json" for s in PLAN.cohort.samples],
        cpu_joint="results/cohort/cpu/joint.json",
        cpu_peers=[f"results/cohort/cpu/{p}.times" for p in PLAN.cohort.peers],
    output:
        evaluation=PLAN.cohort.evaluation,
        recall=PLAN.cohort.recall,
    log:
        "logs/cohort/evaluate.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        samples=PLAN.cohort.samples,
        peers=PLAN.cohort.peers,
    script:
        "../scripts/cohort_evaluate.py"


rule cohort_throughput:
    """The site_stats kernel's positions per CPU-second on the first sample's pileup (numba,
    1 and 2 threads) against the numpy code path; Metal where an Apple GPU answers."""
    input:
        bam=PLAN.cohort.bam(PLAN.cohort.samples[0]),
        bai=f"{PLAN.cohort.bam(PLAN.cohort.samples[0])}.bai",
        reference=PLAN.cohort.region,
    output:
        PLAN.cohort.throughput,
    log:
        "logs/cohort/throughput.log",
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=20,
        mem_mb=1000,
    params:
        repeats=config["cohort"]["throughput_repeats"],
        calling=config["variants"]["calling"],
    script:
        "../scripts/cohort_throughput.py"


rule cohort_figures:
    """Recall by cohort allele count and depth (single vs joint vs peer), F1 / het recall /
    CPU, and the kernel's throughput."""
    input:
        evaluation=PLAN.cohort.evaluation,
        recall=PLAN.cohort.recall,
        throughput=PLAN.cohort.throughput,
    output:
        recall=report(
            PLAN.cohort.figures["recall"],
            caption="../report/cohort_recall.rst",
            category="Population calling",
        ),
        throughput=report(
            PLAN.cohort.figures["throughput"],
            caption="../report/cohort_throughput.rst",
            category="Population calling",
        ),
    log:
        "logs/cohort/figures.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=800,
    script:
        "../scripts/cohort_figures.py"
