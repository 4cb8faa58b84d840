"""Streaming, region-queryable VCF / VCF.gz / BCF reader returning columnar numpy chunks.

:func:`read_vcf` yields :class:`VcfChunk` objects of at most ``chunk_records`` records
(memory stays bounded whatever the file size). Text is inflated with ISA-L through
:func:`biometal.io.bgzf.iter_bgzf` (plain gzip through :mod:`gzip`) and parsed by numba
loops (``_vcf_kernels``) into preallocated arrays; BCF records are parsed in their binary
form. Only the requested INFO / FORMAT fields are decoded.

Arrays of a chunk of ``n`` records and ``S`` samples:

- ``chrom``, ``id``, ``ref``, ``alt``, ``filter``: object arrays of str, shape (n,), as
  ``bcftools query`` prints them (``alt`` comma-joined, ``"."`` when there is no ALT;
  ``filter`` ``"PASS"``, ``"."`` or ``"a;b"``)
- ``pos``: int64 (n,), 1-based; ``qual``: float32 (n,), missing = NaN (bit pattern
  0x7F800001, htslib's)
- ``gt``: int8 (n, S, ploidy) (int16 from the first chunk with an allele index > 127 on):
  allele index, -1 for a missing allele ``.``, -2 past the
  sample's ploidy (haploid calls in a diploid array); ``phased``: bool (n, S)
- ``info[key]`` / ``fmt[key]`` by the header's Type: Flag -> bool (n,); Integer -> int32,
  Float -> float32, shape (n,) for Number=1 else (n, width) ((n, S) / (n, S, width) for
  FORMAT), width = the longest value in the chunk; missing values are ``INT_MISSING``
  (int32 min) / NaN bits 0x7F800001, and the unused tail of a shorter value is
  ``INT_END`` (int32 min + 1) / NaN bits 0x7F800002 (htslib's sentinels); String /
  Character -> object array of str as written (``"."`` when absent).

Values read as htslib reads them (so that ``bcftools query`` prints the same): an INFO
key written without a value (a flag) in a numeric or String field is 1 / ``"1"``; a
number that does not parse is missing (a leading integer counts: ``3.5`` in an Integer
field is 3); an empty FORMAT value is missing, an empty element of a FORMAT Float list 0.
A record without GT has one missing allele per sample.

``region`` (``"chr"``, ``"chr:pos"``, ``"chr:beg-end"``, 1-based inclusive, or a list)
selects records overlapping it, as ``bcftools query -r``: through the ``.tbi`` / ``.csi``
index of a VCF.gz / BCF (parsed here), or by a full scan for a plain VCF. Malformed input
raises :class:`VcfError` (one line: file and line, or record index for BCF).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from biometal.errors import InputFormatError

#: Default records per chunk.
DEFAULT_CHUNK_RECORDS = 16384
INT_MISSING = np.int32(-2147483648)
INT_END = np.int32(-2147483647)
FLOAT_MISSING_BITS = 0x7F800001
FLOAT_END_BITS = 0x7F800002
_GT_CELLS = 1 << 24  # bound on n * S * ploidy per chunk (sets the chunk size for wide files)


class VcfError(InputFormatError):
    """A VCF/BCF file is malformed; the message names the file and line (or BCF record)."""


@dataclass
class VcfChunk:
    """Columnar records (see the module docstring for dtypes, shapes and sentinels)."""

    samples: list[str]
    chrom: np.ndarray
    pos: np.ndarray
    id: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    qual: np.ndarray
    filter: np.ndarray
    info: dict[str, np.ndarray] = field(default_factory=dict)
    fmt: dict[str, np.ndarray] = field(default_factory=dict)
    gt: np.ndarray | None = None
    phased: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class VcfHeader:
    """The parts of a VCF header the reader needs."""

    samples: list[str]
    info: dict[str, tuple[str, str]]  # id -> (Number, Type)
    fmt: dict[str, tuple[str, str]]
    contigs: list[str]
    strings: dict[int, str]  # BCF dictionary of FILTER/INFO/FORMAT ids
    n_lines: int


_ATTR = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^,>]*)')


def _parse_header(text: str, name: str) -> VcfHeader:
    lines = text.rstrip("\n").split("\n")
    info: dict[str, tuple[str, str]] = {}
    fmt: dict[str, tuple[str, str]] = {}
    contigs: list[str] = []
    contig_idx: dict[int, str] = {}
    strings: dict[int, str] = {0: "PASS"}
    seen = {"PASS"}
    nxt = 1
    samples: list[str] | None = None
    if not lines or not lines[0].startswith("##fileformat=VCF"):
        raise VcfError(name, 1, "not a VCF: the first line is not ##fileformat=VCF...")
    for i, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if line.startswith("#CHROM"):
            cols = line.split("\t")
            if cols[:8] != ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                raise VcfError(name, i, "the #CHROM line lacks the 8 tab-separated fixed columns")
            samples = cols[9:]
            if i != len(lines):
                raise VcfError(name, i + 1, "header line after the #CHROM line")
            break
        m = re.match(r"##(INFO|FORMAT|FILTER|contig)=<(.*)>\s*$", line)
        if not m:
            continue
        attrs = {k: v.strip('"') for k, v in _ATTR.findall(m.group(2))}
        ident = attrs.get("ID")
        if ident is None:
            raise VcfError(name, i, f"##{m.group(1)} line without ID")
        kind = m.group(1)
        if kind == "contig":
            if "IDX" in attrs:
                contig_idx[int(attrs["IDX"])] = ident
            contigs.append(ident)
            continue
        if kind == "INFO":
            info[ident] = (attrs.get("Number", "."), attrs.get("Type", "String"))
        elif kind == "FORMAT":
            fmt[ident] = (attrs.get("Number", "."), attrs.get("Type", "String"))
        if "IDX" in attrs:
            strings[int(attrs["IDX"])] = ident
            seen.add(ident)
        elif ident not in seen:
            seen.add(ident)
            strings[nxt] = ident
            nxt += 1
        if strings:
            nxt = max(nxt, max(strings) + 1)
    if samples is None:
        raise VcfError(name, len(lines), "no #CHROM header line")
    if contig_idx:
        contigs = [contig_idx.get(i, "") for i in range(max(contig_idx) + 1)]
    return VcfHeader(samples, info, fmt, contigs, strings, len(lines))


# ------------------------------------------------------------------------- byte sources


def _kind(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(18)
    except OSError as exc:
        raise VcfError(path, None, f"cannot open: {exc.strerror or exc}") from None
    if head[:2] == b"\x1f\x8b":
        if len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC":
            import isal.isal_zlib as iz

            try:
                with open(path, "rb") as fh:
                    blk = fh.read(1 << 16)
                xlen = blk[10] | (blk[11] << 8)
                first = iz.decompressobj(-15).decompress(blk[12 + xlen :], 8)
            except Exception:  # noqa: BLE001 - reported below as not a VCF/BCF
                first = b""
            return "bcf" if first[:3] == b"BCF" else "bgzf"
        return "gzip"
    if head[:3] == b"BCF":
        return "rawbcf"
    return "text"


def _pieces(path: str, kind: str, start: int = 0) -> Iterator[bytes]:
    if kind in ("bgzf", "bcf"):
        from biometal.io.bgzf import iter_bgzf

        try:
            yield from iter_bgzf(path, start=start, piece_bytes=1 << 20, read_bytes=1 << 20)
        except InputFormatError as exc:
            raise VcfError(path, None, exc.what) from None
        return
    if kind == "gzip":
        try:
            with gzip.open(path, "rb") as fh:
                while piece := fh.read(1 << 20):
                    yield piece
        except (EOFError, OSError, zlib.error) as exc:
            raise VcfError(path, None, f"corrupt or truncated gzip: {exc}") from None
        return
    with open(path, "rb") as fh:
        fh.seek(start)
        while piece := fh.read(1 << 20):
            yield piece


# ------------------------------------------------------------------------------ regions


def _parse_region(region: str, name: str, contigs: Sequence[str] = ()) -> tuple[str, int, int]:
    if region in contigs:
        return region, 1, 2**31 - 1
    m = re.fullmatch(r"(.+?)(?::([\d,]+)(?:-([\d,]*))?)?", region.strip())
    if not m:
        raise VcfError(name, None, f"bad region {region!r}")
    chrom = m.group(1)
    beg = int(m.group(2).replace(",", "")) if m.group(2) else 1
    if m.group(3) is None:
        end = beg if m.group(2) else 2**31 - 1
    elif m.group(3) == "":
        end = 2**31 - 1
    else:
        end = int(m.group(3).replace(",", ""))
    return chrom, beg, end


def reg2bins(beg: int, end: int, min_shift: int, depth: int) -> list[int]:
    """Bins overlapping [beg, end) (0-based), as htslib's hts_reg2bins."""
    bins = []
    end -= 1
    s = min_shift + depth * 3
    t = 0
    for level in range(depth + 1):
        b = t + (beg >> s)
        e = t + (end >> s)
        bins.extend(range(b, e + 1))
        s -= 3
        t += 1 << (level * 3)
    return bins


