"""BAM input: validation with one-line errors, and a fast streaming record reader.

:func:`check_bam` is what every BAM consumer calls first. It fails with a
:class:`~biometal.errors.BiometalError` naming the file and the problem for: a missing
file, a file that is not BAM, a truncated BAM (no BGZF end-of-file marker), a BAM whose
header says it is not coordinate-sorted, a missing index (``.bai``/``.csi``), and - when a
reference is given - contigs whose names or lengths differ from the reference's. An
unsorted BAM whose header does not say so is caught while streaming (the first record out
of order is named), as is a file cut inside a block.

:func:`iter_bam_batches` streams the records in coordinate order as :class:`RecordBatch`
objects: the decompressed bytes of whole records plus an int64 index table (one row per
record, columns ``F_*`` of :mod:`biometal.io._bam_kernels`), so that numba and Metal
kernels read CIGARs, bases and qualities straight from the BAM bytes, without a Python
object per read. Memory is bounded by ``read_bytes`` (a few pieces of the file at a time).
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError, InputFormatError
from biometal.io.bgzf import EOF_BLOCK, BlockCache, iter_bgzf, iter_bgzf_parts

BAM_MAGIC = b"BAM\x01"

# SAM flag bits
FPAIRED, FPROPER_PAIR, FUNMAP, FMUNMAP = 0x1, 0x2, 0x4, 0x8
FREVERSE, FMREVERSE, FREAD1, FREAD2 = 0x10, 0x20, 0x40, 0x80
FSECONDARY, FQCFAIL, FDUP, FSUPPLEMENTARY = 0x100, 0x200, 0x400, 0x800
FLAG_NAMES = {
    "PAIRED": FPAIRED,
    "PROPER_PAIR": FPROPER_PAIR,
    "UNMAP": FUNMAP,
    "MUNMAP": FMUNMAP,
    "REVERSE": FREVERSE,
    "MREVERSE": FMREVERSE,
    "READ1": FREAD1,
    "READ2": FREAD2,
    "SECONDARY": FSECONDARY,
    "QCFAIL": FQCFAIL,
    "DUP": FDUP,
    "SUPPLEMENTARY": FSUPPLEMENTARY,
}


class BamError(BiometalError):
    """A BAM file cannot be used: the message is ``"<path>: what"``."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {what}")


def flag_mask(names: list[str] | tuple[str, ...] | str | int) -> int:
    """SAM flag names (``["UNMAP", "DUP"]``, ``"UNMAP,DUP"``) or an integer -> bit mask."""
    if isinstance(names, int):
        return names
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    mask = 0
    for name in names:
        key = str(name).strip().upper()
        if key not in FLAG_NAMES:
            raise BiometalError(
                f"unknown SAM flag name {name!r} (allowed: {', '.join(FLAG_NAMES)})"
            )
        mask |= FLAG_NAMES[key]
    return mask


@dataclass
class BamHeader:
    """What the pileup needs from a BAM header."""

    path: str
    names: list[str]
    lengths: list[int]
    text: str
    data_start: int = 0  # offset of the first record in the decompressed stream
    sort_order: str = ""
    read_groups: list[dict[str, str]] = field(default_factory=list)

    def tid(self, name: str) -> int:
        return self.names.index(name)


def _parse_header_text(text: str) -> tuple[str, list[dict[str, str]]]:
    sort_order = ""
    rgs: list[dict[str, str]] = []
    for line in text.splitlines():
        fields = line.split("\t")
        tags = dict(f.split(":", 1) for f in fields[1:] if ":" in f)
        if fields[0] == "@HD":
            sort_order = tags.get("SO", "")
        elif fields[0] == "@RG":
            rgs.append(tags)
    return sort_order, rgs


def _parse_header(path: str, data: bytes) -> BamHeader | None:
    """Header from the start of the decompressed stream, or None if more bytes are needed."""
    if len(data) < 4:
        return None
    if data[:4] != BAM_MAGIC:
        raise BamError(path, "not a BAM file (no BAM magic after decompression)")
    if len(data) < 8:
        return None
    (l_text,) = struct.unpack_from("<i", data, 4)
    p = 8 + l_text
    if l_text < 0:
        raise BamError(path, "corrupt BAM header (negative text length)")
    if len(data) < p + 4:
        return None
    text = data[8:p].split(b"\0", 1)[0].decode("utf-8", "replace")
    (n_ref,) = struct.unpack_from("<i", data, p)
    p += 4
    names, lengths = [], []
    for _ in range(n_ref):
        if len(data) < p + 4:
            return None
        (l_name,) = struct.unpack_from("<i", data, p)
        if len(data) < p + 4 + l_name + 4:
            return None
        names.append(data[p + 4 : p + 4 + l_name - 1].decode("ascii", "replace"))
        (length,) = struct.unpack_from("<i", data, p + 4 + l_name)
        lengths.append(length)
        p += 8 + l_name
    sort_order, rgs = _parse_header_text(text)
    return BamHeader(path, names, lengths, text, p, sort_order, rgs)


