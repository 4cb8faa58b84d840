# Population calling (target case_study_cohort): a cohort simulated from one population's
# variant sites (neutral allele frequencies) on a region of the simulated reference, your
# own cohort (cohort.reference + a cohort.samples sheet, optional truth and region), or
# 1000 Genomes runs from ENA (cohort.source: ena) -> per-sample mappy BAMs -> per-sample
# gVCFs (site_stats kernel at every position) -> joint genotyping with cohort priors;
# bcftools multi-sample calling on the same BAMs as the peer; per-sample scores against
# the truth (when there is one), recall by allele count and depth, whole-job CPU, the
# kernel's throughput, figures. Paths and the choice of source: biometal.workflow.cohort.


if PLAN.cohort.simulated:

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

else:

    rule cohort_reference:
        """Your own (or the ENA) cohort's reference as a plain, indexed FASTA; the
        region's contig and bounds checked."""
        input:
            PLAN.cohort.reference,
        output:
            region=PLAN.cohort.region,
            fai=f"{PLAN.cohort.region}.fai",
        log:
            "logs/cohort/reference.log",
        conda:
            "../envs/biometal.yaml"
        resources:
            runtime=30,
            mem_mb=1000,
        params:
            region=PLAN.cohort.region_text,
        script:
            "../scripts/cohort_reference.py"


if PLAN.cohort.truth_input:

    rule cohort_truth:
        """Your truth VCF cut to the cohort's samples and region, AC / AN recounted."""
        input:
            PLAN.cohort.truth_input,
        output:
            truth=f"{PLAN.cohort.truth}",
            tbi=f"{PLAN.cohort.truth}.tbi",
        log:
            "logs/cohort/truth.log",
        conda:
            "../envs/biometal.yaml"
        resources:
            runtime=20,
            mem_mb=1000,
        params:
            samples=PLAN.cohort.samples,
            region=PLAN.cohort.region_text,
        script:
            "../scripts/cohort_truth.py"


if PLAN.cohort.interval:

    rule cohort_subset:
        """One sample's BAM (yours, or as mapped) cut to cohort.region."""
        input:
            unpack(PLAN.cohort.subset_inputs),
        output:
            bam="results/cohort/bam/{sample}.bam",
            bai="results/cohort/bam/{sample}.bam.bai",
        log:
            "logs/cohort/subset_{sample}.log",
        conda:
            "../envs/biometal.yaml"
        resources:
            runtime=30,
            mem_mb=800,
        params:
            region=PLAN.cohort.region_text,
        script:
            "../scripts/cohort_subset.py"


rule cohort_map:
    """One cohort sample's reads (pairs or single) mapped with mappy (as the variant case
    study maps); with cohort.region to results/cohort/mapped, cut by cohort_subset."""
    input:
        reference=PLAN.cohort.region,
        fastq=lambda wc: PLAN.cohort.fastq(wc.sample, checkpoints),
    output:
        bam=PLAN.cohort.mapped_pattern,
        bai=f"{PLAN.cohort.mapped_pattern}.bai",
    log:
        "logs/cohort/map_{sample}.log",
    benchmark:
        "benchmarks/cohort/map_{sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20,
        mem_mb=PLAN.cohort.map_mem_mb,
    script:
        "../scripts/cohort_map.py"


rule cohort_gvcf_joint:
    """Every sample's gVCF (streaming pileup, site_stats kernel at every position, site
    records where reads show an ALT, GQ-banded reference blocks elsewhere), then joint
    genotyping with cohort priors, in one job: `biometal joint`, the command a user runs,
    so the Python start-up is paid once and not Snakemake's script preamble too (a
    per-sample job buys no failure isolation: the joint step needs every gVCF); the job's
    CPU split into one record per gVCF and the joint."""
    input:
        bams=PLAN.cohort.bams,
        bais=PLAN.cohort.bais,
        reference=PLAN.cohort.region,
    output:
        gvcfs=[PLAN.cohort.gvcf(s) for s in PLAN.cohort.samples],
        tbis=[f"{PLAN.cohort.gvcf(s)}.tbi" for s in PLAN.cohort.samples],
        cpu_gvcf=[PLAN.cohort.cpu(f"gvcf_{s}") for s in PLAN.cohort.samples],
        vcf=PLAN.cohort.joint,
        tbi=f"{PLAN.cohort.joint}.tbi",
        cpu=PLAN.cohort.cpu("joint"),
    log:
        "logs/cohort/gvcf_joint.log",
    benchmark:
        "benchmarks/cohort/gvcf_joint.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=20 + 5 * len(PLAN.cohort.samples),
        mem_mb=1000,
        gpu=PLAN.gpus,
    params:
        python=PLAN.python,
        samples=",".join(PLAN.cohort.samples),
        gvcf_dir=lambda wildcards, output: os.path.dirname(output.gvcfs[0]),
        cpu_dir=subpath(output.cpu, parent=True),
        options=PLAN.cohort.joint_options,
    shell:
        "{params.python} -m biometal joint -v {params.options} --samples {params.samples:q}"
        " --gvcf-dir {params.gvcf_dir:q} --cpu-dir {params.cpu_dir:q}"
        " {input.reference:q} {output.vcf:q} {input.bams:q} > {log:q} 2>&1"


# The simulated cohort's BAMs carry their sample as SM; your own BAMs may not: there a
# --read-groups file gives every read of a BAM the sheet's sample name.
COHORT_BCFTOOLS = (
    "printf '%s\\n' {input.bams} > {params.bams_txt}"
    + (
        ""
        if PLAN.cohort.simulated
        else " && printf '%s\\t%s\\t%s\\n' {params.rg_fields:q} > {params.rg_txt}"
    )
    + " && (bcftools mpileup -f {input.reference} -q {params.min_mapq}"
    " -Q {params.min_baseq} -a AD,DP -b {params.bams_txt}"
    + ("" if PLAN.cohort.simulated else " -G {params.rg_txt}")
    + " -Ou | bcftools call -mv -Oz -o {output.vcf}) 2> {log}"
    " && bcftools index -t -f {output.vcf} && rm -f {params.bams_txt}"
    + ("" if PLAN.cohort.simulated else " {params.rg_txt}")
    + " && times > {output.cpu}"
)


rule cohort_bcftools:
    """Peer: bcftools mpileup -b bams.txt | bcftools call -mv on the same BAMs (same MAPQ /
    base-quality filters); the shell's `times` records the pipeline's CPU time."""
    input:
        bams=PLAN.cohort.bams,
        bais=PLAN.cohort.bais,
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
        # your own BAMs: every read belongs to the sheet's sample, whatever its SM says
        rg_txt=lambda wc, output: f"{output.vcf}.rg.txt",
        rg_fields=PLAN.cohort.read_group_fields,
    shell:
        COHORT_BCFTOOLS


rule cohort_evaluate:
    """Per-sample SNP / indel scores of single-sample, joint and peer calls against the
    truth, het recall, genotype concordance, whole-job CPU; recall by allele count and depth.
    """
    input:
        truth=PLAN.cohort.truth or [],
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
        scored=bool(PLAN.cohort.truth),
        region=PLAN.cohort.region_text,
    script:
        "../scripts/cohort_evaluate.py"


rule cohort_throughput:
    """The site_stats kernel's positions per CPU-second on the first sample's pileup (numba,
    1 and 2 threads) against the numpy code path; Metal where an Apple GPU answers."""
    input:
        **PLAN.cohort.bam_inputs(PLAN.cohort.samples[0]),
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
        covered=not PLAN.cohort.simulated,  # own reference: maybe a genome; covered positions
        region=PLAN.cohort.region_text,
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
