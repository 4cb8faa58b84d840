"""Canonical k-mers (k <= 63) of a chunk of reads on the resolved compute backend.

Input layout (the streaming FASTQ reader's chunk): ``codes uint8[n_bases]`` (A=0 C=1 G=2
T=3, >= 4 for N / IUPAC / anything else) and ``offsets int64[n_reads+1]``.

Output: :class:`KmerWords` ``hi, lo uint64[n_slots]``, one entry per k-mer position of every
read in read order (a read of length ``len`` has ``max(0, len - k + 1)`` positions). Each is
the canonical k-mer, min(k-mer, reverse complement) as a 2k-bit integer (2 bits per base,
first base most significant), split as ``lo`` = low 64 bits and ``hi`` = the bits above (0
for k <= 32). A position whose k-mer contains a code >= 4 holds ``hi = lo = 2**64 - 1``
(:data:`INVALID`); :func:`valid_mask` selects the others.

Counting happens on the CPU (biometal.assembly.kmers: an open-addressing hash table over
these words); kmer_count.metal says why the GPU kernel stops at extraction. Backends give
identical words: ``metal`` runs kmer_count.metal, one GPU thread per read; ``cpu`` the numba
twin (kmer_count_cpu.py), one prange iteration per read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import metal_runner
from ._checks import offsets_vector, uint8_vector
from ._threads import numba_threads
from .backend import resolve_backend

#: largest k (2k bits must fit in two 64-bit words with hi != 2**64 - 1).
MAX_K = 63
#: the word marking a k-mer position that holds an N (or any code >= 4).
INVALID = np.uint64(0xFFFFFFFFFFFFFFFF)


class KmerWords(NamedTuple):
    """Canonical k-mers of one chunk: ``hi``/``lo`` uint64[n_slots] (see the module doc)."""

    hi: np.ndarray
    lo: np.ndarray

    def valid_mask(self) -> np.ndarray:
        """bool[n_slots]: positions whose k-mer has only A/C/G/T."""
        return self.hi != INVALID


def kmer_slots(offsets: np.ndarray, k: int) -> np.ndarray:
    """int64[n_reads+1]: first output slot of each read (prefix sum of max(0, len-k+1))."""
    n_pos = np.maximum(np.diff(offsets) - (k - 1), 0)
    slots = np.zeros(len(offsets), np.int64)
    np.cumsum(n_pos, out=slots[1:])
    return slots


def canonical_kmers(
    codes: Any,
    offsets: Any,
    k: int,
    *,
    backend: str | None = None,
    threads: int | None = None,
) -> KmerWords:
    """Canonical k-mer words of every k-mer position of every read (see the module doc).

    ``k`` in 1..63. ``backend``: auto | metal | cpu (None: ``$BIOMETAL_BACKEND`` / auto).
    ``threads``: numba threads for the cpu backend (None: numba's current count).
    Raises ValueError for malformed input and BackendError for an unusable backend.
    """
    codes = uint8_vector("kmer_count", "codes", codes)
    offsets = offsets_vector("kmer_count", "offsets", offsets, len(codes))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise ValueError(f"kmer_count: k must be an integer in 1..{MAX_K}, got {k!r}")
    k = int(k)
    slots = kmer_slots(offsets, k)
    n_reads = len(offsets) - 1
    n_slots = int(slots[-1])
    if resolve_backend(backend) == "metal":
        hi, lo = metal_runner.run(
            "kmer_count",
            "kmer_count",
            n_reads,
            [
                codes,
                offsets.view(np.uint64),
                slots.view(np.uint64),
                np.array([k, n_reads], np.uint32),
                metal_runner.Output(np.uint64, (n_slots,)),
                metal_runner.Output(np.uint64, (n_slots,)),
            ],
        )
        return KmerWords(hi, lo)
    from .kmer_count_cpu import kmer_count_cpu  # numba import is slow: only when used

    hi = np.empty(n_slots, np.uint64)
    lo = np.empty(n_slots, np.uint64)
    with numba_threads(threads):
        kmer_count_cpu(codes, offsets, slots, k, hi, lo)
    return KmerWords(hi, lo)
