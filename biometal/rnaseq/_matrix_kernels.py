"""Loops of the count-matrix step (CPM, TPM, log2(x + 1), PCA), for the matrix-unit experiment.

Each step is written once as plain loops over numpy arrays (``*_loops``, no numpy
vectorisation inside) and compiled by numba (``cpm``, ``tpm``, ``log2p1``, ``gram``): the same
source run by the interpreter is ``bench/count_matrix.py``'s "plain Python" contender, and
compiled is its "numba" one (``prange``: the outer loop across numba's threads; in the
interpreter ``prange`` is ``range``). The numpy/BLAS versions are the library's
(:func:`biometal.rnaseq.matrices.cpm`, ``tpm``, ``pca``); tests hold these equal to them.

PCA (:func:`pca_gram`): genes are centred, the samples x samples Gram matrix ``X Xᵀ`` of
the centred log matrix is built by the loops (``S * (S + 1) / 2 * G`` multiply-adds, in gene
blocks that stay in cache), then its eigendecomposition (``np.linalg.eigh``, LAPACK in both
modes: S x S, a few ms at S = 500) gives the scores ``v * sqrt(lambda)`` and variance ratios
``lambda / trace``. Same scores as the SVD of :func:`biometal.rnaseq.matrices.pca` up to sign;
the sign convention is the same (largest |score| positive). Private to biometal.rnaseq; one
numba call graph per file (numba's cache does not follow other files).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: genes per block of the Gram loop: S x BLOCK float64 (1 MB at S = 500) stays in cache.
BLOCK = 256


def cpm_loops(counts: np.ndarray) -> np.ndarray:
    """CPM of genes x samples float64 ``counts`` (a zero column stays zero)."""
    g, s = counts.shape
    totals = np.zeros(s)
    for i in range(g):
        for j in range(s):
            totals[j] += counts[i, j]
    out = np.empty((g, s))
    for i in prange(g):
        for j in range(s):
            out[i, j] = counts[i, j] * (1e6 / totals[j]) if totals[j] > 0 else 0.0
    return out


def tpm_loops(counts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """TPM of genes x samples float64 ``counts`` and per-gene float64 ``lengths`` (bp)."""
    g, s = counts.shape
    out = np.empty((g, s))
    totals = np.zeros(s)
    for i in range(g):
        for j in range(s):
            r = counts[i, j] / lengths[i]
            out[i, j] = r
            totals[j] += r
    for i in prange(g):
        for j in range(s):
            out[i, j] = out[i, j] * (1e6 / totals[j]) if totals[j] > 0 else 0.0
    return out


def log2p1_loops(x: np.ndarray) -> np.ndarray:
    """``log2(x + 1)`` of a 2-D float64 array."""
    g, s = x.shape
    out = np.empty((g, s))
    for i in prange(g):
        for j in range(s):
            out[i, j] = np.log2(x[i, j] + 1.0)
    return out


def gram_loops(x: np.ndarray) -> np.ndarray:
    """S x S ``Xc Xcᵀ`` of genes x samples ``x`` centred per gene (float64, symmetric)."""
    g, s = x.shape
    mean = np.zeros(g)
    for i in range(g):
        acc = 0.0
        for j in range(s):
            acc += x[i, j]
        mean[i] = acc / s
    k = np.zeros((s, s))
    block = np.empty((s, BLOCK))
    for g0 in range(0, g, BLOCK):
        width = min(BLOCK, g - g0)
        for a in range(s):  # centred block, samples x genes, contiguous per sample
            for t in range(width):
                block[a, t] = x[g0 + t, a] - mean[g0 + t]
        for a in prange(s):  # row a of k is this iteration's alone
            for b in range(a, s):
                acc = 0.0
                for t in range(width):
                    acc += block[a, t] * block[b, t]
                k[a, b] += acc
    for a in range(s):
        for b in range(a):
            k[a, b] = k[b, a]
    return k


cpm = njit(cache=True, parallel=True)(cpm_loops)
tpm = njit(cache=True, parallel=True)(tpm_loops)
log2p1 = njit(cache=True, parallel=True)(log2p1_loops)
gram = njit(cache=True, parallel=True)(gram_loops)


def pca_from_gram(k: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores S x n, variance ratio n) from the S x S Gram matrix ``k`` (see the module doc)."""
    lam, vec = np.linalg.eigh(k)
    order = np.argsort(lam)[::-1][:n_components]
    lam_top = np.maximum(lam[order], 0.0)
    scores = vec[:, order] * np.sqrt(lam_top)
    total = float(np.trace(k))
    ratio = lam_top / total if total > 0 else np.zeros(len(order))
    for j in range(scores.shape[1]):
        if scores[np.argmax(np.abs(scores[:, j])), j] < 0:
            scores[:, j] *= -1
    return scores, ratio


def pca_gram(
    log_expr: np.ndarray, n_components: int, *, compiled: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """PCA of genes x samples ``log_expr`` by the Gram matrix: (scores S x n, variance ratio).

    ``compiled=False`` runs the same loops in the interpreter (slow: for benchmarks).
    """
    x = np.ascontiguousarray(log_expr, dtype=np.float64)
    k = gram(x) if compiled else gram_loops(x)
    return pca_from_gram(k, n_components)
