"""BGZF (blocked gzip, the container of BAM, bgzipped VCF and tabix-indexed TSV): read and write.

Reading (:func:`iter_bgzf`): the file is read in large pieces, split at block boundaries
(each block's header carries its size), and the blocks are inflated with ISA-L (``isal``,
about 2x zlib) or zlib, optionally on worker threads (both release the GIL). Every block
is checked: gzip magic and the ``BC`` extra field, the inflated size against ISIZE and,
with ``check_crc``, the CRC32. A file that ends inside a block, or that lacks the 28-byte
end-of-file marker block, is reported as truncated (htslib only warns about the latter;
here it is an error, because a truncated BAM silently loses its last reads).

Writing (:class:`BgzfWriter`): data is cut into blocks of at most 65280 bytes, each
compressed as a raw deflate stream wrapped in the BGZF header/trailer, on ``threads``
workers, and written in order; the EOF marker block is appended on close. The output is
atomic (temporary name, renamed on success) and deterministic in its text and block layout
(no timestamps; with ``threads`` > 1 one block's deflate bytes were seen to differ in rare
runs, text equal, cause not found), and is read by htslib (``bgzip -d``, ``tabix``, ``bcftools``).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from biometal.errors import InputFormatError
from biometal.io.atomic import AtomicWriter

try:  # ISA-L: same deflate format, faster. Optional.
    from isal import isal_zlib as _deflate_lib
except ImportError:  # pragma: no cover - depends on the environment
    _deflate_lib = zlib

#: The empty block htslib appends to every BGZF file (SAM/BAM specification, section 4.1.2).
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: Largest uncompressed payload per block (what htslib's bgzip uses).
MAX_BLOCK_DATA = 0xFF00
_HEADER = struct.Struct("<4BI2BH")  # ID1 ID2 CM FLG MTIME XFL OS XLEN
_BLOCK_PREFIX = bytes.fromhex("1f8b08040000000000ff060042430200")


def _block_size(buf: memoryview, p: int, path: str, file_offset: int) -> int:
    """Total size of the BGZF block starting at ``buf[p]`` (needs >= 12 bytes available)."""
    id1, id2, cm, flg, _mtime, _xfl, _os, xlen = _HEADER.unpack_from(buf, p)
    if id1 != 0x1F or id2 != 0x8B or cm != 8 or not flg & 4:
        raise InputFormatError(
            path,
            None,
            f"not a BGZF file (bad block header at byte {file_offset}); "
            "BAM and bgzipped files start every block with gzip magic 1f 8b and a BC field",
        )
    q, end = p + 12, p + 12 + xlen
    if end > len(buf):
        return -1
    while q + 4 <= end:
        si1, si2, slen = buf[q], buf[q + 1], buf[q + 2] | (buf[q + 3] << 8)
        if si1 == 66 and si2 == 67 and slen == 2:
            return (buf[q + 4] | (buf[q + 5] << 8)) + 1
        q += 4 + slen
    raise InputFormatError(
        path, None, f"not a BGZF file (block at byte {file_offset} has no BC size field)"
    )


def _inflate(block: bytes | memoryview, check_crc: bool) -> bytes:
    xlen = block[10] | (block[11] << 8)
    crc, isize = struct.unpack_from("<II", block, len(block) - 8)
    # output buffer sized by ISIZE + 1 (a BGZF block holds at most 64 KiB; a corrupt ISIZE
    # cannot make it allocate more): ISA-L grows a buffer that fills up before the stream
    # ends (a realloc and copy per block; 1.5% of a dense pileup) and shrinks one left over
    data = _deflate_lib.decompress(block[12 + xlen : -8], -15, min(isize, 1 << 16) + 1)
    if len(data) != isize:
        raise ValueError(f"inflated {len(data)} bytes, block says {isize}")
    if check_crc and _deflate_lib.crc32(data) != crc:
        raise ValueError("CRC32 mismatch")
    return data


class BlockCache:
    """Inflated BGZF blocks of one file by their file offset, up to ``max_bytes`` (then
    none are added): a second pass over the same blocks (a gVCF's indel read windows after
    its pileup) copies instead of inflating them again. Memory is bounded by ``max_bytes``
    whatever the file size."""

    def __init__(self, max_bytes: int = 128 << 20) -> None:
        self.max_bytes = int(max_bytes)
        self.size = 0
        self._blocks: dict[int, bytes] = {}

    def get(self, offset: int) -> bytes | None:
        return self._blocks.get(offset)

    def put(self, offset: int, data: bytes) -> None:
        if self.size + len(data) <= self.max_bytes and offset not in self._blocks:
            self._blocks[offset] = data
            self.size += len(data)


def iter_bgzf(
    path: str | os.PathLike,
    *,
    read_bytes: int = 4 << 20,
    threads: int = 1,
    check_crc: bool = False,
    start: int = 0,
    piece_bytes: int = 4 << 20,
    cache: BlockCache | None = None,
) -> Iterator[bytes]:
    """Yield the decompressed content of a BGZF file, in pieces of whole blocks.

    ``read_bytes``: compressed bytes read at a time; ``piece_bytes``: most decompressed
    bytes per piece (one block more when a single block is larger). Memory is bounded by a
    few of each, whatever the file size and however well it compresses.
    ``threads`` > 1 inflates blocks on that many threads. ``start``: compressed offset of
    the first block (0, or a block offset from an index). ``cache``: inflated blocks kept
    for, and taken from, other passes over the file (:class:`BlockCache`). Raises
    :class:`~biometal.errors.InputFormatError` naming the file for a non-BGZF file, a
    corrupt block, a file that ends inside a block, or a missing end-of-file marker.
    """
    for parts in iter_bgzf_parts(
        path,
        read_bytes=read_bytes,
        threads=threads,
        check_crc=check_crc,
        start=start,
        piece_bytes=piece_bytes,
        cache=cache,
    ):
        yield parts[0] if len(parts) == 1 else b"".join(parts)


def iter_bgzf_parts(
    path: str | os.PathLike,
    *,
    read_bytes: int = 4 << 20,
    threads: int = 1,
    check_crc: bool = False,
    start: int = 0,
    piece_bytes: int = 4 << 20,
    cache: BlockCache | None = None,
) -> Iterator[list[bytes]]:
    """:func:`iter_bgzf`'s pieces before they are joined: each a list of inflated blocks
    (or runs of them), in file order. For a caller that joins them with bytes of its own (a
    BAM reader's partial last record), one copy instead of two."""
    name = str(path)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    pending: Future | None = None
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            offset = start
            rest = b""
            last_block: bytes | memoryview = b""
            while True:
                raw = fh.read(read_bytes)
                buf = memoryview(rest + raw) if rest else memoryview(raw)
                # the blocks are views of buf: no copy of the compressed bytes
                blocks: list[memoryview] = []
                p = 0
                while p + 12 <= len(buf):
                    size = _block_size(buf, p, name, offset + p)
                    if size < 0 or p + size > len(buf):
                        break
                    blocks.append(buf[p : p + size])
                    p += size
                rest = bytes(buf[p:])
                if blocks:
                    last_block = blocks[-1]
                for group in _groups(blocks, piece_bytes):
                    job = _inflate_all(group, pool, check_crc, name, offset, cache)
                    offset += sum(len(b) for b in group)
                    if pending is not None:
                        yield _result(pending)
                    pending = job
                if not raw:
                    break
            if pending is not None:
                yield _result(pending)
                pending = None
            if rest:
                raise InputFormatError(
                    name,
                    None,
                    f"truncated BGZF file: it ends inside a block (last {len(rest)} bytes at "
                    f"byte {offset} are an incomplete block)",
                )
            if last_block != EOF_BLOCK:
                raise InputFormatError(
                    name,
                    None,
                    "truncated BGZF file: the end-of-file marker block is missing "
                    "(the file was cut short or is still being written)",
                )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _groups(blocks: list[memoryview], limit: int) -> Iterator[list[memoryview]]:
    """Consecutive runs of blocks whose inflated sizes (ISIZE) add up to at most ``limit``."""
    group: list[memoryview] = []
    total = 0
    for b in blocks:
        isize = struct.unpack_from("<I", b, len(b) - 4)[0]
        if group and total + isize > limit:
            yield group
            group, total = [], 0
        group.append(b)
        total += isize
    if group:
        yield group


class _Done:
    def __init__(self, value: list[bytes]) -> None:
        self.value = value

    def result(self) -> list[bytes]:
        return self.value


def _inflate_all(
    blocks: list[memoryview],
    pool: ThreadPoolExecutor | None,
    check_crc: bool,
    name: str,
    offset: int,
    cache: BlockCache | None = None,
) -> Future | _Done:
    def run(chunk: list[memoryview], base: int) -> list[bytes]:
        out = []
        pos = base
        for b in chunk:
            data = cache.get(pos) if cache is not None else None
            if data is None:
                try:
                    data = _inflate(b, check_crc)
                except Exception as exc:  # ValueError, zlib.error, isal's IsalError
                    raise InputFormatError(
                        name, None, f"corrupt BGZF block at byte {pos}: {exc}"
                    ) from None
                if cache is not None:
                    cache.put(pos, data)
            out.append(data)
            pos += len(b)
        return out

    if pool is None:
        return _Done(run(blocks, offset))
    n = pool._max_workers  # noqa: SLF001 - size of our own pool
    step = max(1, -(-len(blocks) // n))
    parts, base = [], offset
    for i in range(0, len(blocks), step):
        chunk = blocks[i : i + step]
        parts.append(pool.submit(run, chunk, base))
        base += sum(len(b) for b in chunk)
    return pool.submit(lambda: [d for f in parts for d in f.result()])


def _result(job: Future | _Done) -> list[bytes]:
    return job.result()


def bgzf_block(data: bytes | memoryview, level: int) -> bytes:
    """One BGZF block holding ``data`` (at most :data:`MAX_BLOCK_DATA` bytes).

    Level 0 stores the data uncompressed (deflate "stored" blocks: valid BGZF, no CPU
    spent compressing); levels 1-3 use ISA-L when installed (its range), higher levels zlib.
    """
    if _deflate_lib is not zlib and 1 <= level <= 3:
        comp = _deflate_lib.compress(data, level, -15)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        comp = c.compress(data) + c.flush()
    return b"".join(
        (
            _BLOCK_PREFIX,
            struct.pack("<H", len(comp) + 25),
            comp,
            struct.pack("<II", _deflate_lib.crc32(data) & 0xFFFFFFFF, len(data)),
        )
    )


def _compress_many(data: bytes, level: int) -> bytes:
    view = memoryview(data)
    return b"".join(
        bgzf_block(view[i : i + MAX_BLOCK_DATA], level) for i in range(0, len(view), MAX_BLOCK_DATA)
    )


class BgzfWriter(AtomicWriter):
    """Atomic, deterministic BGZF output; ``write`` bytes, then ``close`` (or use ``with``).

    Data is buffered to ``batch_bytes`` and compressed as whole blocks; with ``threads`` > 1
    on that many workers while the caller goes on (at most ``threads + 1`` batches in
    flight, so memory stays bounded), with 1 on the calling thread. On an exception inside
    ``with`` the temporary file is removed.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        level: int = 1,
        threads: int = 1,
        batch_bytes: int = 1 << 20,
    ) -> None:
        self.level = int(level)
        self.batch_bytes = max(MAX_BLOCK_DATA, int(batch_bytes) // MAX_BLOCK_DATA * MAX_BLOCK_DATA)
        self._threads = max(1, int(threads))
        self._buf: list[bytes] = []
        self._buffered = 0
        self._queue: list[Future] = []
        #: compressed and uncompressed size of every block written (not the EOF marker),
        #: in file order: what a caller needs to turn text offsets into virtual offsets
        self.block_sizes: list[int] = []
        self.block_data_sizes: list[int] = []
        super().__init__(path)

    def _open(self, stack: ExitStack, tmp: Path) -> None:
        self._fh = stack.enter_context(open(tmp, "wb"))
        self._pool = (
            stack.enter_context(ThreadPoolExecutor(max_workers=self._threads))
            if self._threads > 1
            else None
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; full batches are compressed (in the background with threads > 1).

        ``data`` is not copied when it fills whole batches: do not modify it afterwards.
        """
        view = memoryview(data).cast("B")
        if not len(view):
            return
        self._buf.append(view)
        self._buffered += len(view)
        while self._buffered >= self.batch_bytes:
            self._emit(self._take(self.batch_bytes))

    def _take(self, n: int) -> memoryview | bytes:
        """The first ``n`` buffered bytes (a slice when one piece holds them all)."""
        first = self._buf[0]
        if len(first) >= n:
            self._buf[0] = first[n:]
            if not len(self._buf[0]):
                self._buf.pop(0)
            self._buffered -= n
            return first[:n]
        parts, need = [], n
        while need:
            piece = self._buf[0]
            k = min(need, len(piece))
            parts.append(piece[:k])
            if k == len(piece):
                self._buf.pop(0)
            else:
                self._buf[0] = piece[k:]
            need -= k
        self._buffered -= n
        return b"".join(parts)

    def _emit(self, part: memoryview | bytes) -> None:
        if self._pool is None:
            self._put(_compress_many(part, self.level))
            return
        self._queue.append(self._pool.submit(_compress_many, part, self.level))
        while len(self._queue) > self._threads + 1:
            self._put(self._queue.pop(0).result())

    def _put(self, blocks: bytes) -> None:
        """Write compressed blocks and record their sizes (BSIZE + 1, ISIZE)."""
        self._fh.write(blocks)
        p, n = 0, len(blocks)
        while p < n:
            size = struct.unpack_from("<H", blocks, p + 16)[0] + 1
            self.block_sizes.append(size)
            self.block_data_sizes.append(struct.unpack_from("<I", blocks, p + size - 4)[0])
            p += size

    def _finish(self) -> None:
        """Compress what is buffered, write every batch in order, then the EOF marker."""
        if self._buffered:
            self._emit(self._take(self._buffered))
        for job in self._queue:
            self._put(job.result())
        self._queue = []
        self._fh.write(EOF_BLOCK)

    def _cancel(self) -> None:
        for job in self._queue:
            job.cancel()
