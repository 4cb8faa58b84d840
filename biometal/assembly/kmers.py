"""Canonical k-mer counting (k <= 63) and the solid-k-mer threshold from the histogram.

Words: each k-mer is min(k-mer, reverse complement) as a 2k-bit integer in two uint64 words
``(hi, lo)`` (see :mod:`biometal.kernels.kmer_count`, which extracts them on the Metal
backend; on the CPU one compiled loop makes the same words from the bases and counts them
at once). Counting inserts them into an open-addressing hash table (``_kernels.py``) that
doubles in place when 3/4 full. Reads are streamed in chunks (memory: the table plus one
chunk).
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from biometal.assembly import _kernels as K
from biometal.errors import ConfigError
from biometal.io.encoding import encode
from biometal.io.fastx import DEFAULT_CHUNK_READS, ReadChunk, read_fastq_chunks
from biometal.kernels.backend import resolve_backend
from biometal.kernels.kmer_count import MAX_K, canonical_kmers

EMPTY = K.EMPTY
_MIN_CAPACITY = 1 << 16


def check_k(k: int) -> int:
    """``k`` as an int in 1..63, or ConfigError naming the key."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise ConfigError(f"k: expected an integer in 1..{MAX_K}, got {k!r}")
    return int(k)


def check_graph_k(k: int) -> int:
    """``k`` for a de Bruijn graph: :func:`check_k` and odd. An even k has k-mers that are
    their own reverse complement (ACGT), whose two strands are one node; the graph kernels
    assume they never occur (with k = 2, 4 or 6 they corrupted the heap)."""
    k = check_k(k)
    if k % 2 == 0:
        raise ConfigError(
            f"k: a de Bruijn graph needs an odd k (an even k has k-mers that are their own "
            f"reverse complement), got {k}"
        )
    return k


