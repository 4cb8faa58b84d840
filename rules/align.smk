# Case study 2 (variant calling), part 1: the inputs and read mapping.
# Inputs: the simulated reference + DNA sample, or your own (config variants.reference +
# variants.samples: FASTQ to map, or BAMs aligned already). Mapping: mappy (minimap2 sr)
# -> results/align/{sample}.bam (+ .bai), coordinate-sorted, with read group and mate fields.
VARCFG = config["variants"]


def _variants_fail(message):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def _variant_inputs():
    """(reference, {sample: {"fastq": [fq1, fq2?], "bam": path or ""}}, truth VCF or None)."""
    own = [key for key in ("reference", "samples") if VARCFG[key]]
    if not own:
        if VARCFG["truth"]:
            _variants_fail("config variants.truth is for your own samples (variants.samples)")
        sim = {"fastq": [SIM_READS["R1"], SIM_READS["R2"]], "bam": ""}
        return SIM_REFERENCE, {SIM_DNA_SAMPLE: sim}, SIM_VCF
    if len(own) < 2:
        missing = "samples" if own[0] == "reference" else "reference"
        _variants_fail(
            f"config variants.{own[0]} is set but variants.{missing} is not: your own data "
            "needs variants.reference and variants.samples together"
        )
    for key in ("reference", "truth"):
        if VARCFG[key] and not Path(VARCFG[key]).is_file():
            _variants_fail(f"config variants.{key}: file '{VARCFG[key]}' not found")
    from biometal.variants.samples import read_variant_sheet

    try:
        rows = read_variant_sheet(VARCFG["samples"])
    except BiometalError as exc:
        _variants_fail(exc)
    samples = {
        r["sample"]: {"fastq": [p for p in (r["fq1"], r["fq2"]) if p], "bam": r["bam"]}
        for r in rows
    }
    return VARCFG["reference"], samples, VARCFG["truth"] or None


VARIANTS_REF, VARIANT_SAMPLES, VARIANTS_TRUTH = _variant_inputs()
VARIANT_SAMPLE_NAMES = list(VARIANT_SAMPLES)


def variant_bam(sample):
    """The BAM of a sample: the user's, or the one map_reads writes."""
    return VARIANT_SAMPLES[sample]["bam"] or f"results/align/{sample}.bam"


def sample_bam_inputs(sample):
    """Input files of a job that reads a sample's BAM (its index only when we make it:
    a user's BAM without one fails in the job with a one-line error, not a missing input)."""
    inputs = {"bam": variant_bam(sample), "reference": VARIANTS_REF}
    if not VARIANT_SAMPLES[sample]["bam"]:
        inputs["bai"] = variant_bam(sample) + ".bai"
    return inputs


def variant_bam_inputs(wildcards):
    return sample_bam_inputs(wildcards.sample)


rule map_reads:
    """Paired (or single) reads -> coordinate-sorted, indexed BAM with mappy (minimap2 sr)."""
    input:
        reference=VARIANTS_REF,
        fastq=lambda wc: VARIANT_SAMPLES[wc.sample]["fastq"],
    output:
        bam="results/align/{sample}.bam",
        bai="results/align/{sample}.bam.bai",
    params:
        max_insert=VARCFG["mapping"]["max_insert"],
    log:
        "logs/align/{sample}.log",
    benchmark:
        "benchmarks/align/{sample}.tsv"
    threads: VARCFG["mapping"]["threads"]
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/map_reads.py"
