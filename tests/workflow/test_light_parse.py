"""The Snakefile parses with Snakemake and the light configuration code alone: a host that only
submits jobs (to SLURM, or to --sdm conda envs) needs neither the numeric stack nor an
installed biometal. Checked by dry-running with every heavy package made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .conftest import REPO, TINY

# numpy and pandas stay importable: Snakemake loads the SLURM executor plugin at start-up,
# and the plugin imports pandas. Which biometal modules were loaded is checked instead.
HEAVY = (
    "numba",
    "scipy",
    "pysam",
    "cyvcf2",
    "mappy",
    "isal",
    "torch",
    "onnx",
    "onnxruntime",
    "coremltools",
    "sklearn",
    "matplotlib",
)

# what parsing may load: the workflow package, the config loader, the sample-sheet readers
# (tests/unit/test_layering.py holds that these import no third-party package but PyYAML and
# jsonschema)
LIGHT_PACKAGES = {
    "biometal",
    "biometal.config",
    "biometal.errors",
    "biometal.io",
    "biometal.io.paths",
    "biometal.io.samplesheet",
    "biometal.rnaseq",
    "biometal.rnaseq.samples",
    "biometal.variants",
    "biometal.variants.samples",
}

BLOCKER = textwrap.dedent(
    f"""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {HEAVY!r}:
                raise ModuleNotFoundError(f"blocked for this test: {{name}}")
            return None

    sys.meta_path.insert(0, Block())

    import atexit

    @atexit.register
    def loaded():
        names = sorted(m for m in sys.modules if m.split(".")[0] == "biometal")
        print("BIOMETAL_MODULES", " ".join(names))

    from snakemake.cli import main
    sys.argv = ["snakemake"] + sys.argv[1:]
    main()
    """
)


def test_dry_run_imports_nothing_heavy(tmp_path) -> None:
    cmd = [sys.executable, "-c", BLOCKER, "all", "-n", "-s", str(REPO / "Snakefile")]
    cmd += ["--directory", str(tmp_path), "--configfile", str(TINY)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "blocked for this test" not in out
    assert "rnaseq_quant" in out  # the whole DAG was built
    loaded = next(line for line in out.splitlines() if line.startswith("BIOMETAL_MODULES"))
    heavy = [
        m
        for m in loaded.split()[1:]
        if m not in LIGHT_PACKAGES and not m.startswith("biometal.workflow")
    ]
    assert not heavy, f"the Snakefile imported {heavy}"
