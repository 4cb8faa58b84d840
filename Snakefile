# biometal-workflow entry point: config, schema validation, the plan, rule files, targets.
# Targets (see README): all, simulate, qc, case_study_rnaseq, case_study_variants,
# case_study_dnabert, dnabert_classify, seed_filter, read_qc, case_study_regions,
# assembly, case_study_cohort; seedfilter_ship and bench_alignment (not part of all).
# Parsing needs only Snakemake and the light biometal.workflow package (stdlib, PyYAML,
# jsonschema): jobs import the rest of the library.
import os
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)  # a plain clone parses without installing biometal

from biometal.config import load_schema, validate_config
from biometal.errors import BiometalError
from biometal.workflow import plan_workflow


# Found next to this Snakefile, whatever --directory the workflow runs in.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# The one error exit of the workflow's set-up: a bad config key or sample sheet is one line.
USE_CONDA = "CONDA" in {m.name for m in workflow.deployment_settings.deployment_method}
try:
    validate_config(config, load_schema())
    PLAN = plan_workflow(config, conda=USE_CONDA)
except BiometalError as exc:
    sys.exit(f"error: {exc}")
for note in PLAN.notes:
    print(note, file=sys.stderr)

# Jobs pick the compute backend from the config unless the environment already says.
os.environ.setdefault("BIOMETAL_BACKEND", config["compute"]["backend"])
# Written (not read) for envs/biometal.yaml, whose pip line installs this checkout.
os.environ.update(BIOMETAL_WORKFLOW_DIR=str(Path(workflow.basedir).resolve()))


wildcard_constraints:
    sample=PLAN.sample_pattern,


include: "rules/data.smk"
include: "rules/qc.smk"
include: "rules/rnaseq.smk"
include: "rules/align.smk"
include: "rules/pileup.smk"
include: "rules/variants.smk"
include: "rules/bench.smk"
include: "rules/download.smk"
include: "rules/seeds.smk"
include: "rules/seedfilter.smk"
include: "rules/dnabert.smk"
include: "rules/dnabert_classify.smk"
include: "rules/readqc.smk"
include: "rules/regions.smk"
include: "rules/assembly.smk"
include: "rules/cohort.smk"


# Run on the submitting host, never as cluster jobs: targets, downloads (compute nodes are
# often offline), tables that merge others, and figures.
localrules:
    all,
    simulate,
    qc,
    case_study_rnaseq,
    case_study_variants,
    case_study_dnabert,
    dnabert_classify,
    seed_filter,
    read_qc,
    case_study_regions,
    bench_alignment,
    ena_filereport,
    ena_reads,
    ena_reference,
    qc_summary,
    qc_figure,
    rnaseq_matrices,
    rnaseq_accuracy,
    rnaseq_cost,
    rnaseq_memory,
    rnaseq_figure_pca,
    rnaseq_figure_correlation,
    rnaseq_figure_accuracy,
    rnaseq_figure_cost,
    rnaseq_figure_memory,
    pileup_figure,
    evaluate_variants,
    variants_figure,
    seedfilter_figures,
    seedfilter_ship,
    dnabert_vocab,
    dnabert_figures,
    dnabert_classify_report,
    readqc_trimming,
    readqc_figures,
    regions_figures,
    regions_varfilter_figure,
    assembly,
    case_study_cohort,
    cohort_figures,


rule all:
    """Every case study that exists, plus the simulated truth data and read QC."""
    input:
        PLAN.all,


rule simulate:
    """All simulated truth data (reference, variants, reads, RNA-seq, metagenome)."""
    input:
        PLAN.sim.outputs,


rule qc:
    """Per-read statistics (read_stats kernel) of every sample, summary table and figure."""
    input:
        PLAN.qc.outputs,


rule case_study_rnaseq:
    """RNA-seq at constant memory: quantify every sample (and kallisto/salmon when installed),
    gene matrices, CPM/TPM, PCA, clustering, accuracy vs truth, cost and memory figures.
    """
    input:
        PLAN.rnaseq.outputs,


rule case_study_variants:
    """Variant calling: mappy -> BAM, streaming pileup (Metal/numba) vs samtools mpileup,
    SNP/indel calls (VCF 4.3), bcftools/FreeBayes on the same BAM, scores vs the truth.
    """
    input:
        PLAN.variants.outputs,


rule bench_alignment:
    """Alignment benchmark (not part of `all`): biometal kernels vs parasail per pair, GCUPS
    by length and batch size, repeated runs with CIs and Cohen's d (config bench.alignment).
    """
    input:
        PLAN.bench_alignment,


rule case_study_dnabert:
    """DNABERT: MLM training of a small BERT-style encoder on reads streamed from files or
    URLs, standard vs quality-aware k-mer tokenization, held-out accuracy, figures."""
    input:
        PLAN.dnabert.outputs,


rule dnabert_classify:
    """DNABERT read classification: the case study's encoder fine-tuned (and one from
    scratch) to tell the metagenome's genomes apart, against an exact k-mer classifier on
    held-out and diverged-strain reads; ONNX / Core ML (+ INT8) exports (config
    dnabert_classify)."""
    input:
        PLAN.dnabert_classify.outputs,


rule seed_filter:
    """Seed filter: FM-index + SMEM seeds, labelled windows, CNN and cheap peers, ONNX /
    Core ML (+ INT8) export, cost with and without filtering, figures (config seedfilter;
    --configfile config/1000g.yaml for 1000 Genomes data from ENA)."""
    input:
        PLAN.seeds.outputs,


rule read_qc:
    """Read QC: reads with realistic errors -> BQSR table and neural quality model,
    recalibrated FASTQ scored against the true errors (calibration, error by cycle and
    context, masking, variant calls), adapter trimming vs cutadapt and fastp (config read_qc).
    """
    input:
        PLAN.readqc.outputs,


rule case_study_regions:
    """Regions: interval operations vs bedtools / bioframe, the multi-modal region loader's
    throughput and memory vs a pysam + cyvcf2 + pyfaidx loader, and a learned variant filter
    (CNN on loader windows around candidate sites) scored on held-out contigs at full and
    reduced depth against the caller's own filters (config regions)."""
    input:
        PLAN.regions.outputs,


rule assembly:
    """Assembly: biometal's de Bruijn graph assembler (k-mer counting, compacted graph, tips,
    bubbles, chaining) and minia / velvet / megahit / spades on a simulated genome with
    repeats and each metagenome genome; QUAST-style evaluation, time, RSS (config assembly).
    """
    input:
        PLAN.assembly.outputs,


rule case_study_cohort:
    """Population calling: a simulated cohort (neutral allele frequencies) at low depth ->
    per-sample gVCFs (site_stats kernel at every position) -> joint genotyping with cohort
    priors; bcftools multi-sample calling on the same BAMs; per-sample F1, het recall,
    genotype concordance, CPU; recall by allele count and depth; figures (config cohort).
    """
    input:
        PLAN.cohort.outputs,
