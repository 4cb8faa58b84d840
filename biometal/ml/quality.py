"""Quality-aware k-mer tokenization: masking, per-token weights, probabilistic tokens.

Three ways to use the Phred scores of a read (``p(q) = 10**(-q/10)``, capped at 0.75, the
error probability of a random call):

- **mask**: a k-mer whose minimum base quality is below ``threshold`` becomes ``[MASK]``
  (done in the tokenizer kernel, ``mask_below=threshold``); its label is unknown.
- **weight**: each k-mer token gets the probability that all its bases are right,
  ``w = prod_b (1 - p(q_b))`` (:func:`token_weights`); specials weigh 1, padding 0.
- **probabilistic**: a k-mer with a base below ``threshold`` is replaced by its ``top``
  most likely true k-mers (:func:`candidate_tokens`): base ``b`` is the called base with
  probability ``1 - p(q_b)`` and each other base with ``p(q_b) / 3`` (an ``N`` is any base
  with 1/4), independently; the ``top`` k-mers of highest product probability are found
  exactly (beam search of width ``top``), and their probabilities are renormalised to sum
  to 1. Other tokens keep their id with probability 1.

Positions follow the tokenizer's (k-mer ``j`` starts at base ``j * stride`` of the read or
of its reverse complement, ``[CLS]`` first when ``add_special``), so these arrays line up
with :class:`~biometal.kernels.kmer_tokenize.KmerTokens` ``ids``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from biometal.io.fastx import read_fastq_chunks
from biometal.ml import _kernels

#: error probability of each Phred score 0..255 (capped at 0.75), float64[256]
PHRED_ERROR = np.minimum(10.0 ** (-np.arange(256) / 10.0), 0.75)
_LOG_CORRECT = np.log1p(-PHRED_ERROR)
MODES = ("mask", "weight", "probabilistic")


def token_weights(
    qual: np.ndarray,
    offsets: np.ndarray,
    k: int,
    *,
    stride: int = 1,
    max_length: int = 512,
    add_special: bool = True,
    rc: np.ndarray | None = None,
) -> np.ndarray:
    """float32[n_reads, max_length]: ``prod (1 - p(q))`` over each k-mer token's bases.

    ``[CLS]``/``[SEP]`` weigh 1, padding 0. Arguments as the tokenizer's
    (:meth:`~biometal.ml.tokenizer.KmerTokenizer.encode_arrays`).
    """
    offsets = np.ascontiguousarray(offsets, np.int64)
    rc = np.zeros(len(offsets) - 1, np.uint8) if rc is None else np.ascontiguousarray(rc, np.uint8)
    return _kernels.token_weight_loop(
        np.ascontiguousarray(qual, np.uint8),
        offsets,
        rc,
        k,
        stride,
        max_length,
        bool(add_special),
        _LOG_CORRECT,
    )


def candidate_tokens(
    codes: np.ndarray,
    qual: np.ndarray,
    offsets: np.ndarray,
    lut: np.ndarray,
    ids: np.ndarray,
    k: int,
    *,
    threshold: int = 20,
    top: int = 4,
    stride: int = 1,
    add_special: bool = True,
    rc: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate ids int32[n, L, top], probabilities float32[n, L, top]).

    ``ids`` int32[n, L] are the tokenizer's ids of the same reads (without quality
    masking); positions whose k-mer has no base below ``threshold`` keep ``ids`` with
    probability 1 (other slots: the same id, probability 0). ``lut`` is the tokenizer's
    k-mer index -> id table.
    """
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    offsets = np.ascontiguousarray(offsets, np.int64)
    rc = np.zeros(len(offsets) - 1, np.uint8) if rc is None else np.ascontiguousarray(rc, np.uint8)
    return _kernels.candidate_loop(
        np.ascontiguousarray(codes, np.uint8),
        np.ascontiguousarray(qual, np.uint8),
        offsets,
        rc,
        np.ascontiguousarray(lut, np.int32),
        np.ascontiguousarray(ids, np.int32),
        k,
        stride,
        bool(add_special),
        int(threshold),
        int(top),
        PHRED_ERROR,
    )


