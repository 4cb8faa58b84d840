# biometal-workflow entry point: config, schema validation, rule files, target rules.
# Targets (see README): all, simulate, qc.
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


rule all:
    """Every case study that exists, plus the simulated truth data and read QC."""
    input:
        SIM_OUTPUTS,
        QC_OUTPUTS,


rule simulate:
    """All simulated truth data (reference, variants, reads, RNA-seq, metagenome)."""
    input:
        SIM_OUTPUTS,


rule qc:
    """Per-read statistics (read_stats kernel) of every sample, summary table and figure."""
    input:
        QC_OUTPUTS,