def _read_index(path: str, header: VcfHeader) -> tuple[dict[str, int], list, int, int]:
    """(name -> ref index, per-ref (bins {bin: [(beg, end)]}, loffsets), min_shift, depth)."""
    found = [(path + ext, ext == ".csi") for ext in (".csi", ".tbi") if os.path.exists(path + ext)]
    if not found:
        raise VcfError(path, None, "region query needs an index (.tbi or .csi): run bcftools index")
    ipath, csi = found[0]
    with gzip.open(ipath, "rb") as fh:
        data = fh.read()
    p = 4
    if csi:
        if data[:4] != b"CSI\x01":
            raise VcfError(ipath, None, "not a CSI index")
        min_shift, depth, l_aux = struct.unpack_from("<iii", data, p)
        p += 12
        aux = data[p : p + l_aux]
        p += l_aux
        (n_ref,) = struct.unpack_from("<i", data, p)
        p += 4
        names = header.contigs
        if l_aux >= 28:
            names = _tbi_names(aux, 0)[0] or names
        refs, p = read_index_refs(data, p, n_ref, csi=True)
    else:
        if data[:4] != b"TBI\x01":
            raise VcfError(ipath, None, "not a tabix index")
        min_shift, depth = 14, 5
        (n_ref,) = struct.unpack_from("<i", data, p)
        names, p = _tbi_names(data, p + 4)
        refs, p = read_index_refs(data, p, n_ref, csi=False)
    return {nm: i for i, nm in enumerate(names)}, refs, min_shift, depth


