"""Small simulated data sets for the pileup and variant-calling tests (built once per session).

:func:`dataset` simulates a reference (2 contigs, tandem and interspersed repeats), truth
variants and 25x paired 150 bp reads with a 260 bp mean insert (so most mates overlap), and
maps them with biometal's mappy mapper; :func:`aligner_bam` maps the same reads with the
real minimap2 / bwa command-line tools (third-party aligner output: soft clips, indels,
overlapping mates), skipped by the caller when the tool is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_CACHE: dict[str, Dataset] = {}


@dataclass(frozen=True)
class Dataset:
    root: Path
    reference: Path
    truth: Path
    r1: Path
    r2: Path
    bam: Path  # mapped with biometal.variants.mapping (mappy)


def dataset(root: Path, *, length: int = 60_000, coverage: float = 25.0, seed: int = 7) -> Dataset:
    key = f"{length}-{coverage}-{seed}"
    if key in _CACHE:
        return _CACHE[key]
    from biometal.simulate import simulate_reads, simulate_reference, simulate_variants
    from biometal.variants.mapping import map_reads

    d = root / key
    d.mkdir(parents=True, exist_ok=True)
    ref = d / "ref.fa"
    simulate_reference(
        ref,
        n_contigs=2,
        total_length=length,
        gc_segment_mean=5000,
        n_repeat_families=2,
        repeat_length_range=(300, 1500),
        seed=seed,
    )
    vcf = d / "truth.vcf.gz"
    simulate_variants(ref, vcf, d / "hap.fa", snp_rate=2e-3, indel_rate=5e-4, seed=seed)
    r1, r2 = d / "r1.fq.gz", d / "r2.fq.gz"
    simulate_reads(
        ref,
        d / "hap.fa",
        vcf,
        r1,
        r2,
        d / "truth.tsv.gz",
        coverage=coverage,
        insert_mean=260,
        insert_sd=40,
        seed=seed,
    )
    bam = d / "mappy.bam"
    map_reads(ref, r1, r2, bam, sample="S1", threads=2)
    ds = Dataset(d, ref, vcf, r1, r2, bam)
    _CACHE[key] = ds
    return ds


def aligner_bam(ds: Dataset, tool: str) -> Path | None:
    """The reads mapped by the ``minimap2`` or ``bwa`` command line (None if not installed)."""
    exe = shutil.which(tool)
    samtools = shutil.which("samtools")
    if exe is None or samtools is None:
        return None
    out = ds.root / f"{tool}.bam"
    if out.exists():
        return out
    if tool == "minimap2":
        cmd = [exe, "-ax", "sr", "-t", "2", "-R", r"@RG\tID:S1\tSM:S1", str(ds.reference)]
    else:
        if not Path(f"{ds.reference}.bwt").exists():
            subprocess.run([exe, "index", str(ds.reference)], check=True, capture_output=True)
        cmd = [exe, "mem", "-t", "2", "-R", r"@RG\tID:S1\tSM:S1", str(ds.reference)]
    align = subprocess.Popen(
        [*cmd, str(ds.r1), str(ds.r2)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    subprocess.run(
        [samtools, "sort", "-o", str(out), "-"], stdin=align.stdout, check=True, capture_output=True
    )
    align.wait()
    subprocess.run([samtools, "index", str(out)], check=True)
    return out


SAMTOOLS_EXAMPLES = Path("/usr/share/doc/samtools/examples")
SALMON_EXAMPLES = Path("/usr/share/doc/salmon/examples")


def third_party_bams(root: Path) -> dict[str, tuple[Path, Path]]:
    """Real BAMs shipped with the Debian samtools / salmon packages: name -> (bam, fasta).

    ``toy``: the SAM specification's examples (P, N, H, I, D, S, missing qualities);
    ``ex1``: samtools' example reads (real 35 bp Illumina reads, indels, pairs);
    ``salmon``: salmon's example transcriptome alignments (secondary alignments, MAPQ 255).
    Missing packages give an empty or smaller dict.
    """
    samtools = shutil.which("samtools")
    out: dict[str, tuple[Path, Path]] = {}
    if samtools is None:
        return out
    root.mkdir(parents=True, exist_ok=True)
    specs = [
        ("toy", SAMTOOLS_EXAMPLES / "toy.sam", SAMTOOLS_EXAMPLES / "toy.fa"),
        ("ex1", SAMTOOLS_EXAMPLES / "ex1.sam.gz", SAMTOOLS_EXAMPLES / "ex1.fa"),
        (
            "salmon",
            SALMON_EXAMPLES / "sample_alignments.bam",
            SALMON_EXAMPLES / "transcripts.fasta",
        ),
    ]
    for name, sam, fasta in specs:
        if not sam.exists() or not fasta.exists():
            continue
        bam = root / f"{name}.bam"
        ref = root / f"{name}.fa"
        if not bam.exists():
            shutil.copy(fasta, ref)
            subprocess.run([samtools, "faidx", str(ref)], check=True)
            view = subprocess.Popen(
                [samtools, "view", "-b", "-t", f"{ref}.fai", str(sam)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            subprocess.run(
                [samtools, "sort", "-o", str(bam), "-"],
                stdin=view.stdout,
                check=True,
                capture_output=True,
            )
            view.wait()
            subprocess.run([samtools, "index", str(bam)], check=True)
        out[name] = (bam, ref)
    return out
