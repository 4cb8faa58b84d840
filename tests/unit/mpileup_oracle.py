"""Test oracle: run ``samtools mpileup`` and turn its text into the pileup kernel's columns.

The command is :func:`biometal.pileup.samtools_command` plus ``--reverse-del`` (deletions
on the reverse strand print as ``#``, so their strand is known) and ``-s`` (a MAPQ column).
Parsing the bases column (SAMtools manual, "Pileup format"): ``^`` + MAPQ char starts a
read, ``$`` ends one, ``.``/``,`` match the reference on the forward/reverse strand,
``ACGTN``/``acgtn`` (and other IUPAC letters, counted as N) are bases, ``*``/``#`` deletions,
``>``/``<`` reference skips, ``+n<seq>``/``-n<seq>`` an insertion/deletion after the
previous entry (whose strand it takes). Every entry has one character in the quality and
MAPQ columns.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from biometal.kernels.pileup import NCOL

from biometal.pileup import PileupParams, samtools_command

SAMTOOLS = shutil.which("samtools")
SKIP_REASON = "samtools not installed (apt-get install samtools): it is the pileup oracle"
_BASE = {"A": 0, "C": 1, "G": 2, "T": 3}


def _command(
    bam: str, reference: str | None, params: PileupParams, region: str | None, every: bool
) -> list[str]:
    cmd = samtools_command(bam, params, reference)
    cmd[2:2] = ["--reverse-del", "-s"]
    if not every:  # covered positions only (no -a -a)
        i = cmd.index("-a")
        del cmd[i : i + 2]
    if region:
        cmd[-1:-1] = ["-r", region]
    return cmd


def samtools_pileup(
    bam: str, reference: str, params: PileupParams, region: str | None = None
) -> tuple[dict[str, np.ndarray], list[tuple[str, int, int, int, str]]]:
    """{contig: uint32[length, 24]} and events [(contig, pos0, +len/-len, reverse, seq)]."""
    cmd = _command(bam, reference, params, region, every=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    lengths = {}
    for line in open(reference + ".fai"):
        f = line.split("\t")
        lengths[f[0]] = int(f[1])
    out: dict[str, np.ndarray] = {}
    events: list[tuple[str, int, int, int, str]] = []
    for line in proc.stdout.splitlines():
        chrom, pos1 = line.split("\t", 2)[:2]
        if chrom not in out:
            out[chrom] = np.zeros((lengths[chrom], NCOL), np.uint32)
        _parse_line(line, out[chrom][int(pos1) - 1], events)
    return out, events


def samtools_pileup_sparse(
    bam: str, reference: str | None, params: PileupParams
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[tuple[str, int, int, int, str]]]:
    """The covered positions only (for genome-sized headers): {contig: (pos0 int64[m],
    uint32[m, 24])} and the events as :func:`samtools_pileup`. ``reference`` None: no -f."""
    cmd = _command(bam, reference, params, None, every=False)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    pos: dict[str, list[int]] = {}
    rows: dict[str, list[np.ndarray]] = {}
    events: list[tuple[str, int, int, int, str]] = []
    for line in proc.stdout.splitlines():
        chrom, pos1 = line.split("\t", 2)[:2]
        row = np.zeros(NCOL, np.uint32)
        _parse_line(line, row, events)
        pos.setdefault(chrom, []).append(int(pos1) - 1)
        rows.setdefault(chrom, []).append(row)
    return {c: (np.array(pos[c], np.int64), np.array(rows[c])) for c in pos}, events


def _parse_line(line: str, row: np.ndarray, events: list) -> None:
    """Add one line of samtools' text to ``row`` (uint32[24]) and its indels to ``events``."""
    chrom, pos1, ref, depth, bases, quals, mqs = line.split("\t")
    if bases == "*" and depth == "0":
        return
    ref_code = _BASE.get(ref.upper(), 4)
    i = 0
    k = 0  # entry index into quals / mqs
    last_rev = 0
    n = len(bases)
    while i < n:
        ch = bases[i]
        if ch == "^":
            i += 2
            continue
        if ch == "$":
            i += 1
            continue
        if ch in "+-":
            j = i + 1
            while bases[j].isdigit():
                j += 1
            length = int(bases[i + 1 : j])
            seq = bases[j : j + length]
            i = j + length
            col = 14 if ch == "+" else 16
            row[col + last_rev] += 1
            # padded CIGARs (P): samtools prints pads inside an insertion as '*' and
            # counts them in the length; the inserted bases are the rest (htslib indel)
            seq = seq.replace("*", "").replace("#", "")
            size = len(seq) if ch == "+" else -length
            events.append((chrom, int(pos1) - 1, size, last_rev, seq.upper()))
            continue
        q = ord(quals[k]) - 33
        mq = ord(mqs[k]) - 33
        k += 1
        row[23] += mq
        if ch in ".,":
            rev = int(ch == ",")
            code = ref_code
        elif ch in "*#":
            rev = int(ch == "#")
            row[10 + rev] += 1
            last_rev = rev
            i += 1
            continue
        elif ch in "><":
            rev = int(ch == "<")
            row[12 + rev] += 1
            last_rev = rev
            i += 1
            continue
        else:
            rev = int(ch.islower())
            code = _BASE.get(ch.upper(), 4)
        row[code + 5 * rev] += 1
        row[18 + code] += q
        last_rev = rev
        i += 1
    assert k == len(quals), (line, k)


def capped_copy(bam: str, out: str | Path) -> str:
    """Copy of ``bam`` with base qualities and MAPQ capped at 93, sorted and indexed.

    samtools prints qualities as one character, capped at 93 ('~'), so sums of larger
    values (missing qualities are stored as 255, MAPQ 255 means unknown) cannot be read
    back from its text: quality and MAPQ sums are compared on this copy.
    """
    import array

    import pysam

    with pysam.AlignmentFile(bam) as src, pysam.AlignmentFile(str(out), "wb", template=src) as dst:
        for rec in src.fetch(until_eof=True):
            rec.mapping_quality = min(rec.mapping_quality, 93)
            quals = rec.query_qualities
            if quals is not None:
                rec.query_qualities = array.array("B", [min(q, 93) for q in quals])
            elif rec.query_sequence:
                rec.query_qualities = array.array("B", [93] * len(rec.query_sequence))
            dst.write(rec)
    pysam.index(str(out))
    return str(out)
