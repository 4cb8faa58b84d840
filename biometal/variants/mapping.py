"""Short reads to a coordinate-sorted, indexed BAM with mappy (minimap2's ``sr`` preset).

:func:`map_reads` streams paired (or single) FASTQ through ``mappy.Aligner.map`` on worker
threads (mappy releases the GIL while it aligns), turns the hits into SAM records and writes
them with pysam, then sorts and indexes the BAM. The output is atomic: the sorted BAM and
its ``.bai`` appear together, only when everything succeeded.

SAM records (SAM specification 1.6):

- per read, the first primary hit is the alignment; further primary hits of the same read
  (parts of a chimeric read) are written as supplementary (0x800); secondary hits are not
  written;
- soft clips (S) make the CIGAR cover the whole read; reverse-strand reads are stored
  reverse-complemented with reversed qualities (0x10);
- flags 0x1 0x40 0x80 for pairs, 0x8 / 0x20 from the mate's primary hit, 0x2 (proper pair)
  when both mates map to the same contig in forward-reverse orientation with a template
  no longer than ``max_insert``; an unmapped read with a mapped mate takes the mate's
  RNAME/POS (so it sorts next to it);
- RNEXT/PNEXT/TLEN from the mates' primary hits (TLEN positive for the leftmost mate);
- MAPQ is mappy's; tags ``NM`` (edit distance) and ``RG`` (one read group, ``@RG ID``
  and ``SM`` = sample).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.io.bam import reference_contigs
from biometal.io.mates import mate_id, mismatch_error
from biometal.progress import Progress

log = logging.getLogger(__name__)

_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def _pairs(fq1: str, fq2: str | None, chunk: int) -> Iterator[list[tuple]]:
    """Chunks of (id, seq1, qual1, seq2, qual2) (seq2/qual2 None for single-end)."""
    from biometal.io import read_fastq

    r1 = read_fastq(fq1)
    batch: list[tuple] = []
    if fq2 is None:
        for rec in r1:
            batch.append((mate_id(rec.name), rec.seq, rec.qual, None, None))
            if len(batch) >= chunk:
                yield batch
                batch = []
    else:
        r2 = read_fastq(fq2)
        n = 0
        sentinel = object()
        for a, b in zip(r1, _padded(r2, sentinel), strict=False):
            n += 1
            if b is sentinel:
                raise InputFormatError(fq2, None, f"has fewer reads than {fq1} (read {n} missing)")
            id1, id2 = mate_id(a.name), mate_id(b.name)
            if id1 != id2:
                raise mismatch_error(fq1, fq2, n, id1, id2)
            batch.append((id1, a.seq, a.qual, b.seq, b.qual))
            if len(batch) >= chunk:
                yield batch
                batch = []
        if next(r2, None) is not None:
            raise InputFormatError(fq2, None, f"has more reads than {fq1}")
    if batch:
        yield batch


def _padded(it, sentinel):
    yield from it
    while True:
        yield sentinel


def _cigar(hit, length: int, rc_query: bool) -> str:
    """CIGAR over the whole read (soft clips added) in reference orientation.

    ``rc_query``: the hit's q_st/q_en refer to the reverse complement of the read, as
    mappy reports them for the second read of a pair (it maps that mate reverse-
    complemented and flips only the strand back).
    """
    forward = (hit.strand > 0) != rc_query
    lead, trail = (hit.q_st, length - hit.q_en) if forward else (length - hit.q_en, hit.q_st)
    return (f"{lead}S" if lead else "") + hit.cigar_str + (f"{trail}S" if trail else "")


class _PairMapper:
    """SAM lines of one chunk of pairs (runs on a worker thread)."""

    def __init__(self, aligner, names: list[str], rg: str, max_insert: int) -> None:
        self.aligner = aligner
        self.names = names
        self.rg = rg
        self.max_insert = max_insert

    def __call__(self, batch: list[tuple]) -> list[str]:
        import mappy

        buf = mappy.ThreadBuffer()
        out: list[str] = []
        for rid, s1, q1, s2, q2 in batch:
            paired = s2 is not None
            hits = (
                list(self.aligner.map(s1, s2, buf=buf))
                if paired
                else list(self.aligner.map(s1, buf=buf))
            )
            prim: list = [None, None]
            supp: list[list] = [[], []]
            for h in hits:
                if not h.is_primary:
                    continue
                i = h.read_num - 1 if paired else 0
                if prim[i] is None:
                    prim[i] = h
                else:
                    supp[i].append(h)
            reads = ((s1, q1), (s2, q2)) if paired else ((s1, q1),)
            for i, (seq, qual) in enumerate(reads):
                mate = prim[1 - i] if paired else None
                out.extend(self._records(rid, i, paired, seq, qual, prim[i], supp[i], mate))
        return out

    def _records(self, rid, i, paired, seq, qual, hit, supp, mate) -> list[str]:
        length = len(seq)
        base = 0
        if paired:
            base |= 0x1 | (0x40 if i == 0 else 0x80)
            if mate is None:
                base |= 0x8
            elif mate.strand < 0:
                base |= 0x20
        recs = []
        if hit is None:
            flag = base | 0x4
            if mate is not None:
                rname, pos = mate.ctg, mate.r_st + 1
                rnext, pnext = "=", mate.r_st + 1
            else:
                rname, pos, rnext, pnext = "*", 0, "*", 0
            recs.append(
                f"{rid}\t{flag}\t{rname}\t{pos}\t0\t*\t{rnext}\t{pnext}\t0\t{seq}\t{qual}\tRG:Z:{self.rg}"
            )
            return recs
        proper = False
        tlen = 0
        if mate is not None and mate.ctg == hit.ctg:
            left = min(hit.r_st, mate.r_st)
            right = max(hit.r_en, mate.r_en)
            span = right - left
            fwd, rev = (hit, mate) if hit.strand > 0 else (mate, hit)
            proper = hit.strand != mate.strand and fwd.r_st <= rev.r_en and span <= self.max_insert
            leftmost = hit.r_st < mate.r_st or (hit.r_st == mate.r_st and i == 0)
            tlen = span if leftmost else -span
        if mate is not None:
            rnext = "=" if mate.ctg == hit.ctg else mate.ctg
            pnext = mate.r_st + 1
        elif paired:  # mate unmapped: placed at this read
            rnext, pnext = "=", hit.r_st + 1
        else:
            rnext, pnext = "*", 0
        for k, h in enumerate([hit, *supp]):
            flag = base | (0x2 if proper else 0) | (0x10 if h.strand < 0 else 0)
            if k:
                flag |= 0x800
            if h.strand < 0:
                s, q = seq.translate(_COMP)[::-1], qual[::-1]
            else:
                s, q = seq, qual
            cigar = _cigar(h, length, paired and i == 1)
            recs.append(
                f"{rid}\t{flag}\t{h.ctg}\t{h.r_st + 1}\t{h.mapq}\t{cigar}\t{rnext}\t"
                f"{pnext}\t{tlen if k == 0 else 0}\t{s}\t{q}\tNM:i:{h.NM}\tRG:Z:{self.rg}"
            )
        return recs


def map_reads(
    reference: str | os.PathLike,
    fq1: str | os.PathLike,
    fq2: str | os.PathLike | None,
    out_bam: str | os.PathLike,
    *,
    sample: str,
    threads: int = 2,
    chunk_pairs: int = 10_000,
    max_insert: int = 1000,
    sort_mem_mb: int = 512,
) -> dict[str, float]:
    """Map reads with mappy (``sr``) into a sorted, indexed BAM (``out_bam`` + ``.bai``).

    ``sample`` names the read group (``@RG ID:sample SM:sample``). ``max_insert``: longest
    template (bp) that still counts as a proper pair. Returns counts and timings.
    Raises :class:`~biometal.errors.BiometalError` for an unreadable reference or FASTQ.
    """
    import mappy
    import pysam

    t0 = time.perf_counter()
    contigs = reference_contigs(reference)
    aligner = mappy.Aligner(str(reference), preset="sr")
    if not aligner:
        raise BiometalError(f"{reference}: mappy could not load or index the reference")
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": name, "LN": length} for name, length in contigs.items()],
        "RG": [{"ID": sample, "SM": sample, "PL": "ILLUMINA"}],
        "PG": [{"ID": "biometal-mappy", "PN": "mappy", "VN": mappy.__version__, "CL": "preset=sr"}],
    }
    out = Path(out_bam)
    n_reads = n_mapped = 0
    mapper = _PairMapper(aligner, list(contigs), sample, max_insert)
    progress = Progress(log, f"mapping {sample} ({Path(fq1).name})", unit="reads")
    with atomic_path(out) as final_tmp:
        unsorted = final_tmp.with_name(final_tmp.name + ".unsorted.bam")  # any output name
        try:
            with pysam.AlignmentFile(str(unsorted), "wb", header=header, threads=1) as bam:
                hdr = bam.header
                with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                    chunks = _pairs(str(fq1), str(fq2) if fq2 else None, chunk_pairs)
                    for lines in _ordered_map(pool, mapper, chunks, max(1, threads) + 1):
                        n_chunk = 0  # reads of this chunk: one primary record each
                        for line in lines:
                            rec = pysam.AlignedSegment.fromstring(line, hdr)
                            bam.write(rec)
                            n_reads += 1
                            n_chunk += not rec.is_supplementary
                            n_mapped += not rec.is_unmapped and not rec.is_supplementary
                        progress.update(n_chunk)
            t_map = time.perf_counter() - t0
            if n_reads == 0:
                raise InputFormatError(str(fq1), None, "no reads: the FASTQ file is empty")
            progress.done()
            pysam.sort(
                "-@",
                str(max(1, threads)),
                "-m",
                f"{max(64, sort_mem_mb // max(1, threads))}M",
                "-l",
                "6",
                "-o",
                str(final_tmp),
                str(unsorted),
            )
            pysam.index(str(final_tmp))
        finally:
            unsorted.unlink(missing_ok=True)
        bai = Path(f"{final_tmp}.bai")
        os.replace(bai, f"{out}.bai")
    seconds = time.perf_counter() - t0
    log.info(
        "mapped %s: %d records (%d mapped primary+supplementary), map %.1f s, total %.1f s",
        out,
        n_reads,
        n_mapped,
        t_map,
        seconds,
    )
    return {"records": n_reads, "mapped": n_mapped, "map_seconds": t_map, "seconds": seconds}


def _ordered_map(pool: ThreadPoolExecutor, fn, items, window: int):
    """pool.map with at most ``window`` items in flight (bounded memory), results in order."""
    pending = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for job in pending:
        yield job.result()
