"""Overlapping k-mer tokenization of a chunk of reads on the resolved compute backend.

Input layout (the streaming FASTQ reader's chunk): ``codes uint8[n_bases]`` (A=0 C=1 G=2
T=3, >= 4 for N / IUPAC / anything else), ``qual uint8[n_bases]`` (Phred), ``offsets
int64[n_reads+1]``. ``lut int32[4**k]`` maps a k-mer index (2 bits per base in that code
order, first base most significant) to a token id; the vocabulary's special ids come in
``special = (pad, unk, cls, sep, mask)``.

Output per read (row of ``max_length`` slots): ``[CLS] kmer_0 kmer_stride ... [SEP] [PAD]...``
(without the specials when ``add_special=False``). k-mer ``j`` starts at base ``j*stride``;
a read shorter than ``k`` has no k-mers; a read with more k-mers than fit is truncated on
the right (DNABERT's convention). A k-mer containing a code >= 4 is ``[UNK]``. With
``mask_below > 0`` a k-mer whose minimum base quality is below it becomes ``[MASK]``
(quality-aware masking). ``rc[r] = 1`` tokenizes the reverse complement of read ``r``.
``min_qual`` gives each k-mer token's minimum base quality (255 for specials and padding).

Backends give identical outputs (integers only): ``metal`` runs kmer_tokenize.metal, one GPU
thread per read; ``cpu`` runs the numba twin (kmer_tokenize_cpu.py), one prange iteration
per read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import metal_runner
from ._checks import offsets_vector, uint8_vector
from .backend import resolve_backend

#: largest k the kernels take (a k-mer index must fit in 32 bits; lut has 4**k entries).
MAX_K = 15
_U32_MAX = 2**32 - 1


class KmerTokens(NamedTuple):
    """Tokens of one chunk (n = reads, L = max_length).

    ids       int32[n, L]   token ids, [PAD] after the last token of each read
    n_tokens  uint32[n]     tokens per read, specials included (the attention length)
    min_qual  uint8[n, L]   minimum base quality of each k-mer token (255: special/pad)
    """

    ids: np.ndarray
    n_tokens: np.ndarray
    min_qual: np.ndarray

    @property
    def attention_mask(self) -> np.ndarray:
        """uint8[n, L]: 1 on real tokens (specials included), 0 on padding."""
        cols = np.arange(self.ids.shape[1], dtype=np.uint32)
        return (cols[None, :] < self.n_tokens[:, None]).astype(np.uint8)


def _check(
    codes: Any,
    qual: Any,
    offsets: Any,
    lut: Any,
    rc: Any,
    k: int,
    stride: int,
    max_length: int,
    add_special: bool,
    mask_below: int,
    special: Sequence[int],
) -> tuple:
    codes = uint8_vector("kmer_tokenize", "codes", codes)
    if qual is None:
        qual = np.full(len(codes), 255, np.uint8)
    else:
        qual = uint8_vector("kmer_tokenize", "qual", qual)
    if len(qual) != len(codes):
        raise ValueError(
            f"kmer_tokenize: codes and qual must have the same length, got {len(codes)} "
            f"and {len(qual)}"
        )
    offsets = offsets_vector("kmer_tokenize", "offsets", offsets, len(codes))
    if not 1 <= k <= MAX_K:
        raise ValueError(f"kmer_tokenize: k must be in 1..{MAX_K}, got {k}")
    if not 1 <= stride:
        raise ValueError(f"kmer_tokenize: stride must be >= 1, got {stride}")
    lut = np.ascontiguousarray(lut, dtype=np.int32)
    if lut.shape != (4**k,):
        raise ValueError(f"kmer_tokenize: lut must have 4**k = {4**k} entries, got {lut.shape}")
    min_len = 2 if add_special else 1
    if not min_len <= max_length <= _U32_MAX:
        raise ValueError(f"kmer_tokenize: max_length must be >= {min_len}, got {max_length}")
    if not 0 <= mask_below <= 256:
        raise ValueError(f"kmer_tokenize: mask_below must be in 0..256, got {mask_below}")
    special = np.asarray(special, dtype=np.int32)
    if special.shape != (5,):
        raise ValueError("kmer_tokenize: special must be (pad, unk, cls, sep, mask) ids")
    n = len(offsets) - 1
    if rc is None:
        rc = np.zeros(n, np.uint8)
    rc = np.ascontiguousarray(rc, dtype=np.uint8)
    if rc.shape != (n,):
        raise ValueError(f"kmer_tokenize: rc must have one flag per read ({n}), got {rc.shape}")
    return codes, qual, offsets, lut, rc, special


def _metal(codes, qual, offsets, lut, rc, k, stride, max_length, add_special, mask_below, special):
    n = len(offsets) - 1
    params = np.array(
        [k, stride, max_length, int(add_special), mask_below, *special.tolist(), n], np.uint32
    )
    ids, n_tokens, min_qual = metal_runner.run(
        "kmer_tokenize",
        "kmer_tokenize",
        n,
        [
            codes,
            qual,
            offsets.view(np.uint64),
            lut,
            rc,
            params,
            metal_runner.Output(np.int32, (n, max_length)),
            metal_runner.Output(np.uint32, (n,)),
            metal_runner.Output(np.uint8, (n, max_length)),
        ],
    )
    return KmerTokens(ids, n_tokens, min_qual)


def kmer_tokenize(
    codes: np.ndarray,
    qual: np.ndarray | None,
    offsets: np.ndarray,
    lut: np.ndarray,
    k: int,
    *,
    stride: int = 1,
    max_length: int = 512,
    add_special: bool = True,
    mask_below: int = 0,
    special: Sequence[int] = (0, 1, 2, 3, 4),
    rc: np.ndarray | None = None,
    backend: str | None = None,
) -> KmerTokens:
    """k-mer tokens of every read of a chunk (see the module docstring for conventions).

    ``qual`` may be None (no qualities: every ``min_qual`` is 255 and nothing is masked).
    ``backend``: auto | metal | cpu, or None for ``$BIOMETAL_BACKEND`` / auto.
    Raises ValueError for malformed input and BackendError for an unusable backend.
    """
    codes, qual, offsets, lut, rc, special = _check(
        codes, qual, offsets, lut, rc, k, stride, max_length, add_special, mask_below, special
    )
    args = (k, stride, max_length, add_special, mask_below)
    if resolve_backend(backend) == "metal":
        return _metal(codes, qual, offsets, lut, rc, *args, special)
    from .kmer_tokenize_cpu import kmer_tokenize_cpu  # numba import is slow: only when used

    ids, n_tokens, min_qual = kmer_tokenize_cpu(
        codes, qual, offsets, lut, rc, k, stride, max_length, bool(add_special), mask_below, special
    )
    return KmerTokens(ids, n_tokens, min_qual)
