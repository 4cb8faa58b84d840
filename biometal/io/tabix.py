"""A tabix index (``.tbi``) built while a bgzipped VCF is written, not by reading it back.

:class:`VcfTabix` is fed the uncompressed text as it goes into the BGZF stream
(:class:`biometal.io.bgzf.BgzfWriter`, which records each block's compressed and
uncompressed size); on close it turns every record's text offsets into virtual offsets and
builds the index as htslib's ``tbx_index`` + ``hts_idx_push`` / ``hts_idx_finish`` do
(``tabix -p vcf``, ``pysam.tabix_index(preset="vcf")``): the interval of a record is
[POS - 1, max(POS - 1 + len(REF), INFO/END)), one chunk per run of records in the same bin,
the pseudo-bin 37450 with each contig's offsets and record count, the 16 kb linear index
with its gaps filled from the right, bins whose chunks span less than 64 kB of compressed
file merged into their parent, and chunks that start in the block where the previous one
ends merged. tests/unit/test_tabix.py holds it equal to htslib's index (every bin's chunks,
the linear index, the names and settings; only the order of the bins in the file, a hash
table's order in htslib, differs) and checks region queries through htslib with it.

Records tabix would read with SVLEN or FORMAT/LEN (structural variants, ``<*>`` with LEN)
are not handled: :attr:`VcfTabix.supported` is then False and the caller lets htslib index
the finished file. Records must come sorted (contigs together, POS not decreasing), as
VCF writers here write them; otherwise :class:`~biometal.errors.BiometalError`.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from biometal.errors import BiometalError
from biometal.io.bgzf import BgzfWriter

MIN_SHIFT, N_LVLS = 14, 5
#: bins of a 5-level index (0..37448); the pseudo-bin holding each contig's meta data
N_BINS = ((1 << (3 * N_LVLS + 3)) - 1) // 7
META_BIN = N_BINS + 1
#: a bin whose chunks span less compressed bytes than this is merged into its parent
MIN_MARKER_DIST = 0x10000
#: tabix's settings for VCF: preset TBX_VCF, CHROM / POS / no end column, '#', no skip
VCF_CONF = (2, 1, 2, 0, ord("#"), 0)
#: text parsed at a time
_PARSE_BYTES = 1 << 20


def reg2bin(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """htslib's ``hts_reg2bin`` for arrays of 0-based [beg, end) (min_shift 14, 5 levels)."""
    end = end - 1
    out = np.zeros(len(beg), np.int64)
    done = np.zeros(len(beg), bool)
    s, t = MIN_SHIFT, N_BINS - (1 << (3 * N_LVLS))  # first bin of the deepest level
    for level in range(N_LVLS, 0, -1):
        hit = ~done & ((beg >> s) == (end >> s))
        out[hit] = t + (beg[hit] >> s)
        done |= hit
        s += 3
        t -= 1 << (3 * (level - 1))
    return out


def _parent(b: int) -> int:
    return (b - 1) >> 3


