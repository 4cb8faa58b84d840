# biometal-workflow entry point: config, schema validation, rule files, target rules.
# Targets (see README): all, simulate, qc, case_study_rnaseq, case_study_variants,
# case_study_dnabert, seed_filter; seedfilter_ship and bench_alignment (not part of all).
import os
import sys
from pathlib import Path

from biometal.config import load_schema, validate_config
from biometal.errors import BiometalError


# Found next to this Snakefile, whatever --directory the workflow runs in.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


try:
    validate_config(config, load_schema(Path(workflow.basedir) / "config" / "schema.yaml"))
except BiometalError as exc:
    sys.stderr.write(f"error: {exc}\n")
    sys.exit(1)

# Jobs pick the compute backend from the config unless the environment already says.
os.environ.setdefault("BIOMETAL_BACKEND", config["compute"]["backend"])
# Lets the pinned conda env (envs/biometal.yaml) install this checkout with --sdm conda.
os.environ["BIOMETAL_WORKFLOW_DIR"] = str(Path(workflow.basedir).resolve())


include: "rules/common.smk"
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


rule all:
    """Every case study that exists, plus the simulated truth data and read QC."""
    input:
        SIM_OUTPUTS,
        QC_OUTPUTS,
        RNASEQ_OUTPUTS,
        VARIANTS_OUTPUTS,
        DNABERT_OUTPUTS,
        SEEDFILTER_OUTPUTS,


rule simulate:
    """All simulated truth data (reference, variants, reads, RNA-seq, metagenome)."""
    input:
        SIM_OUTPUTS,


rule qc:
    """Per-read statistics (read_stats kernel) of every sample, summary table and figure."""
    input:
        QC_OUTPUTS,


rule case_study_rnaseq:
    """RNA-seq at constant memory: quantify every sample (and kallisto/salmon when installed),
    gene matrices, CPM/TPM, PCA, clustering, accuracy vs truth, cost and memory figures."""
    input:
        RNASEQ_OUTPUTS,


rule case_study_variants:
    """Variant calling: mappy -> BAM, streaming pileup (Metal/numba) vs samtools mpileup,
    SNP/indel calls (VCF 4.3), bcftools/FreeBayes on the same BAM, scores vs the truth."""
    input:
        VARIANTS_OUTPUTS,


rule bench_alignment:
    """Alignment benchmark (not part of `all`): biometal kernels vs parasail per pair, GCUPS
    by length and batch size, repeated runs with CIs and Cohen's d (config bench.alignment)."""
    input:
        BENCH_ALIGNMENT_OUTPUTS,


rule case_study_dnabert:
    """DNABERT: MLM training of a small BERT-style encoder on reads streamed from files or
    URLs, standard vs quality-aware k-mer tokenization, held-out accuracy, figures."""
    input:
        DNABERT_OUTPUTS,


rule seed_filter:
    """Seed filter: FM-index + SMEM seeds, labelled windows, CNN and cheap peers, ONNX /
    Core ML (+ INT8) export, cost with and without filtering, figures (config seedfilter;
    --configfile config/1000g.yaml for 1000 Genomes data from ENA)."""
    input:
        SEEDFILTER_OUTPUTS,