def read_index_refs(data: bytes, p: int, n_ref: int, *, csi: bool) -> tuple[list, int]:
    """The ``n_ref`` per-reference sections of an htslib index from ``data[p:]``: BAI / TBI
    (bins, then the 16 kb linear index) or CSI (bins with their own first offset, no linear
    index). Returns ([({bin: [(beg, end), ...]}, linear offsets or None), ...], the offset
    after them)."""
    refs: list = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, p)
        p += 4
        bins = {}
        for _b in range(n_bin):
            if csi:
                b, _loff, n_chunk = struct.unpack_from("<IQi", data, p)
                p += 16
            else:
                b, n_chunk = struct.unpack_from("<Ii", data, p)
                p += 8
            bins[b] = list(struct.iter_unpack("<QQ", data[p : p + 16 * n_chunk]))
            p += 16 * n_chunk
        linear = None
        if not csi:
            (n_intv,) = struct.unpack_from("<i", data, p)
            p += 4
            linear = struct.unpack_from(f"<{n_intv}Q", data, p)
            p += 8 * n_intv
        refs.append((bins, linear))
    return refs, p


def _tbi_names(data: bytes, p: int) -> tuple[list[str], int]:
    _fmt, _cs, _cb, _ce, _meta, _skip, l_nm = struct.unpack_from("<7i", data, p)
    p += 28
    names = [s.decode() for s in data[p : p + l_nm].split(b"\x00") if s]
    return names, p + l_nm


def _region_start(path: str, header: VcfHeader, chrom: str, beg: int, end: int) -> int | None:
    """Smallest virtual offset that can hold a record overlapping chrom:beg-end, or None."""
    names, refs, min_shift, depth = _read_index(path, header)
    if chrom not in names or names[chrom] >= len(refs):
        return None
    bins, loff = refs[names[chrom]]
    lo = 0
    if loff:
        i = min((beg - 1) >> 14, len(loff) - 1)
        lo = loff[i] if i >= 0 else 0
    best = None
    for b in reg2bins(beg - 1, end, min_shift, depth):
        for cb, ce in bins.get(b, ()):
            if ce > lo and (best is None or cb < best):
                best = cb
    return best


# ------------------------------------------------------------------------------ reading