def kmer_positions(n_tokens: np.ndarray, max_length: int, add_special: bool = True) -> np.ndarray:
    """bool[n, max_length]: True on k-mer tokens (not [CLS], [SEP] or padding)."""
    cols = np.arange(max_length)[None, :]
    n = np.asarray(n_tokens, np.int64)[:, None]
    if add_special:
        return (cols >= 1) & (cols < n - 1)
    return cols < n


def tokens_affected(
    paths: Sequence[str | os.PathLike],
    thresholds: Sequence[int],
    *,
    k: int = 6,
    stride: int = 1,
    max_length: int = 512,
    max_reads: int = 0,
    chunk_reads: int = 16384,
    backend: str | None = None,
) -> pd.DataFrame:
    """Fraction of k-mer tokens (and reads) that quality-aware tokenization changes.

    For each threshold T: a token is affected when its k-mer has a base with Phred < T
    (masked in mask mode, replaced by candidates in probabilistic mode). Streams ``paths``
    (up to ``max_reads`` reads in all; 0 = every read). Returns one row per threshold:
    ``threshold, reads, tokens, tokens_affected, fraction_tokens, fraction_reads,
    mean_weight`` (mean :func:`token_weights` of the k-mer tokens, threshold-free).
    """
    from biometal.ml.tokenizer import KmerTokenizer

    tok = KmerTokenizer(k, stride, backend=backend)
    thresholds = [int(t) for t in thresholds]
    n_reads = n_tokens = 0
    weight_sum = 0.0
    hist = np.zeros(257, np.int64)  # k-mer tokens by minimum quality
    reads_hist = np.zeros(257, np.int64)  # reads by their lowest k-mer minimum quality
    done = False
    for path in paths:
        for chunk in read_fastq_chunks(path, chunk_reads):
            if max_reads and n_reads + len(chunk) > max_reads:
                take = max_reads - n_reads
                end = int(chunk.offsets[take])
                chunk = type(chunk)(chunk.codes[:end], chunk.qual[:end], chunk.offsets[: take + 1])
                done = True
            toks = tok.encode_chunk(chunk, max_length=max_length)
            is_kmer = kmer_positions(toks.n_tokens, max_length)
            mq = toks.min_qual[is_kmer]
            hist += np.bincount(mq, minlength=257)[:257]
            low = np.where(is_kmer, toks.min_qual, 255).min(axis=1) if len(chunk) else mq
            reads_hist += np.bincount(low, minlength=257)[:257]
            w = token_weights(chunk.qual, chunk.offsets, k, stride=stride, max_length=max_length)
            weight_sum += float(w[is_kmer].sum(dtype=np.float64))
            n_reads += len(chunk)
            n_tokens += int(is_kmer.sum())
            if done or (max_reads and n_reads >= max_reads):
                break
        if done or (max_reads and n_reads >= max_reads):
            break
    rows = []
    for t in thresholds:
        affected = int(hist[: max(t, 0)].sum())
        rows.append(
            {
                "threshold": t,
                "reads": n_reads,
                "tokens": n_tokens,
                "tokens_affected": affected,
                "fraction_tokens": affected / n_tokens if n_tokens else 0.0,
                "fraction_reads": float(reads_hist[: max(t, 0)].sum()) / n_reads
                if n_reads
                else 0.0,
                "mean_weight": weight_sum / n_tokens if n_tokens else 0.0,
            }
        )
    return pd.DataFrame(rows)


def write_tokens_affected(
    paths: Sequence[str | os.PathLike], thresholds: Sequence[int], out: str | os.PathLike, **kw
) -> pd.DataFrame:
    """:func:`tokens_affected`, written atomically as a TSV to ``out``."""
    from biometal.io.atomic import atomic_path

    table = tokens_affected(paths, thresholds, **kw)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table
