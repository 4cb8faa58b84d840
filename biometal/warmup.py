"""Compile the numba kernels once at set-up, so that a workflow job loads compiled code.

numba compiles a function the first time it is called with a given set of argument types and
keeps the machine code in its cache (``__pycache__`` beside the source, or
``$NUMBA_CACHE_DIR``). Without this step the first job of a fresh clone to reach a kernel
compiles it inside the job: the assembler's first run took 9.3 CPU s instead of 2.2 (7 s of
LLVM), which is what its time against minia then showed. ``make setup`` runs ``biometal
warmup`` once after installing, as a C++ tool is compiled when it is installed; each section
runs the same library entry points as the workflow's jobs on a small simulated input that
reaches every kernel (and every argument type) of that path, so the real inputs compile
nothing more (``tests/unit/test_warmup.py`` checks the cache does not grow).

The last section, ``aot``, builds the kernels short jobs run ahead of time
(:mod:`biometal.kernels.jit`), so those jobs do not import numba at all.

A section that fails is reported and skipped: a warm-up never stops the set-up.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def _assembly(work: Path) -> None:
    """The assembler of the ``assembly`` target (paired reads, repeats, pair resolution)."""
    from biometal.assembly.example_assembler import assemble_files
    from biometal.assembly.simulate import simulate_assembly_data

    # 20 kb with repeats at 40x is the smallest genome found to reach every kernel of the
    # path (k-mer table growth, bubbles, pair placement); 5 kb leaves three uncompiled.
    r1, r2 = work / "asm_R1.fq.gz", work / "asm_R2.fq.gz"
    simulate_assembly_data(
        work / "asm.fa", work / "asm.bed", r1, r2, length=20_000, coverage=40.0,
        repeat_fraction=0.1, seed=1,
    )  # fmt: skip
    assemble_files([r1, r2], work / "asm.fa", work / "asm.gfa", work / "asm.json")


def _quant(work: Path) -> None:
    """The RNA-seq index and quantification of ``case_study_rnaseq`` (paired, 1 and 2
    threads)."""
    from biometal.rnaseq.index import index_transcriptome
    from biometal.rnaseq.quant import SampleRun, quantify_samples
    from biometal.simulate import simulate_rnaseq, simulate_transcriptome

    gtf, fa = work / "tx.gtf", work / "tx.fa"
    simulate_transcriptome(gtf, fa, n_genes=150, seed=1)
    simulate_rnaseq(
        fa, gtf, work / "rna", work / "rna.tsv", work / "c.tsv", work / "t.tsv", work / "d.tsv",
        n_samples=2, reads_per_sample=2_000, seed=1,
    )  # fmt: skip
    index_transcriptome(fa, work / "tx.idx", work / "tx.json")
    fq = sorted((work / "rna").glob("*_R1.fastq.gz"))[0]
    for threads in (1, 2):
        run = SampleRun(
            "s", fq, Path(str(fq).replace("_R1.", "_R2.")), work / "q.tsv", work / "q.json"
        )
        quantify_samples(work / "tx.idx", [run], threads=threads)


def _cohort(work: Path) -> None:
    """The gVCF + joint-genotyping job of ``case_study_cohort`` (mappy-mapped BAMs, the
    default config's pileup, calling and gVCF settings)."""
    from biometal.config import load_configs
    from biometal.pileup.params import pileup_params
    from biometal.simulate import simulate_reference
    from biometal.simulate.cohort import simulate_cohort
    from biometal.variants.call import CallParams
    from biometal.variants.cohort_report import gvcf_joint_job
    from biometal.variants.gvcf import GvcfParams
    from biometal.variants.mapping import map_reads

    cfg = load_configs([])
    samples = ["w1", "w2", "w3"]
    simulate_reference(work / "ref.fa", n_contigs=1, total_length=60_000, seed=1)
    simulate_cohort(
        work / "ref.fa", work / "region.fa", work / "truth.vcf.gz", samples, work,
        region_length=40_000, indel_rate=2e-3, seed=1,
    )  # fmt: skip
    bams = []
    for s in samples:
        bams.append(work / f"{s}.bam")
        map_reads(work / "region.fa", work / f"{s}_R1.fastq.gz", work / f"{s}_R2.fastq.gz",
                  bams[-1], sample=s, threads=1)  # fmt: skip
    g, backend = cfg["cohort"]["gvcf"], cfg["compute"]["backend"]
    gvcf_joint_job(
        bams, samples, work / "region.fa", [work / f"{s}.g.vcf.gz" for s in samples],
        [work / f"{s}.cpu.json" for s in samples], work / "joint.vcf.gz", work / "joint.json",
        pileup=pileup_params(cfg["variants"]["pileup"], threads=1, backend=backend),
        calling=CallParams(**cfg["variants"]["calling"]),
        gvcf=GvcfParams(gq_bands=tuple(g["gq_bands"]), evidence_min_alt=g["evidence_min_alt"]),
        backend=backend,
    )  # fmt: skip


def _aot(work: Path) -> None:
    """The ahead-of-time build of the kernels short jobs run (:mod:`biometal.kernels.jit`):
    jobs then load them without importing numba (~0.3 CPU s less for a cohort job)."""
    from biometal.kernels import jit

    jit.build()


SECTIONS: dict[str, Callable[[Path], None]] = {
    "assembly": _assembly,
    "quant": _quant,
    "cohort": _cohort,
    "aot": _aot,
}


def warmup(
    sections: Sequence[str] | None = None, log: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Run ``sections`` (default: all of :data:`SECTIONS`) in a scratch directory; returns the
    CPU seconds of each (``nan`` for a section that failed, with its error logged)."""
    from biometal.errors import ConfigError
    from biometal.kernels import jit

    log = log or (lambda line: print(line, file=sys.stderr))
    names = list(sections or SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ConfigError(
            f"warmup: unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}"
        )
    # the sections fill numba's cache: they run every kernel under numba, not the
    # ahead-of-time build (which falls back to numba for the calls it was not built for)
    before = os.environ.get(jit.ENV)
    os.environ[jit.ENV] = "0"
    spent: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="biometal-warmup-") as tmp:
            for name in names:
                work = Path(tmp) / name
                work.mkdir()
                t0 = time.process_time()
                try:
                    SECTIONS[name](work)
                except Exception as exc:  # noqa: BLE001 - a warm-up reports and goes on
                    spent[name] = float("nan")
                    log(f"biometal warmup: {name}: skipped ({type(exc).__name__}: {exc})")
                    continue
                spent[name] = time.process_time() - t0
                log(f"biometal warmup: {name}: {spent[name]:.1f} CPU s")
    finally:
        if before is None:
            os.environ.pop(jit.ENV, None)
        else:
            os.environ[jit.ENV] = before
    return spent