def _has_eof_marker(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size < len(EOF_BLOCK):
            return False
        fh.seek(size - len(EOF_BLOCK))
        return fh.read() == EOF_BLOCK


def find_index(path: str | os.PathLike) -> Path | None:
    """The BAM's index: ``x.bam.bai``, ``x.bai``, ``x.bam.csi`` or None."""
    p = Path(path)
    for cand in (Path(f"{p}.bai"), p.with_suffix(".bai"), Path(f"{p}.csi")):
        if cand.is_file():
            return cand
    return None


def read_bam_header(path: str | os.PathLike) -> BamHeader:
    """Parse the header of a BAM file (raises BamError / InputFormatError)."""
    name = str(path)
    data = b""
    try:
        for piece in iter_bgzf(name, read_bytes=1 << 16):
            data += piece
            header = _parse_header(name, data)
            if header is not None:
                return header
    except InputFormatError as exc:
        raise BamError(name, f"not a readable BAM file ({exc.what})") from None
    raise BamError(name, "truncated BAM: the file ends inside its header")


def reference_contigs(reference: str | os.PathLike) -> dict[str, int]:
    """Contig name -> length of a FASTA, from its ``.fai`` (created with pysam if missing).

    Raises :class:`~biometal.errors.BiometalError` for a missing or unindexable FASTA and
    :class:`~biometal.errors.InputFormatError` for two records with the same name (htslib
    keeps the first and ignores the second: :mod:`biometal.io.reference`).
    """
    from biometal.io.reference import check_fai_covers_fasta, diagnose_fasta, sniff_reference

    ref = Path(reference)
    sniff_reference(ref)  # exists, not empty, FASTA, plain or bgzip
    fai = Path(f"{ref}.fai")
    if not fai.is_file() or fai.stat().st_mtime < ref.stat().st_mtime:
        import pysam

        try:
            pysam.faidx(str(ref))
        except Exception:  # pysam raises SamtoolsError; htslib's reason went to stderr
            line, what = diagnose_fasta(ref)
            raise InputFormatError(str(ref), line, f"cannot index the reference: {what}") from None
    check_fai_covers_fasta(ref, fai)
    contigs: dict[str, int] = {}
    for line in fai.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            contigs[fields[0]] = int(fields[1])
    return contigs


def check_bam(
    path: str | os.PathLike,
    reference: str | os.PathLike | None = None,
    *,
    require_index: bool = True,
) -> BamHeader:
    """Validate a BAM before any work; return its header.

    Checks, each failing with a one-line :class:`BamError` naming the file: it exists, is
    BAM, is not truncated (BGZF end-of-file marker present), its header does not declare a
    sort order other than ``coordinate``, it has an index (``require_index``), and - given
    ``reference`` - every BAM contig exists in the reference with the same length.
    """
    name = str(path)
    if not Path(name).is_file():
        raise BamError(name, "BAM file not found")
    header = read_bam_header(name)
    if not _has_eof_marker(name):
        raise BamError(
            name,
            "truncated BAM: the BGZF end-of-file marker is missing (the file was cut short "
            "or is still being written)",
        )
    # SO:queryname / unsorted say it is not sorted; other values (old TopHat's "sorted")
    # say nothing, and the reader checks the order of every record anyway (as htslib does)
    if header.sort_order in ("queryname", "unsorted"):
        raise BamError(
            name,
            f"BAM is not coordinate-sorted (header @HD SO:{header.sort_order}); "
            "sort it with `samtools sort` and index it with `samtools index`",
        )
    if require_index and find_index(name) is None:
        raise BamError(
            name,
            "BAM index not found (looked for .bam.bai, .bai and .bam.csi next to it); "
            "create it with `samtools index`",
        )
    if reference is not None:
        ref = reference_contigs(reference)
        for contig, length in zip(header.names, header.lengths, strict=True):
            if contig not in ref:
                raise BamError(
                    name,
                    f"contig '{contig}' of the BAM is not in the reference {reference} "
                    f"(reference contigs: {', '.join(list(ref)[:5])}"
                    f"{', ...' if len(ref) > 5 else ''}); was it aligned to another reference?",
                )
            if ref[contig] != length:
                raise BamError(
                    name,
                    f"contig '{contig}' has length {length} in the BAM but {ref[contig]} in "
                    f"the reference {reference}; was it aligned to another reference?",
                )
    return header


@dataclass
class RecordBatch:
    """Complete BAM records: ``data`` uint8 (decompressed bytes) and ``table`` int64[n, 11].

    ``table`` columns (``biometal.io._bam_kernels.F_*``): core offset, refID, pos (0-based),
    end (pos + reference length), flag, mapq, CIGAR offset, n_cigar, sequence offset,
    quality offset, l_seq; offsets index ``data``.
    """

    data: np.ndarray
    table: np.ndarray

    def __len__(self) -> int:
        return len(self.table)


_ERRORS = {
    1: "corrupt BAM record (block size below 32 bytes)",
    2: "corrupt BAM record (fields run past the end of the record)",
    3: "BAM is not coordinate-sorted",
    4: "corrupt BAM record (reference id outside the header's contigs)",
}


def iter_bam_batches(
    path: str | os.PathLike,
    header: BamHeader | None = None,
    *,
    read_bytes: int = 4 << 20,
    threads: int = 1,
    voffset: int = 0,
    cache: BlockCache | None = None,
) -> Iterator[RecordBatch]:
    """Stream every record of a BAM, in file order, as :class:`RecordBatch` objects.

    ``voffset``: a BGZF virtual offset from the BAM index (``block << 16 | within``) to
    start at instead of the first record (the caller stops reading when it has passed its
    region; see :mod:`biometal.regions.coverage`). ``cache``: inflated blocks shared with
    other passes over the BAM (:class:`biometal.io.bgzf.BlockCache`). Raises
    :class:`BamError` for a corrupt or unsorted record (naming the record number and, for
    sorting, the two positions) and for a truncated file.
    """
    from biometal.io import _bam_kernels as K

    name = str(path)
    header = header or read_bam_header(name)
    n_ref = len(header.names)
    pending = b""
    skip = header.data_start
    start = 0
    if voffset:
        start, skip = voffset >> 16, voffset & 0xFFFF
    last_tid, last_pos = -2, -1
    n_seen = 0
    try:
        for parts in iter_bgzf_parts(
            name, read_bytes=read_bytes, threads=threads, start=start, cache=cache
        ):
            if skip:
                size = sum(len(b) for b in parts)
                if size <= skip:
                    skip -= size
                    continue
                parts, skip = [b"".join(parts)[skip:]], 0
            # the previous piece's partial last record and this piece's blocks: one copy
            if pending or len(parts) > 1:
                parts = [b"".join([pending, *parts])]
            data = np.frombuffer(parts[0], dtype=np.uint8)
            table = np.empty((len(data) // 36 + 1, K.N_FIELDS), dtype=np.int64)
            n, nxt, status, tid_, pos_ = K.parse_records(data, 0, n_ref, last_tid, last_pos, table)
            if status != K.OK:
                what = _ERRORS.get(int(status), "corrupt BAM record")
                if status == K.UNSORTED:
                    t = int(table[n - 1, 1]) if n else int(tid_)
                    pp = int(table[n - 1, 2]) if n else int(pos_)
                    bad = data[nxt + 4 : nxt + 12].view(np.int32)
                    where_prev = f"{header.names[t]}:{pp + 1}" if t >= 0 else "unplaced"
                    where_bad = f"{header.names[bad[0]]}:{bad[1] + 1}" if bad[0] >= 0 else "*"
                    what += (
                        f": record {n_seen + n + 1} at {where_bad} comes after {where_prev}; "
                        "sort it with `samtools sort`"
                    )
                else:
                    what += f" at record {n_seen + n + 1}"
                raise BamError(name, what)
            last_tid, last_pos = int(tid_), int(pos_)
            pending = data[nxt:].tobytes()
            if n:
                n_seen += int(n)
                yield RecordBatch(data, table[:n])
    except InputFormatError as exc:
        raise BamError(name, exc.what) from None
    if pending:
        raise BamError(name, "truncated BAM: the last record is incomplete")


# ------------------------------------------------------------------------------ BAM index


@dataclass
class BamIndex:
    """The chunks of a BAM's ``.bai``/``.csi``: per contig ``{bin: [(vbeg, vend), ...]}`` and
    the 16 kb linear index (BAI only)."""

    path: str
    bins: list[dict[int, list[tuple[int, int]]]]
    linear: list[tuple[int, ...]]
    min_shift: int = 14
    depth: int = 5

    @staticmethod
    def read(bam: str | os.PathLike) -> BamIndex:
        """Parse the index next to ``bam`` (raises :class:`BamError` when missing or bad)."""
        ipath = find_index(bam)
        if ipath is None:
            raise BamError(bam, "BAM index not found (.bai or .csi); run `samtools index`")
        raw = ipath.read_bytes()
        try:
            if raw[:4] == b"BAI\x01":
                return BamIndex._bai(str(ipath), raw)
            data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            if data[:4] == b"CSI\x01":
                return BamIndex._csi(str(ipath), data)
        except (struct.error, OSError, EOFError) as exc:
            raise BamError(ipath, f"corrupt BAM index: {exc}") from None
        raise BamError(ipath, "not a BAM index (no BAI or CSI magic)")

    @staticmethod
    def _bai(path: str, data: bytes) -> BamIndex:
        from biometal.io.vcf import read_index_refs  # the one reader of the bin sections

        (n_ref,) = struct.unpack_from("<i", data, 4)
        refs, _ = read_index_refs(data, 8, n_ref, csi=False)
        return BamIndex(path, [r[0] for r in refs], [r[1] for r in refs])

    @staticmethod
    def _csi(path: str, data: bytes) -> BamIndex:
        from biometal.io.vcf import read_index_refs

        min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
        (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
        refs, _ = read_index_refs(data, 20 + l_aux, n_ref, csi=True)
        return BamIndex(path, [r[0] for r in refs], [() for _ in refs], min_shift, depth)

    def start(self, tid: int, beg: int, end: int) -> int | None:
        """Smallest virtual offset of a record that may overlap [beg, end), or None (none)."""
        if tid >= len(self.bins):
            return None
        bins, lin = self.bins[tid], self.linear[tid]
        lo = 0
        if lin:
            lo = lin[min(beg >> 14, len(lin) - 1)]
        best = None
        from biometal.io.vcf import reg2bins  # the one copy of htslib's binning

        for b in reg2bins(beg, max(end, beg + 1), self.min_shift, self.depth):
            for cb, ce in bins.get(b, ()):
                if ce > lo and (best is None or cb < best):
                    best = cb
        if best is not None and lin:
            best = max(best, lo)
        return best


def iter_region_batches(
    path: str | os.PathLike,
    header: BamHeader,
    index,
    tid: int,
    beg: int,
    end: int,
    *,
    read_bytes: int | None = None,
    threads: int = 1,
    cache: BlockCache | None = None,
) -> Iterator[RecordBatch]:
    """Records of contig ``tid`` with pos < ``end``, from the index's first virtual offset
    for [``beg``, ``end``) on (``index``: a :class:`BamIndex`), as
    :class:`RecordBatch` objects; the caller drops those ending at or before ``beg``.
    ``read_bytes``: compressed bytes inflated at a time (what is read past the region's
    last record is wasted); None: the region's compressed span by the linear index, plus
    64 kB (64 kB to 4 MB)."""
    voff = index.start(tid, max(beg, 0), end)
    if voff is None:
        return
    if read_bytes is None:
        lin = index.linear[tid]
        stop_voff = lin[min(end >> 14, len(lin) - 1)] if lin else voff
        span = max((stop_voff >> 16) - (voff >> 16), 0)
        read_bytes = int(min(max(span + (64 << 10), 64 << 10), 4 << 20))
    batches = iter_bam_batches(
        path, header, read_bytes=read_bytes, threads=threads, voffset=voff, cache=cache
    )
    try:
        for batch in batches:
            t = batch.table
            past = (t[:, 1] != tid) | (t[:, 2] >= end)
            if past.any():
                stop = int(np.argmax(past))
                if stop:
                    yield RecordBatch(batch.data, t[:stop])
                return
            yield batch
    finally:
        batches.close()
