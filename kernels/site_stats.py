"""Per-position site statistics of a pileup region on the resolved backend (site_stats.metal).

Input: ``counts`` uint32[n, 24], the pileup count rows of n consecutive positions
(kernels/pileup.py COLUMNS), and ``ref`` uint8[n], reference base codes (A=0 C=1 G=2 T=3,
anything else 4). One dispatch computes, at every position, the best non-reference base,
the diploid genotype likelihoods (PL) of 0/0, 0/1, 1/1 for REF/that ALT, the called
genotype and its GQ under a heterozygosity prior, the hom-ref reference-confidence GQ of a
gVCF block, QUAL, and the binomial / beta-binomial error tests (phred-scaled), as
biometal.variants.sitestats computes them for candidate sites (single precision here; the
statistics and the exact layout are in site_stats.metal's header).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import metal_runner
from ._checks import c_table, describe
from ._threads import numba_threads
from .backend import resolve_backend

NCOL = 24
#: Columns of the integer output.
INT_COLUMNS = ("alt", "n_ref", "n_alt", "depth", "pl00", "pl01", "pl11", "gt", "gq", "ref_gq")
#: Columns of the float output.
FLOAT_COLUMNS = ("qual", "binomq", "bbq")


class SiteStats(NamedTuple):
    """Per-position statistics (n positions).

    ints    int32[n, 10]  :data:`INT_COLUMNS` (alt: 0-3 A/C/G/T, 4 where REF is not A/C/G/T;
                          gt: 0 = 0/0, 1 = 0/1, 2 = 1/1; PL, GQ phred)
    floats  float32[n, 3] :data:`FLOAT_COLUMNS` (phred; QUAL = -10 log10 P(0/0 | reads))
    """

    ints: np.ndarray
    floats: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """One output column by name (a view)."""
        if name in INT_COLUMNS:
            return self.ints[:, INT_COLUMNS.index(name)]
        return self.floats[:, FLOAT_COLUMNS.index(name)]

    @property
    def pl(self) -> np.ndarray:
        """PL of 0/0, 0/1, 1/1: int32[n, 3] (a view)."""
        return self.ints[:, 4:7]


def _check(counts: Any, ref: Any, theta: float, rho: float) -> np.ndarray:
    c_table("site_stats", "counts", counts, np.uint32, f"uint32[n, {NCOL}]", NCOL)
    ref = np.asarray(ref)
    if ref.dtype != np.uint8 or ref.ndim != 1 or len(ref) != len(counts):
        raise ValueError(
            f"site_stats: ref must be uint8[{len(counts)}] (one code per row), got {describe(ref)}"
        )
    if not 0.0 < float(theta) < 0.5:
        raise ValueError(f"site_stats: theta must be in (0, 0.5), got {theta}")
    if not 0.0 < float(rho) < 1.0:
        raise ValueError(f"site_stats: rho must be in (0, 1), got {rho}")
    if len(counts) >= 2**32:
        raise ValueError("site_stats: more than 2**32-1 positions in one call")
    return np.ascontiguousarray(ref)


def site_stats(
    counts: np.ndarray,
    ref: np.ndarray,
    *,
    theta: float = 0.001,
    rho: float = 0.02,
    backend: str | None = None,
    threads: int | None = None,
) -> SiteStats:
    """Site statistics of every row of ``counts`` (see the module docstring).

    ``theta``: heterozygosity prior (P(0/1) = theta, P(1/1) = theta/2). ``rho``: the
    beta-binomial's intra-site correlation. ``backend``: auto | metal | cpu (None:
    ``$BIOMETAL_BACKEND``). ``threads``: numba threads for this call (None: current count).
    """
    ref = _check(counts, ref, theta, rho)
    n = len(counts)
    if n == 0:
        return SiteStats(np.zeros((0, 10), np.int32), np.zeros((0, 3), np.float32))
    if resolve_backend(backend) == "metal":
        ints, floats = metal_runner.run(
            "site_stats",
            "site_stats",
            n,
            [
                counts,
                ref,
                metal_runner.scalar(n, np.uint32),
                metal_runner.scalar(theta, np.float32),
                metal_runner.scalar(rho, np.float32),
                metal_runner.Output(np.int32, (n, len(INT_COLUMNS))),
                metal_runner.Output(np.float32, (n, len(FLOAT_COLUMNS))),
            ],
        )
        return SiteStats(ints, floats)
    ints = np.zeros((n, len(INT_COLUMNS)), np.int32)
    floats = np.zeros((n, len(FLOAT_COLUMNS)), np.float32)
    if threads == 1:  # no thread pool; the ahead-of-time build where there is one
        from .site_stats_cpu import site_stats_cpu_serial

        site_stats_cpu_serial(counts, ref, np.float32(theta), np.float32(rho), ints, floats, 1)
        return SiteStats(ints, floats)
    from .site_stats_cpu import site_stats_cpu

    with numba_threads(threads) as used:
        chunks = max(1, min(used, n // 1024))  # one per thread; each memoises its own
        site_stats_cpu(counts, ref, np.float32(theta), np.float32(rho), ints, floats, chunks)
    return SiteStats(ints, floats)