class VcfTabix:
    """Collects the tabix intervals of a VCF's text as it is written (see the module)."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._offset = 0  # text offset of the first pending byte
        self._parts: list[np.ndarray] = []  # per parsed piece: [start, end, beg, end, tid]
        self._names: dict[bytes, int] = {}
        self._last_name = b""
        self.supported = True

    def add(self, data: bytes | bytearray | memoryview) -> None:
        """The next bytes of the text, as given to the BGZF writer (whole lines per call
        or not: lines are parsed once complete)."""
        if not self.supported or not len(data):
            return
        self._pending.append(bytes(data))
        self._pending_bytes += len(data)
        if self._pending_bytes >= _PARSE_BYTES:
            self._parse()

    def _parse(self) -> None:
        from biometal.io._vcf_kernels import TBX_COLUMNS, tabix_lines

        text = b"".join(self._pending)
        buf = np.frombuffer(text, np.uint8)
        out = np.empty((text.count(b"\n") + 1, TBX_COLUMNS), np.int64)
        n, status = tabix_lines(buf, out)
        if status == 1:
            self.supported = False
            self._pending, self._pending_bytes, self._parts = [], 0, []
            return
        if status == 2:
            line = text[out[n, 0] : out[n, 0] + 80].split(b"\n")[0]
            raise BiometalError(f"tabix index: a record without POS or REF: {line!r}")
        used = int(out[n - 1, 1]) if n else 0
        rec = out[:n][out[:n, 2] == 1]
        if len(rec):
            # contig ids: a name is looked up only where CHROM changes (flagged by the
            # kernel, always at the buffer's first record); ids grow in file order
            tid = np.zeros(len(rec), np.int64)
            last = self._last_name
            for i in np.flatnonzero(rec[:, 7]).tolist():
                name = text[rec[i, 3] : rec[i, 4]]
                if name != last:
                    if name in self._names:
                        raise BiometalError(
                            f"tabix index: records of {name.decode()} are not together "
                            "(sort the VCF)"
                        )
                    self._names[name] = len(self._names)
                    last = name
                tid[i] = self._names[name]
            tid = np.maximum.accumulate(tid)
            self._last_name = last
            self._parts.append(
                np.stack(
                    [rec[:, 0] + self._offset, rec[:, 1] + self._offset, rec[:, 5], rec[:, 6], tid],
                    axis=1,
                )
            )
        rest = bytes(buf[used:])
        self._offset += used
        self._pending = [rest] if rest else []
        self._pending_bytes = len(rest)

    def add_lines(
        self,
        data: bytes | bytearray | memoryview,
        line_ends: np.ndarray,
        beg: np.ndarray,
        end: np.ndarray,
        name: str,
    ) -> None:
        """Whole record lines of contig ``name`` whose intervals the writer knows (0-based
        ``[beg, end)`` per line, as tabix reads them from POS, REF and INFO/END; each line's
        end offset in ``data``): indexed without parsing the text. What came before must
        end with a newline."""
        if not self.supported or not len(line_ends):
            return
        if self._pending_bytes:
            self._parse()
        if self._pending_bytes:
            raise BiometalError("tabix index: text before a record does not end with a newline")
        key = name.encode()
        if key != self._last_name:
            if key in self._names:
                raise BiometalError(
                    f"tabix index: records of {name} are not together (sort the VCF)"
                )
            self._names[key] = len(self._names)
            self._last_name = key
        ends = np.asarray(line_ends, np.int64) + self._offset
        starts = np.concatenate([[self._offset], ends[:-1]])
        tid = np.full(len(ends), self._names[key], np.int64)
        self._parts.append(np.stack([starts, ends, beg, end, tid], axis=1).astype(np.int64))
        self._offset += len(memoryview(data).cast("B"))

    def complete(self) -> bool:
        """Parse what is pending; True when the index can be built (:attr:`supported`)."""
        if self._pending_bytes:
            self._parse()
        if self._pending_bytes:
            raise BiometalError("tabix index: the VCF text does not end with a newline")
        return self.supported

    def write(self, path: str | os.PathLike, writer: BgzfWriter) -> None:
        """Write the index of the text fed so far to ``path`` (BGZF), with the block sizes
        of ``writer`` (closed: every block written). Call :meth:`complete` first: it must
        have returned True."""
        if not self.complete():
            raise BiometalError("tabix index: records with SVLEN or FORMAT/LEN: use htslib")
        rec = np.concatenate(self._parts) if self._parts else np.zeros((0, 5), np.int64)
        csize = np.asarray(writer.block_sizes, np.int64)
        usize = np.asarray(writer.block_data_sizes, np.int64)
        data = self._index_bytes(rec, csize, usize)
        with BgzfWriter(path, level=6) as out:
            out.write(data)

    def _index_bytes(self, rec: np.ndarray, csize: np.ndarray, usize: np.ndarray) -> bytes:
        ustart = np.concatenate([[0], np.cumsum(usize)])
        cstart = np.concatenate([[0], np.cumsum(csize)])

        def voff(u: np.ndarray) -> np.ndarray:
            # the block holding text offset u; one at a block's end is the next block's 0,
            # as htslib's bgzf_tell gives it after reading up to there
            k = np.searchsorted(ustart, u, side="right") - 1
            return (cstart[k] << 16) | (u - ustart[k])

        start, stop = voff(rec[:, 0]), voff(rec[:, 1])
        beg, end, tid = rec[:, 2], rec[:, 3], rec[:, 4]
        names = list(self._names)
        parts = [struct.pack("<4si", b"TBI\x01", len(names))]
        l_nm = sum(len(x) + 1 for x in names)
        parts.append(struct.pack("<7i", *VCF_CONF, l_nm))
        parts.append(b"".join(x + b"\x00" for x in names))
        bounds = np.searchsorted(tid, np.arange(len(names) + 1))  # ids grow (_parse checks)
        for t in range(len(names)):
            a, b = int(bounds[t]), int(bounds[t + 1])
            parts.append(_contig_index(beg[a:b], end[a:b], start[a:b], stop[a:b], names[t]))
        parts.append(struct.pack("<Q", 0))  # records without coordinates
        return b"".join(parts)


def _contig_index(
    beg: np.ndarray, end: np.ndarray, start: np.ndarray, stop: np.ndarray, name: bytes
) -> bytes:
    """The binning and linear index of one contig's records (file order)."""
    if np.any(np.diff(beg) < 0):
        i = int(np.flatnonzero(np.diff(beg) < 0)[0])
        raise BiometalError(
            f"tabix index: unsorted positions on {name.decode()}: "
            f"{int(beg[i]) + 1} followed by {int(beg[i + 1]) + 1}"
        )
    n = len(beg)
    bins_of = reg2bin(beg, end)
    # hts_idx_push: one chunk per run of records in the same bin, in file order
    new = np.ones(n, bool)
    new[1:] = bins_of[1:] != bins_of[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, n - 1)
    bins: dict[int, list[tuple[int, int]]] = {}
    for b, u, v in zip(
        bins_of[first].tolist(), start[first].tolist(), stop[last].tolist(), strict=True
    ):
        bins.setdefault(b, []).append((u, v))
    # linear index: window w gets the start of the first record covering it; record i
    # covers windows [beg >> 14, (end - 1) >> 14] and sets those no earlier record covers
    # (records come by beg: the earlier ones cover exactly the windows up to their
    # running maximum end window)
    wb, we = beg >> MIN_SHIFT, (end - 1) >> MIN_SHIFT
    reach = np.maximum.accumulate(we)
    lo = np.maximum(wb, np.concatenate([[-1], reach[:-1]]) + 1)
    size = int(reach[-1]) + 1
    linear = np.full(size, -1, np.int64)
    sel = np.flatnonzero(lo <= we)
    counts = (we[sel] - lo[sel] + 1).astype(np.int64)
    idx = np.repeat(lo[sel], counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    linear[idx] = np.repeat(start[sel], counts)
    # gaps take the next window's offset (update_loff)
    valid = np.where(linear >= 0, np.arange(size), size - 1)
    linear = linear[np.minimum.accumulate(valid[::-1])[::-1]]
    # compress_binning: small bins into their parents, deepest level first
    for level in range(N_LVLS, 0, -1):
        first_bin = ((1 << (3 * level)) - 1) // 7
        for b in sorted(k for k in bins if first_bin <= k < N_BINS):
            chunks = bins[b]
            if level < N_LVLS and len(chunks) > 1:
                chunks.sort()
            if (chunks[-1][1] >> 16) - (chunks[0][0] >> 16) < MIN_MARKER_DIST:
                p = _parent(b)
                if p in bins:
                    bins[p].extend(chunks)
                    del bins[b]
    if 0 in bins:
        bins[0].sort()
    for b, chunks in bins.items():  # chunks that start in the block another one ends in
        merged = [chunks[0]]
        for u, v in chunks[1:]:
            if merged[-1][1] >> 16 >= u >> 16:
                if merged[-1][1] < v:
                    merged[-1] = (merged[-1][0], v)
            else:
                merged.append((u, v))
        bins[b] = merged
    bins[META_BIN] = [(int(start[0]), int(stop[-1])), (n, 0)]
    out = [struct.pack("<i", len(bins))]
    for b in sorted(bins):
        chunks = bins[b]
        out.append(struct.pack("<Ii", b, len(chunks)))
        out.append(np.asarray(chunks, "<u8").tobytes())
    out.append(struct.pack("<i", size))
    out.append(linear.astype("<u8").tobytes())
    return b"".join(out)