def read_vcf(
    path: str | os.PathLike,
    *,
    info: Sequence[str] = (),
    format: Sequence[str] = (),  # noqa: A002 - the VCF word
    gt: bool = True,
    region: str | Sequence[str] | None = None,
    samples: Sequence[str] | None = None,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    ploidy: int = 2,
) -> Iterator[VcfChunk]:
    """Yield :class:`VcfChunk` s of at most ``chunk_records`` records of a VCF/VCF.gz/BCF.

    ``info`` / ``format``: keys to decode (must be in the header; GT is ``gt``).
    ``samples``: names to keep, in that order (default all). ``ploidy``: initial width of
    the GT array (grows when a record has more alleles). ``region``: see module docstring.
    """
    name = str(path)
    kind = _kind(name)
    if kind == "rawbcf":
        raise VcfError(name, None, "uncompressed BCF is not supported (use bcftools view -Ob)")
    stream = _pieces(name, kind)
    if kind == "bcf":
        header, rest, body_off = _bcf_header(name, stream)
    else:
        header, rest = _text_header(name, stream)
        body_off = 0
    for key in info:
        if key not in header.info:
            raise VcfError(name, None, f"INFO/{key} is not defined in the header")
    for key in format:
        if key not in header.fmt:
            raise VcfError(name, None, f"FORMAT/{key} is not defined in the header")
    sel = None
    if samples is not None:
        idx = {s: i for i, s in enumerate(header.samples)}
        missing = [s for s in samples if s not in idx]
        if missing:
            raise VcfError(name, None, f"sample {missing[0]!r} is not in the header")
        sel = np.array([idx[s] for s in samples], np.int64)
    out_samples = list(samples) if samples is not None else header.samples
    per_chunk = max(1, min(int(chunk_records), _GT_CELLS // max(1, len(header.samples) * ploidy)))
    regions = [region] if isinstance(region, str) else list(region or [])
    parse = _BcfParser if kind == "bcf" else _TextParser
    keys = list(info)
    if region and "END" in header.info and "END" not in keys:
        keys.append("END")  # a record's extent is POS..INFO/END when it has one (as htslib)
    parser = parse(name, header, keys, list(format), gt, ploidy, per_chunk, out_samples, sel)
    parser.drop_end = "END" in keys and "END" not in info
    if not regions:
        yield from parser.run(_chain(rest, stream), body_off)
        return
    stream.close()
    for reg in regions:
        chrom, beg, end = _parse_region(reg, name, header.contigs)
        if kind in ("bcf", "bgzf"):
            voff = _region_start(name, header, chrom, beg, end)
            if voff is None:
                continue
            src = _pieces(name, kind, voff >> 16)
            within = voff & 0xFFFF
            first = next(src, b"")[within:]
            body = _chain(first, src)
        else:
            src = _pieces(name, kind)
            _hdr, rest2 = _text_header(name, src)
            body = _chain(rest2, src)
        parser.line0 = None
        yield from parser.run(body, 0, (chrom, beg, end))


def read_vcf_all(path: str | os.PathLike, **kwargs) -> VcfChunk:
    """All records of :func:`read_vcf` (same keywords) in one chunk, for files that fit in
    memory; a file without records gives a chunk of length 0."""
    chunks = list(read_vcf(path, **kwargs))
    return concat_chunks(chunks) if chunks else _empty_chunk(path, **kwargs)


def _empty_chunk(path, *, info=(), format=(), gt=True, samples=None, ploidy=2, **_kw):  # noqa: A002
    name = str(path)
    kind = _kind(name)
    stream = _pieces(name, kind)
    header = _bcf_header(name, stream)[0] if kind == "bcf" else _text_header(name, stream)[0]
    stream.close()
    names = list(samples) if samples is not None else header.samples
    ns = len(names)

    def empty(decl, per_sample):
        number, typ = decl
        shape = (0, ns) if per_sample else (0,)
        if typ == "Flag":
            return np.zeros(shape, bool)
        if typ in ("Integer", "Float"):
            dt = np.int32 if typ == "Integer" else np.float32
            return np.zeros(shape if number == "1" else (*shape, 1), dt)
        return np.zeros(shape, object)

    obj = np.zeros(0, object)
    return VcfChunk(
        samples=names,
        chrom=obj,
        pos=np.zeros(0, np.int64),
        id=obj.copy(),
        ref=obj.copy(),
        alt=obj.copy(),
        qual=np.zeros(0, np.float32),
        filter=obj.copy(),
        info={k: empty(header.info[k], False) for k in info},
        fmt={k: empty(header.fmt[k], True) for k in format},
        gt=np.zeros((0, ns, ploidy), np.int8) if gt else None,
        phased=np.zeros((0, ns), bool) if gt else None,
    )


def concat_chunks(chunks: list[VcfChunk]) -> VcfChunk:
    """One chunk from several (padded arrays are widened to the widest)."""
    if len(chunks) == 1:
        return chunks[0]

    def cat(arrs):
        if arrs[0].ndim == 1:
            return np.concatenate(arrs)
        w = max(a.shape[-1] for a in arrs)
        fill = _END_FILL.get(arrs[0].dtype.kind, -2)
        out = []
        for a in arrs:
            if a.shape[-1] < w:
                pad = np.full(a.shape[:-1] + (w - a.shape[-1],), fill, a.dtype)
                if a.dtype == np.float32:
                    pad = np.full(pad.shape, FLOAT_END_BITS, np.uint32).view(np.float32)
                a = np.concatenate([a, pad], axis=-1)
            out.append(a)
        return np.concatenate(out)

    c0 = chunks[0]
    return VcfChunk(
        samples=c0.samples,
        **{k: cat([getattr(c, k) for c in chunks]) for k in _COLS},
        info={k: cat([c.info[k] for c in chunks]) for k in c0.info},
        fmt={k: cat([c.fmt[k] for c in chunks]) for k in c0.fmt},
        gt=None if c0.gt is None else cat([c.gt for c in chunks]),
        phased=None if c0.phased is None else np.concatenate([c.phased for c in chunks]),
    )


_COLS = ("chrom", "pos", "id", "ref", "alt", "qual", "filter")
_END_FILL = {"i": INT_END, "b": False, "O": "."}


def _take(c: VcfChunk, idx: np.ndarray) -> VcfChunk:
    return VcfChunk(
        samples=c.samples,
        **{k: getattr(c, k)[idx] for k in _COLS},
        info={k: v[idx] for k, v in c.info.items()},
        fmt={k: v[idx] for k, v in c.fmt.items()},
        gt=None if c.gt is None else c.gt[idx],
        phased=None if c.phased is None else c.phased[idx],
    )


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _text_header(name: str, stream: Iterator[bytes]) -> tuple[VcfHeader, bytes]:
    buf = b""
    while True:
        k = buf.find(b"\n#CHROM")
        if k >= 0:
            e = buf.find(b"\n", k + 1)
            if e >= 0:
                return _parse_header(buf[: e + 1].decode("utf-8", "replace"), name), buf[e + 1 :]
        elif buf.startswith(b"#CHROM"):
            e = buf.find(b"\n")
            if e >= 0:
                return _parse_header(buf[: e + 1].decode("utf-8", "replace"), name), buf[e + 1 :]
        piece = next(stream, None)
        if piece is None:
            if buf and not buf.startswith(b"##fileformat=VCF"):
                raise VcfError(name, 1, "not a VCF: the first line is not ##fileformat=VCF...")
            if buf.find(b"#CHROM") >= 0:
                return _parse_header(buf.decode("utf-8", "replace") + "\n", name), b""
            raise VcfError(name, None, "not a VCF: no #CHROM header line")
        if not buf and not piece.startswith(b"#"):
            raise VcfError(name, 1, "not a VCF: the first line is not ##fileformat=VCF...")
        buf += piece


def _bcf_header(name: str, stream: Iterator[bytes]) -> tuple[VcfHeader, bytes, int]:
    buf = b""
    while len(buf) < 9 or len(buf) < 9 + struct.unpack_from("<I", buf, 5)[0]:
        piece = next(stream, None)
        if piece is None:
            raise VcfError(name, None, "truncated BCF header")
        buf += piece
    if buf[:5] != b"BCF\x02\x02":
        raise VcfError(name, None, f"unsupported BCF version {buf[3]}.{buf[4]} (need 2.2)")
    l_text = struct.unpack_from("<I", buf, 5)[0]
    text = buf[9 : 9 + l_text].rstrip(b"\x00").decode("utf-8", "replace")
    return _parse_header(text, name), buf[9 + l_text :], 9 + l_text


class _Base:
    def __init__(self, name, header, info, fmt, gt, ploidy, per_chunk, samples, sel):
        self.name, self.h = name, header
        self.info, self.fmt, self.want_gt = info, fmt, gt
        self.ploidy, self.per_chunk = ploidy, per_chunk
        self.samples, self.sel = samples, sel
        self.line0 = None
        self.gt_dtype = np.int8
        self.drop_end = False

    def _gt(self) -> np.ndarray:
        """An empty GT array [0, S, ploidy]: the kernels allocate one of its dtype and width."""
        ns = len(self.h.samples) if self.want_gt else 0
        return np.zeros((0, ns, self.ploidy), self.gt_dtype)

    def _amax(self) -> int:
        return 127 if self.gt_dtype == np.int8 else 32767

    def _retry(self, status: int, max_pl: int) -> bool:
        """Widen the GT array (ploidy, dtype) when the kernel asks; True to rerun."""
        from biometal.io import _vcf_kernels as K

        if status == K.BIG_ALLELE and self.gt_dtype == np.int8:
            self.gt_dtype = np.int16
            return True
        if status == K.OK and max_pl > self.ploidy:
            self.ploidy = int(max_pl)
            return True
        return False

    def _emit(self, chunk: VcfChunk, region) -> Generator[VcfChunk, None, bool]:
        """Yield chunk's records in region (all if None), finished, if any; return whether
        the scan went past the region."""
        past = False
        if region is not None:
            chunk, past = _region_filter(chunk, region)
            if chunk is None:
                return past
        if len(chunk):
            yield self._finish(chunk, region)
        return past

    def _finish(self, chunk: VcfChunk, region) -> VcfChunk | None:
        """Apply the sample selection; drop INFO/END when only the region filter wanted it."""
        if self.drop_end:
            chunk.info.pop("END", None)
        if self.sel is not None:
            if chunk.gt is not None:
                chunk.gt = chunk.gt[:, self.sel]
                chunk.phased = chunk.phased[:, self.sel]
            chunk.fmt = {k: v[:, self.sel] for k, v in chunk.fmt.items()}
        return chunk


def _strings(buf: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Object array of the spans' strings (absent: "."), one str per distinct short value."""
    from biometal.io import _vcf_kernels as K

    n = len(spans)
    if not n:
        return np.empty(0, object)
    codes, first = K.intern_spans(buf, spans)
    table = np.empty(len(first) + 1, object)
    if len(first):
        table[:-1] = _decode_split(K.gather(buf, first))
    out = table[codes]
    rest = np.flatnonzero(codes == len(first))  # long or unusual values: one by one
    if len(rest):
        out[rest] = _decode_split(K.gather(buf, spans[rest]))
    return out


def _decode_split(joined: np.ndarray) -> list[str]:
    return joined.tobytes().decode("utf-8", "replace").split("\n")


def _float_view(bits: np.ndarray) -> np.ndarray:
    return bits.view(np.float32)


class _TextParser(_Base):
    def run(self, body: Iterable[bytes], _off: int, region=None) -> Iterator[VcfChunk]:
        from biometal.io import _vcf_kernels as K

        ik, io_ = _keys(self.info)
        fk, fo = _keys(self.fmt)
        ns = len(self.h.samples)
        line = self.h.n_lines  # lines before the current buffer
        tail = b""
        it = iter(body)
        done = False
        past = False
        while not done and not past:
            piece = next(it, None)
            if piece is None:
                done = True
                data = tail + b"\n" if tail and not tail.endswith(b"\n") else tail
            else:
                data = tail + piece
                cut = data.rfind(b"\n")
                if cut < 0:
                    tail = data
                    continue
                tail = data[cut + 1 :]
                data = data[: cut + 1]
            buf = np.frombuffer(data, np.uint8)
            p = 0
            while p < len(buf):
                rows = min(self.per_chunk, data.count(b"\n", p))
                res = K.parse_vcf_lines(
                    buf, p, len(buf), rows, ns, ik, io_, fk, fo, self._gt(),
                    self._amax(), self.want_gt,
                )  # fmt: skip
                n, nxt, status, err, max_pl = res[:5]
                if self._retry(status, max_pl):
                    continue
                if status != K.OK:
                    bad = line + data.count(b"\n", 0, err) + 1
                    raise VcfError(self.name, bad, _TEXT_ERRORS[status])
                chunk = self._build(buf, res, n, line)
                p = nxt
                past = yield from self._emit(chunk, region)
                if past:
                    break
            line += data.count(b"\n")

    def _build(self, buf, res, n, line0) -> VcfChunk:
        from biometal.io import _vcf_kernels as K

        _n, _nxt, _st, _err, _pl, spans, pos, qual, info_sp, gt, phased, fmt_sp = res
        spans, info_sp, fmt_sp = spans[:n], info_sp[:n], fmt_sp[:n]
        chunk = VcfChunk(
            samples=self.samples,
            chrom=_strings(buf, spans[:, K.S_CHROM]),
            pos=pos[:n],
            id=_strings(buf, spans[:, K.S_ID]),
            ref=_strings(buf, spans[:, K.S_REF]),
            alt=_strings(buf, spans[:, K.S_ALT]),
            qual=_float_view(qual[:n]),
            filter=_strings(buf, spans[:, K.S_FILTER]),
        )
        if self.want_gt:
            chunk.gt, chunk.phased = gt[:n], phased[:n]
        for j, key in enumerate(self.info):
            chunk.info[key] = self._convert(buf, info_sp[:, j], self.h.info[key], (n,), key, line0)
        ns = fmt_sp.shape[1]
        for j, key in enumerate(self.fmt):
            sp = np.ascontiguousarray(fmt_sp[:, :, j]).reshape(n * ns, 2)
            chunk.fmt[key] = self._convert(buf, sp, self.h.fmt[key], (n, ns), key, line0)
        return chunk

    def _convert(self, buf, sp, decl, shape, key, line0):
        from biometal.io import _vcf_kernels as K

        number, typ = decl
        if typ == "Flag":
            return (sp[:, 0] >= 0).reshape(shape)
        if typ in ("Integer", "Float"):
            width = 1 if number == "1" else K.count_values(buf, sp)
            if typ == "Integer":
                vals, bad = K.spans_to_ints(buf, sp, width)
            else:
                vals, bad = K.spans_to_float_bits(buf, sp, width, len(shape) == 2)
                vals = vals.view(np.float32)
            if bad >= 0:
                row = bad if len(shape) == 1 else bad // shape[1]
                raise VcfError(self.name, line0 + row + 1, f"{key}: not a {typ} list")
            return vals.reshape(shape) if number == "1" else vals.reshape(shape + (width,))
        out = _strings(buf, sp)
        if len(shape) == 1:  # a bare INFO key (written as a flag) reads as "1", as htslib's
            bare = (sp[:, 0] >= 0) & (sp[:, 1] <= sp[:, 0])
            out[bare] = "1"
        return out.reshape(shape)


_TEXT_ERRORS = {
    1: "wrong number of tab-separated columns",
    2: "POS is not a non-negative integer",
    3: "QUAL is not a number or '.'",
    4: "malformed GT (alleles are numbers or '.', separated by '/' or '|')",
    5: "header line ('#') among the records",
    7: "more than 256 FORMAT keys",
}


def _keys(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    enc = [k.encode() for k in keys]
    off = np.zeros(len(enc) + 1, np.int64)
    off[1:] = np.cumsum([len(e) for e in enc]) if enc else []
    return np.frombuffer(b"".join(enc), np.uint8).copy(), off


def _region_filter(chunk: VcfChunk, region) -> tuple[VcfChunk | None, bool]:
    """Records of chunk overlapping region, and whether the scan went past it (sorted file)."""
    chrom, beg, end = region
    on = chunk.chrom == chrom
    rlen = getattr(chunk, "_rlen", None)
    if rlen is None:
        rlen = np.fromiter((len(r) for r in chunk.ref), np.int64, len(chunk.ref))
    stop = chunk.pos + np.maximum(rlen, 1) - 1
    end_tag = chunk.info.get("END")
    if end_tag is not None and end_tag.ndim == 1 and end_tag.dtype == np.int32:
        has = end_tag > INT_END
        stop = np.where(has, np.maximum(stop, end_tag.astype(np.int64)), stop)
    keep = on & (stop >= beg) & (chunk.pos <= end)
    past = bool(np.any(on & (chunk.pos > end)))
    if np.any(on):  # records of one contig are contiguous in an indexable file
        past = past or bool(chunk.chrom[-1] != chrom)
    if not keep.any():
        return None, past
    return _take(chunk, np.flatnonzero(keep)) if not keep.all() else chunk, past


class _BcfParser(_Base):
    def run(self, body: Iterable[bytes], off: int, region=None) -> Iterator[VcfChunk]:
        from biometal.io import _vcf_kernels as K

        h = self.h
        ids = {v: k for k, v in h.strings.items()}
        info_ids = np.array([ids[k] for k in self.info], np.int64)
        fmt_ids = np.array([ids[k] for k in self.fmt], np.int64)
        gt_id = ids.get("GT", -1)
        ns = len(h.samples)
        rec = 0
        tail = b""
        it = iter(body)
        done = False
        past = False
        contigs = np.array(h.contigs + ["?"], object)
        while not done and not past:
            piece = next(it, None)
            if piece is None:
                done = True
                data = tail
            else:
                data = tail + piece
            buf = np.frombuffer(data, np.uint8)
            p = 0
            while p < len(buf):
                res = K.parse_bcf_records(
                    buf, p, len(buf), self.per_chunk, ns, info_ids, fmt_ids, gt_id,
                    self._gt(), self._amax(), self.want_gt,
                )  # fmt: skip
                n, nxt, status, err, max_pl = res[:5]
                if self._retry(status, max_pl):
                    continue
                if status != K.OK:
                    raise VcfError(self.name, None, f"record {rec + n + 1}: malformed BCF record")
                if n == 0:
                    break
                chunk = self._build(buf, res, n, contigs)
                rec += n
                p = nxt
                past = yield from self._emit(chunk, region)
                if past:
                    break
            tail = data[p:]
        if done and tail and not past:
            raise VcfError(self.name, None, f"record {rec + 1}: truncated BCF record")

    def _build(self, buf, res, n, contigs) -> VcfChunk:
        (_n, _nx, _st, _e, _pl, tid, pos, rlen, qual, heap, spans, filt, filt_off,
         info_meta, gt, phased, fmt_meta) = res  # fmt: skip
        tid = tid[:n]
        if n and (tid.min() < 0 or tid.max() >= len(contigs) - 1):
            raise VcfError(self.name, None, "record with a contig id not in the header")
        chunk = VcfChunk(
            samples=self.samples,
            chrom=contigs[tid],
            pos=pos[:n],
            id=_strings(heap, spans[:n, 0]),
            ref=_strings(heap, spans[:n, 1]),
            alt=_strings(heap, spans[:n, 2]),
            qual=_float_view(qual[:n]),
            filter=self._filters(filt, filt_off[: n + 1]),
        )
        chunk._rlen = rlen[:n]
        if self.want_gt:
            chunk.gt, chunk.phased = gt[:n], phased[:n]
        ns = len(self.h.samples)
        for j, key in enumerate(self.info):
            chunk.info[key] = self._convert(buf, info_meta[:n, j], self.h.info[key], 0)
        for j, key in enumerate(self.fmt):
            chunk.fmt[key] = self._convert(buf, fmt_meta[:n, j], self.h.fmt[key], ns)
        return chunk

    def _filters(self, filt, off) -> np.ndarray:
        """FILTER strings: "." (none), the name of one id, or "a;b" (several)."""
        n = len(off) - 1
        counts = np.diff(off)
        names = self.h.strings
        one = counts == 1
        ids = filt[np.minimum(off[:-1], len(filt) - 1)] if len(filt) else np.zeros(n, np.int32)
        lo, hi = (int(ids[one].min()), int(ids[one].max())) if one.any() else (0, -1)
        if hi - lo < 4096:  # a lookup table over the ids used (0: "."), taken whole
            lut = np.array(["."] + [names.get(i, "?") for i in range(lo, hi + 1)], object)
            out = lut[np.where(one, ids.astype(np.int64) - (lo - 1), 0)]
        else:
            out = np.full(n, ".", object)
            uniq, inv = np.unique(ids[one], return_inverse=True)
            out[one] = np.array([names.get(int(u), "?") for u in uniq], object)[inv]
        for i in np.flatnonzero(counts > 1):
            out[i] = ";".join(names.get(int(f), "?") for f in filt[off[i] : off[i + 1]])
        return out

    def _convert(self, buf, meta, decl, ns):
        from biometal.io import _vcf_kernels as K

        number, typ = decl
        n = len(meta)
        meta = np.ascontiguousarray(meta)
        shape = (n,) if ns == 0 else (n, ns)
        if typ == "Flag":
            return meta[:, 0] >= 0
        if typ in ("Integer", "Float"):
            width = 1 if number == "1" else K.max_typed_count(meta)
            if typ == "Integer":
                vals = K.typed_to_ints(buf, meta, ns, width)
            else:
                vals = K.typed_to_float_bits(buf, meta, ns, width).view(np.float32)
            return vals.reshape(shape) if number == "1" else vals.reshape(shape + (width,))
        sp = K.typed_char_spans(meta, ns)
        out = _strings(buf, sp)
        if ns == 0:  # a bare INFO key (a flag) reads as "1", as htslib's
            out[(sp[:, 0] >= 0) & (sp[:, 1] <= sp[:, 0])] = "1"
        return out.reshape(shape)


# ------------------------------------------------------------------------- text output


#: (upper bound, rounding increment in units of 1e-10) of :func:`hts_float_text`
_KPUTD_ROUND = tuple((10.0 ** (k - 3), 5 * 10**k) for k in range(9))


def hts_float_text(d: float) -> str:
    """``d`` as htslib's ``kputd`` writes it, which is how ``bcftools query`` prints every
    Float (QUAL, INFO, FORMAT): six significant digits with halves rounded up (29450.25 ->
    29450.3 where ``%g`` gives 29450.2), trailing zeros and point cut; ``%g`` outside
    [1e-4, 999999]. ``tests/unit/test_vcf_reader.py`` holds it equal to htslib 1.16's
    ``kputd`` (through ctypes) on ~40,000 values."""
    if d == 0:
        return "-0" if math.copysign(1.0, d) < 0 else "0"
    sign = ""
    if d < 0:
        sign, d = "-", -d
    if not (1e-4 <= d <= 999999):
        return f"{sign}{d:g}"
    i = int(d * 1e10)  # as kputd: the product in double, truncated to an integer
    i += next((add for lim, add in _KPUTD_ROUND if d < lim), 5 * 10**9)
    s = str(i)
    if len(s) > 6:  # six significant digits (the increment above rounded the seventh)
        s = s[:6] + "0" * (len(s) - 6)
    s = s.rjust(11, "0")
    return sign + (s[:-10] + "." + s[-10:]).rstrip("0").rstrip(".")


def _text_values(v: np.ndarray, typ: str) -> str:
    """One INFO/FORMAT value as ``bcftools query`` prints it (missing '.', vector ends cut)."""
    if typ == "Flag":
        return "1" if v else "."
    if isinstance(v, str):  # a String value: its text, as the file has it
        return v or "."
    if v.dtype == np.int32:
        out = []
        for x in np.atleast_1d(v).tolist():
            if x == INT_END:
                break
            out.append("." if x == INT_MISSING else str(x))
        return ",".join(out) or "."
    if v.dtype == np.float32:
        out = []
        bits = np.atleast_1d(v).view(np.uint32).tolist()
        for b, x in zip(bits, np.atleast_1d(v).tolist(), strict=True):
            if b == FLOAT_END_BITS:
                break
            out.append("." if b == FLOAT_MISSING_BITS else hts_float_text(x))
        return ",".join(out) or "."
    return str(v)


def query_lines(chunk: VcfChunk, header: VcfHeader, info: Sequence[str], fmt: Sequence[str]):
    """Lines (without newline) as ``bcftools query -f '%CHROM\\t%POS\\t%ID\\t%REF\\t%ALT\\t
    %QUAL\\t%FILTER[\\t%INFO/K...][\\t%GT[\\t%F...]]\\n'`` prints them (GT when read)."""
    itypes = [header.info[k][1] for k in info]
    ftypes = [header.fmt[k][1] for k in fmt]
    for i in range(len(chunk)):
        cols = [chunk.chrom[i], str(chunk.pos[i]), chunk.id[i], chunk.ref[i], chunk.alt[i]]
        cols.append(_text_values(chunk.qual[i : i + 1], "Float"))
        cols.append(chunk.filter[i])
        cols += [_text_values(chunk.info[k][i], t) for k, t in zip(info, itypes, strict=True)]
        for s in range(len(chunk.samples)):
            if chunk.gt is not None:
                sep = "|" if chunk.phased[i, s] else "/"
                al = [a for a in chunk.gt[i, s].tolist() if a != -2]
                cols.append(sep.join("." if a == -1 else str(a) for a in al))
            cols += [_text_values(chunk.fmt[k][i, s], t) for k, t in zip(fmt, ftypes, strict=True)]
        yield "\t".join(cols)


def write_query(
    path: str | os.PathLike,
    output: str | os.PathLike = "-",
    *,
    info: Sequence[str] = (),
    format: Sequence[str] = (),  # noqa: A002 - the VCF word
    gt: bool = True,
    region: str | Sequence[str] | None = None,
    samples: Sequence[str] | None = None,
) -> int:
    """Write the records of ``path`` as tab-separated text (see :func:`query_lines`) to
    ``output`` ('-': stdout; a file is written atomically, gzip by suffix). Returns records."""
    from biometal.io.sinks import output_sink

    name = str(path)
    kind = _kind(name)
    stream = _pieces(name, kind)
    header = _bcf_header(name, stream)[0] if kind == "bcf" else _text_header(name, stream)[0]
    stream.close()
    gt = gt and "GT" in header.fmt
    n = 0
    with output_sink(output) as out:
        for chunk in read_vcf(
            path, info=info, format=format, gt=gt, region=region, samples=samples
        ):
            text = "\n".join(query_lines(chunk, header, info, format))
            out.write((text + "\n").encode())
            n += len(chunk)
    return n
