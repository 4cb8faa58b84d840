"""Where the cohort job's CPU goes: cProfile of one in-process run of the gVCF + joint job.

Runs :func:`biometal.variants.cohort_report.gvcf_joint_job` (what the ``cohort_gvcf_joint``
rule runs) on every BAM of ``results/cohort/bam/`` (made by ``snakemake --cores 2
case_study_cohort``; a ``--configfile`` with ``cohort: {samples: 20}`` for 20; another
workflow directory's with ``--directory RUN``, e.g. a cohort of bench/wgsim_cohort.py), with the
default config's pileup, calling and gVCF settings, 1 thread, outputs to a temporary folder:
once to warm up (numba's cached code loaded), once timed (``time.process_time``: CPU of
the library, no interpreter start-up), once under cProfile. Prints the timed CPU, then the
profile's ``--top`` functions by own time and the parts the round-4 notes name (BGZF
inflation, the indel read windows, the site_stats kernel, the tabix index, the joint
evidence and the joint step) and the gVCF writer's stages (site records, reference
blocks, block rows cut around the records, the lines formatted in file order, the lines
written with their index), each by cumulative time.
cProfile adds its own overhead: compare parts within one profile, not with the timed run.

    .venv/bin/python bench/cohort_profile.py [--directory RUN]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = (
    "isal_zlib.decompress",
    "gvcf.py:.*(__init__)",
    "site_stats_cpu",
    "tabix.py:.*(_parse|write)",
    "joint.py:.*(evidence_from_records)",
    "joint.py:.*(joint_genotype)",
    "gvcf.py:.*(_site_lines|ref_blocks|_block_rows)",
    "_kernels.py:.*(format_lines)|k[0-9]+_format_lines",
    "vcf.py:.*(write_lines)",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--directory", type=Path, default=ROOT, help="the workflow directory")
    args = ap.parse_args()
    from biometal.config import load_config
    from biometal.pileup.params import pileup_params
    from biometal.variants.call import CallParams
    from biometal.variants.cohort_report import gvcf_joint_job
    from biometal.variants.gvcf import GvcfParams

    cfg = load_config(ROOT / "config" / "config.yaml")
    bams = sorted((args.directory / "results" / "cohort" / "bam").glob("*.bam"))
    reference = args.directory / "results" / "cohort" / "data" / "ref.fa"
    if not bams or not reference.is_file():
        sys.exit("no cohort in results/: run `snakemake --cores 2 case_study_cohort` first")
    samples = [b.stem for b in bams]
    g = cfg["cohort"]["gvcf"]
    options = {
        "pileup": pileup_params(cfg["variants"]["pileup"], threads=1, backend="cpu"),
        "calling": CallParams(**cfg["variants"]["calling"]),
        "gvcf": GvcfParams(gq_bands=tuple(g["gq_bands"]), evidence_min_alt=g["evidence_min_alt"]),
        "backend": "cpu",
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def job() -> None:
            gvcf_joint_job(
                bams, samples, reference, [out / f"{s}.g.vcf.gz" for s in samples],
                [out / f"{s}.json" for s in samples], out / "joint.vcf.gz", out / "joint.json",
                **options,
            )  # fmt: skip

        job()
        c0 = time.process_time()
        job()
        print(f"{len(samples)} samples: gVCFs + joint VCF, {time.process_time() - c0:.2f} CPU s")
        prof = cProfile.Profile()
        prof.runcall(job)
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats("|".join(PARTS))


if __name__ == "__main__":
    main()