@dataclass
class KmerTable:
    """A hash table of canonical k-mers and their counts.

    ``keys_lo`` uint64[capacity], ``counts`` uint32[capacity] (0: an empty slot),
    ``keys_hi`` uint64[capacity] for k > 32, else a 1-element dummy (every high word is 0);
    ``n`` distinct k-mers; ``k`` the k-mer length. Grows (doubles) at 3/4 full.
    """

    k: int
    keys_hi: np.ndarray
    keys_lo: np.ndarray
    counts: np.ndarray
    n: int = 0

    @classmethod
    def empty(cls, k: int, capacity: int = _MIN_CAPACITY) -> KmerTable:
        cap = max(_MIN_CAPACITY, 1 << int(np.ceil(np.log2(max(2, capacity)))))
        k = check_k(k)
        return cls(
            k,
            np.zeros(cap if k > 32 else 1, np.uint64),
            np.zeros(cap, np.uint64),
            np.zeros(cap, np.uint32),
        )

    @property
    def capacity(self) -> int:
        return len(self.counts)

    def occupied(self) -> np.ndarray:
        """bool[capacity]: slots holding a k-mer."""
        return self.counts != 0

    def items(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hi, lo, counts) of the distinct k-mers, in slot order."""
        occ = self.occupied()
        hi = self.keys_hi[occ] if self.k > 32 else np.zeros(int(occ.sum()), np.uint64)
        return hi, self.keys_lo[occ], self.counts[occ]

    def _grow(self) -> None:
        """Double the capacity in place: the arrays are enlarged where they are (see
        :func:`_enlarge`) and rehashed there, so the old and the new table never coexist
        (the layout is the one a fresh table gets from the k-mers in slot order)."""
        old = self.capacity
        _enlarge(self, "counts", 2 * old)
        _enlarge(self, "keys_lo", 2 * old)
        if self.k > 32:
            _enlarge(self, "keys_hi", 2 * old)
        K.table_grow(self.keys_hi, self.keys_lo, self.counts, old)

    def add_words(self, hi: np.ndarray, lo: np.ndarray) -> None:
        """Count k-mer words (EMPTY words, k-mers with N, are skipped)."""
        start = 0
        while start < len(hi):
            start, self.n = K.table_insert(
                self.keys_hi, self.keys_lo, self.counts, hi, lo, start, self.n,
                3 * self.capacity // 4,
            )  # fmt: skip
            if start < len(hi):
                self._grow()

    def add_reads(self, codes: np.ndarray, offsets: np.ndarray, backend: str | None = None) -> None:
        """Count the canonical k-mers of a chunk (codes uint8, offsets int64[n+1]): on Metal
        the kmer_count kernel's words, on the CPU straight from the bases (one compiled
        loop, the same words in the same order, none of them held in memory)."""
        if resolve_backend(backend) == "metal":
            words = canonical_kmers(codes, offsets, self.k, backend=backend)
            self.add_words(words.hi, words.lo)
            return
        codes, offsets = _reads(codes, offsets)
        read, skip, n = 0, 0, len(offsets) - 1
        while True:
            read, skip, self.n = K.table_count_reads(
                self.keys_hi, self.keys_lo, self.counts, codes, offsets, self.k,
                read, skip, self.n, 3 * self.capacity // 4,
            )  # fmt: skip
            if read >= n:
                return
            self._grow()

    def lookup(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """uint32 counts of the given words (0 where absent)."""
        return K.table_lookup(self.keys_hi, self.keys_lo, self.counts, hi, lo)

    def histogram(self, max_count: int = 1000) -> np.ndarray:
        """int64[max_count + 1]: number of distinct k-mers seen c times (the last bin: >=)."""
        return K.table_histogram(self.counts, int(max_count))

    def solid(self, min_count: int) -> KmerTable:
        """A new table with the k-mers counted at least ``min_count`` times."""
        least = max(1, int(min_count))
        out = KmerTable.empty(self.k, 2 * int(np.count_nonzero(self.counts >= least)) + 2)
        out.n = K.table_rehash(self.keys_hi, self.keys_lo, self.counts,
                               out.keys_hi, out.keys_lo, out.counts, least)  # fmt: skip
        return out


def _reads(codes, offsets) -> tuple[np.ndarray, np.ndarray]:
    """codes uint8[n_bases] and offsets int64[n_reads+1] (never decreasing, within codes)
    as contiguous arrays, or ValueError naming the one that is not."""
    codes, offsets = np.ascontiguousarray(codes), np.ascontiguousarray(offsets)
    if codes.ndim != 1 or codes.dtype != np.uint8:
        raise ValueError(f"kmer counting: codes must be a 1-d uint8 array, got {codes.dtype}")
    if offsets.ndim != 1 or len(offsets) < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError("kmer counting: offsets must be a 1-d integer array of n_reads + 1")
    offsets = offsets.astype(np.int64, copy=False)
    if offsets[0] < 0 or offsets[-1] > len(codes) or np.any(np.diff(offsets) < 0):
        raise ValueError("kmer counting: offsets must never decrease and stay within codes")
    return codes, offsets


#: bytes reserved for a growing table's array: above glibc's largest mmap threshold (32 MiB),
#: so it is mapped on its own, its untouched pages cost no memory, and it grows without
#: leaving holes in the heap (freed, a large table raises glibc's threshold, and a table
#: grown on the heap afterwards fragments it: 15 MB more peak with ``-k 0``)
_RESERVE = (32 << 20) + (1 << 16)


#: the allocations :func:`_enlarge` made, by id: only their room behind a table is free
_RESERVED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _enlarge(obj: object, name: str, n: int) -> None:
    """Give ``obj.name`` (a 1-D array) ``n`` entries, the new ones 0, in place where nothing
    else refers to it: within the room reserved behind it, else by resizing a large
    allocation (realloc remaps it: no copy); else into a new reserved allocation."""
    a = getattr(obj, name)
    setattr(obj, name, None)
    old = len(a)
    base = a if a.base is None else a.base
    # references: ``a`` and the call's; ``base``, ``a.base`` and the call's
    if (
        base is not a
        and _RESERVED.get(id(base)) is base
        and sys.getrefcount(a) == 2
        and sys.getrefcount(base) == 3
    ):
        if len(base) >= n:  # reserved room, never written: still 0
            setattr(obj, name, base[:n])
            return
        del a, _RESERVED[id(base)]  # a weak reference blocks a resize
        a = base
    del base
    if a.base is None and a.nbytes >= _RESERVE:  # a mapping of its own: remapped
        try:
            a.resize(n)  # zero-fills the new entries
            setattr(obj, name, a)
            return
        except ValueError:  # referenced elsewhere: copy
            pass
    out = np.zeros(max(n, -(-_RESERVE // a.itemsize)), a.dtype)
    out[:old] = a[:old]
    if len(out) > n:
        _RESERVED[id(out)] = out
        out = out[:n]
    setattr(obj, name, out)


def solid_threshold(hist: np.ndarray, floor: int = 2, min_mass: float = 0.5) -> int:
    """The first valley of a k-mer count histogram (``hist[c]`` = k-mers seen c times): the
    smallest c >= 1 where the count stops falling, i.e. ``hist[c] <= hist[c + 1]``; k-mers
    seen at least that often are solid. ``floor`` when there is no real coverage peak: the
    histogram never rises again, reaches 0 first, or the k-mers at or above the valley are
    fewer than ``min_mass`` of those seen at least twice (a bump of adapter or multi-copy
    k-mers at a depth the genome does not reach)."""
    h = np.asarray(hist, dtype=np.int64)
    for c in range(1, len(h) - 1):
        if h[c + 1] == 0:
            break
        if h[c] <= h[c + 1]:
            if h[c:].sum() < min_mass * h[2:].sum():
                break
            return max(floor, c)
    return floor


def count_chunks(
    chunks: Iterable[ReadChunk | tuple[np.ndarray, np.ndarray]],
    k: int,
    *,
    backend: str | None = None,
) -> KmerTable:
    """Count the canonical k-mers of read chunks (ReadChunk, or (codes, offsets) pairs)."""
    table = KmerTable.empty(k)
    for chunk in chunks:
        if isinstance(chunk, ReadChunk):
            table.add_reads(chunk.codes, chunk.offsets, backend)
        else:
            table.add_reads(chunk[0], chunk[1], backend)
    return table


def count_fastq(
    paths: Sequence[str | os.PathLike],
    k: int,
    *,
    chunk_reads: int = DEFAULT_CHUNK_READS,
    backend: str | None = None,
) -> KmerTable:
    """Count the canonical k-mers of FASTQ files (plain or gzip), streamed in chunks."""
    check_k(k)
    return count_chunks(
        (c for p in paths for c in read_fastq_chunks(p, chunk_reads)), k, backend=backend
    )


def count_sequences(seqs: Sequence[str | bytes], k: int, backend: str | None = None) -> KmerTable:
    """Count the canonical k-mers of in-memory sequences (tests, references)."""
    codes = [encode(s) for s in seqs]
    offsets = np.zeros(len(codes) + 1, np.int64)
    np.cumsum([len(c) for c in codes], out=offsets[1:])
    flat = np.concatenate(codes) if codes else np.zeros(0, np.uint8)
    return count_chunks([(flat.astype(np.uint8), offsets)], check_k(k), backend=backend)
