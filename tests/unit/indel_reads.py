"""Hand-built BAMs around one indel: every read is cut from a known haplotype (REF or ALT)
and aligned as an aligner would write it (the indel in the CIGAR, a soft clip where the
read runs a few bases past the indel, or no indel at all when it ends inside a repeat), so
the counts a caller should report are known exactly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

READ = 100
CONTIG = "chrT"


@dataclass(frozen=True)
class Site:
    """A 0-based normalised indel on ``seq``: anchor ``pos``, VCF ``ref`` / ``alt``."""

    seq: str
    pos: int
    ref: str
    alt: str

    @property
    def alt_hap(self) -> str:
        return self.seq[: self.pos] + self.alt + self.seq[self.pos + len(self.ref) :]

    @property
    def shift(self) -> int:
        return len(self.alt) - len(self.ref)


def reference(path: Path, *, length: int = 3000, seed: int = 5, insert: dict | None = None) -> str:
    """A random reference (``insert``: {0-based position: text} written over it), indexed."""
    rng = np.random.default_rng(seed)
    seq = list("".join(rng.choice(list("ACGT"), length)))
    for p, text in (insert or {}).items():
        seq[p : p + len(text)] = text
    s = "".join(seq)
    path.write_text(f">{CONTIG}\n{s}\n")
    pysam.faidx(str(path))
    return s


def ref_read(site: Site, start: int) -> tuple[int, str, list[tuple[int, int]]]:
    """A read of the REF haplotype from ``start``: (start, bases, CIGAR)."""
    return start, site.seq[start : start + READ], [(0, READ)]


def alt_read(site: Site, start: int) -> tuple[int, str, list[tuple[int, int]]]:
    """A read of the ALT haplotype from reference position ``start`` (< anchor), spanning
    the indel with at least 10 bases either side: the indel in its CIGAR."""
    left = site.pos + 1 - start
    bases = site.alt_hap[start : start + READ]
    if site.shift < 0:
        cigar = [(0, left), (2, -site.shift), (0, READ - left)]
    else:
        cigar = [(0, left), (1, site.shift), (0, READ - left - site.shift)]
    return start, bases, cigar


def clipped_alt_read(site: Site, past: int) -> tuple[int, str, list[tuple[int, int]]]:
    """A read of the ALT haplotype that ends ``past`` bases after the indel, aligned as
    REF up to the anchor and soft-clipped after it (no indel in its CIGAR)."""
    end_hap = site.pos + 1 + max(site.shift, 0) + past  # exclusive, in ALT coordinates
    start = end_hap - READ
    bases = site.alt_hap[start:end_hap]
    m = site.pos + 1 - start
    return start, bases, [(0, m), (4, READ - m)]


def write_bam(path: Path, ref_len: int, sample: str, reads, quality: str = "?") -> Path:
    """Sorted, indexed single-end BAM of ``reads`` [(start, bases, cigar)], MAPQ 60,
    base quality ``quality`` (a FASTQ character; 30), alternate strands."""
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": CONTIG, "LN": ref_len}],
        "RG": [{"ID": sample, "SM": sample}],
    }
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for i, (start, bases, cigar) in enumerate(sorted(reads)):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"{sample}_{i}"
            a.flag = 16 if i % 2 else 0
            a.reference_id = 0
            a.reference_start = start
            a.mapping_quality = 60
            a.cigartuples = cigar
            a.query_sequence = bases
            a.query_qualities = pysam.qualitystring_to_array(quality * len(bases))
            a.set_tag("RG", sample)
            out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    pysam.index(str(path))
    return path
