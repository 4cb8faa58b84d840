# Shared helpers: output paths of the simulated data, sample tables, wildcard constraints.
from biometal.io.samplesheet import read_sample_sheet


wildcard_constraints:
    sample=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


SIM = "results/data"
SIM_REFERENCE = f"{SIM}/reference.fa"
SIM_VCF = f"{SIM}/truth.vcf.gz"
SIM_HAPLOTYPES = f"{SIM}/haplotypes.fa"
SIM_DNA_SAMPLE = config["simulate"]["reads"]["sample"]
SIM_READS = {
    "R1": f"{SIM}/reads/{SIM_DNA_SAMPLE}_R1.fastq.gz",
    "R2": f"{SIM}/reads/{SIM_DNA_SAMPLE}_R2.fastq.gz",
    "truth": f"{SIM}/reads/{SIM_DNA_SAMPLE}.truth.tsv.gz",
}
SIM_TRANSCRIPTS = f"{SIM}/transcriptome/transcripts.fa"
SIM_GTF = f"{SIM}/transcriptome/annotation.gtf"
RNASEQ_SAMPLES = [
    f"rna{i + 1:02d}" for i in range(config["simulate"]["rnaseq"]["n_samples"])
]
SIM_RNASEQ_SHEET = f"{SIM}/rnaseq/samples.tsv"
SIM_RNASEQ_TRUTH = {
    "counts": f"{SIM}/rnaseq/truth_counts.tsv",
    "tpm": f"{SIM}/rnaseq/truth_tpm.tsv",
    "de": f"{SIM}/rnaseq/truth_de.tsv",
}
META_SAMPLE = "meta"
SIM_META = {
    "genomes": f"{SIM}/metagenome/genomes.fa",
    "R1": f"{SIM}/metagenome/{META_SAMPLE}_R1.fastq.gz",
    "R2": f"{SIM}/metagenome/{META_SAMPLE}_R2.fastq.gz",
    "truth": f"{SIM}/metagenome/{META_SAMPLE}.truth.tsv.gz",
}
SIM_OUTPUTS = [
    SIM_REFERENCE,
    SIM_REFERENCE + ".fai",
    SIM_VCF,
    SIM_VCF + ".tbi",
    SIM_HAPLOTYPES,
    *SIM_READS.values(),
    SIM_TRANSCRIPTS,
    SIM_GTF,
    SIM_RNASEQ_SHEET,
    *SIM_RNASEQ_TRUTH.values(),
    *SIM_META.values(),
]


def rnaseq_fastq(sample, mate):
    return f"{SIM}/rnaseq/{sample}_{mate}.fastq.gz"


def _qc_samples():
    """QC inputs: the user's sheet (qc.samples) or, by default, every simulated sample."""
    sheet = config["qc"]["samples"]
    if sheet:
        try:
            rows = read_sample_sheet(
                sheet, required=("sample", "fq1"), optional=("fq2",), file_columns=("fq1", "fq2")
            )
        except BiometalError as exc:
            sys.stderr.write(f"error: {exc}\n")
            sys.exit(1)
        return {r["sample"]: [p for p in (r["fq1"], r["fq2"]) if p] for r in rows}
    samples = {
        SIM_DNA_SAMPLE: [SIM_READS["R1"], SIM_READS["R2"]],
        META_SAMPLE: [SIM_META["R1"], SIM_META["R2"]],
    }
    mates = ("R1", "R2") if config["simulate"]["rnaseq"]["paired"] else ("R1",)
    for s in RNASEQ_SAMPLES:
        samples[s] = [rnaseq_fastq(s, mate) for mate in mates]
    return samples


QC_SAMPLES = _qc_samples()
QC_OUTPUTS = [
    "results/qc/summary.tsv",
    "results/figures/qc_read_stats.png",
]
