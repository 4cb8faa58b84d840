"""Pseudoalignment: the equivalence class of each read (pair), numba-parallel over a chunk.

A read's class is the intersection of the classes of its k-mers that are in the index
(absent k-mers are ignored, as in kallisto); a pair's is the intersection over both mates.
The reads whose intersection is empty are not pseudoaligned. Single-end reads then keep only
the transcripts in which a fragment of the mean length, starting at the read, fits (kallisto's
default; ``single_overhang`` turns it off).

Skipping along unitigs (kallisto's idea, checked more strictly): the k-mers of one unitig of
the index share its class and a unitig has no branches, so after a hash hit the read is
compared base by base with the unitig's stored sequence; every k-mer that matches is on the
unitig and needs no lookup. The scan resumes with a lookup past the unitig's end or, at a
mismatch (sequencing error, variant, N), at the first window past the differing base:
kallisto instead looks those windows up one by one, where they mostly miss and now and then
hit an unrelated class by chance. An error-free 100 bp read inside one unitig costs one hash
lookup instead of 70. The rolling k-mer is updated base by base (each base read once).

Prefetching: the hash table (16 MiB on the default index) is larger than the cache, so a
read's first lookup is a cache miss that the rest of the read's work (a few hundred ns) could
hide. The kernel rolls the first k-mer of the read two reads ahead, issues a prefetch of its
table slot (``llvm.prefetch``, a hint that changes no result) and hands the rolled k-mer to
the scan when that read comes up. Pseudoalignment of 1M pairs in process, one thread
(``python bench/rnaseq_ab.py``, CPU s, median (min-max) of 3 runs): 0.66 (0.55-0.76) before,
0.47 (0.47-0.50) after.

Measured (``python bench/rnaseq_quant.py``, default simulated sample, 200k pairs x 2 x 100
bp, one core of the 2-core reference machine): pseudoalignment 0.20 s (~1M pairs/s) against
5.4 s for looking up every k-mer (27x); decompressing and parsing the two gzip files takes
0.35 s, so pseudoalignment is ~37% of the in-process work and the hash lookups themselves
less than that.

Metal decision: no Metal kernel for k-mer hashing/lookup. With skipping, lookups are a
minor share of the time (above), the remaining work per read is a data-dependent walk
(lookup -> compare -> jump) that diverges across SIMT lanes, and a GPU-friendly exhaustive
lookup would do ~27x more lookups than the CPU path does. Even an infinitely fast lookup
would leave decompression, parsing and process start-up (about 1 s of CPU per job,
Python + numba) untouched. No Apple GPU was available to measure; this is an Amdahl bound
from the CPU measurement, written down in the README.

Classes that are not classes of the index (an intersection of two classes that no single
k-mer has) get new ids, numbered after the index's in order of first appearance, by an
:class:`ECRegistry` shared by every chunk of a sample (so ids, and results, do not depend on
the chunk size or the number of threads).
"""

from __future__ import annotations

import numpy as np

from biometal.io import ReadChunk
from biometal.rnaseq.kmer_index import KmerIndex


class ECRegistry:
    """The classes of one quantification: the index's, then the new ones met in the reads."""

    def __init__(self, index: KmerIndex) -> None:
        self.index = index
        self.n_index = index.n_ecs
        self._new: dict[bytes, int] = {}
        self._new_sets: list[np.ndarray] = []

    def __len__(self) -> int:
        return self.n_index + len(self._new_sets)

    @property
    def n_new(self) -> int:
        return len(self._new_sets)

    def add(self, transcripts: np.ndarray) -> int:
        """Id of the class with these (sorted, distinct) transcripts, new if needed."""
        key = np.ascontiguousarray(transcripts, dtype=np.int32).tobytes()
        e = self._new.get(key)
        if e is None:
            e = len(self)
            self._new[key] = e
            self._new_sets.append(np.frombuffer(key, np.int32))
        return e

    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """(ec_off int64[n+1], ec_tx int32) of every class, index classes first."""
        if not self._new_sets:
            return self.index.ec_off, self.index.ec_tx
        sizes = np.fromiter((s.size for s in self._new_sets), np.int64, len(self._new_sets))
        off = np.concatenate([self.index.ec_off, self.index.ec_off[-1] + np.cumsum(sizes)])
        return off, np.concatenate([self.index.ec_tx, *self._new_sets])


def pseudoalign(
    index: KmerIndex,
    registry: ECRegistry,
    r1: ReadChunk,
    r2: ReadChunk | None = None,
    *,
    single_overhang: int = 0,
    serial: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Classes of the reads of one chunk (``r2``: the mates, same number of reads).

    ``single_overhang`` (bp, single-end only): when > 0, a transcript stays in a read's class
    only if a fragment that long, starting at the read, fits inside it (kallisto's default
    for single-end reads; 0 keeps every transcript of the intersection).
    Returns ``ec`` int64[n] (class id in ``registry``, -1 when not pseudoaligned) and
    ``flen`` int32[n] (fragment length of pairs that pseudoalign to one transcript and whose
    mates' first k-mers place on it, else -1). ``serial``: on the calling thread only (the
    ahead-of-time build of the kernel, no numba to import; same classes), else across
    numba's threads.
    """
    from biometal.rnaseq import _kernels

    paired = r2 is not None
    c2, o2 = (r2.codes, r2.offsets) if paired else (r1.codes[:0], r1.offsets[:1])
    kernel = _kernels.pseudoalign_chunk_serial if serial else _kernels.pseudoalign_chunk
    ec, flen = kernel(
        r1.codes,
        r1.offsets,
        c2,
        o2,
        paired,
        index.k,
        index.table,
        index.contig_len,
        index.contig_ec,
        index.useq,
        index.uoff,
        index.ec_off,
        index.ec_tx,
        index.pl_off,
        index.pl_tx,
        index.pl_pos,
        index.pl_fw,
        index.max_ec_size,
        index.n_transcripts,
        index.lengths,
        int(single_overhang) if not paired else 0,
    )
    new = np.flatnonzero(ec == -2)
    if new.size:
        hashes, ids = index.ec_hash_table()
        known, set_off, set_tx = _kernels.new_sets(
            new,
            r1.codes,
            r1.offsets,
            c2,
            o2,
            paired,
            index.k,
            index.table,
            index.contig_len,
            index.contig_ec,
            index.useq,
            index.uoff,
            index.ec_off,
            index.ec_tx,
            index.max_ec_size,
            hashes,
            ids,
            index.pl_off,
            index.pl_tx,
            index.pl_pos,
            index.pl_fw,
            index.lengths,
            int(single_overhang) if not paired else 0,
        )
        for q in np.flatnonzero(known == -2).tolist():
            known[q] = registry.add(set_tx[set_off[q] : set_off[q + 1]])
        ec[new] = known
    return ec, flen


def kmer_classes(index: KmerIndex, chunk: ReadChunk) -> list[list[int]]:
    """Class of every k-mer of every read, exhaustively (-1 absent). Reference for tests."""
    from biometal.rnaseq import _kernels

    flat = _kernels.read_kmer_classes(
        chunk.codes, chunk.offsets, index.k, index.table, index.contig_ec
    )
    off = chunk.offsets
    return [
        flat[off[r] : max(off[r], off[r + 1] - index.k + 1)].tolist() for r in range(len(chunk))
    ]
