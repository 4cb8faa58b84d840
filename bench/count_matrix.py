"""Benchmark: the count-matrix step (CPM, TPM, log2(x + 1), PCA) numpy/BLAS vs numba vs Python.

    python bench/count_matrix.py                       # 20,000 genes x 500 samples
    python bench/count_matrix.py --genes 2000 --samples 50 --reps 2   # a quick try

The plan's "matrix unit" experiment, done on this machine (x86-64, OpenBLAS; no matrix
unit): a seeded negative-binomial count matrix (genes x samples, gene lengths 200-20,000 bp),
then each step three ways:

* ``numpy``: the library's steps (:func:`biometal.rnaseq.matrices.cpm`, ``tpm``,
  ``np.log2(x + 1)``, :func:`biometal.rnaseq.matrices.pca`: full SVD of samples x genes,
  LAPACK/BLAS); for PCA also ``numpy-gram``: BLAS ``X Xᵀ`` + ``eigh``, the numba algorithm;
* ``numba``: :mod:`biometal.rnaseq._matrix_kernels` (loops, ``prange``; PCA = the Gram
  matrix by loops + ``eigh``);
* ``python``: the same loops run by the interpreter, on the first ``--py-genes`` genes and
  extrapolated linearly to all genes (every step is linear in genes; PCA's S x S ``eigh``
  is timed whole and added), marked ``extrapolated``.

Each at 1 thread and at all threads (BLAS via threadpoolctl, numba via its thread count;
numpy's element-wise steps and the interpreter use one thread whatever the setting).
Wall seconds (``perf_counter``, median and min-max of ``--reps``) and CPU seconds of the
process, all threads (``process_time``, median; the fairer measure on a shared machine at
one thread), after one untimed warm-up (numba compiled or loaded from its cache);
implementations interleaved within a repeat.
Every result is checked against numpy's (PCA up to sign) before it is timed. Writes
``count_matrix.tsv`` in ``--out`` and prints it with the ratios to numpy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from biometal._threads import pool_size, set_numba_threads
from biometal.rnaseq import _matrix_kernels as mk
from biometal.rnaseq.matrices import cpm, pca, tpm


def simulate_counts(genes: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts genes x samples float64, lengths bp): NB(size 5) around log-normal means."""
    rng = np.random.default_rng(seed)
    mu = rng.lognormal(3.0, 2.0, size=genes)[:, None] * rng.uniform(0.5, 2.0, size=samples)
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(np.float64)
    return counts, rng.integers(200, 20_000, size=genes).astype(np.float64)


def _time(fn: Callable[[], object]) -> np.ndarray:
    """(wall seconds, CPU seconds of this process, all threads) of ``fn()``."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return np.array([time.perf_counter() - t, time.process_time() - c])


def _check_pca(a: np.ndarray, b: np.ndarray) -> None:
    for j in range(a.shape[1]):
        s = 1.0 if np.dot(a[:, j], b[:, j]) >= 0 else -1.0
        if not np.allclose(a[:, j], s * b[:, j], rtol=1e-6, atol=1e-6 * np.abs(b).max()):
            raise SystemExit(f"error: PCA component {j + 1} differs from numpy's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/bench/count_matrix", type=Path)
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--components", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--py-genes", type=int, default=64, help="genes the interpreter runs")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    counts, lengths = simulate_counts(args.genes, args.samples, args.seed)
    n = args.components
    ref_cpm = cpm(counts)
    ref_log = np.log2(ref_cpm + 1.0)
    ref_pca = pca(pd.DataFrame(ref_log), n)[0]
    sub = slice(0, args.py_genes)
    scale = args.genes / args.py_genes

    def numpy_gram():
        xc = ref_log - ref_log.mean(axis=1, keepdims=True)
        return mk.pca_from_gram(xc.T @ xc, n)

    def py_pca():  # loops on the subsample (extrapolated) + eigh of the whole S x S matrix
        t = _time(lambda: mk.gram_loops(np.ascontiguousarray(ref_log[sub])))
        k = mk.gram(ref_log)
        return t * scale + _time(lambda: mk.pca_from_gram(k, n))

    contenders: dict[tuple[str, str], Callable[[], object]] = {
        ("cpm", "numpy"): lambda: cpm(counts),
        ("cpm", "numba"): lambda: mk.cpm(counts),
        ("cpm", "python"): lambda: mk.cpm_loops(counts[sub]),
        ("tpm", "numpy"): lambda: tpm(counts, lengths),
        ("tpm", "numba"): lambda: mk.tpm(counts, lengths),
        ("tpm", "python"): lambda: mk.tpm_loops(counts[sub], lengths[sub]),
        ("log2p1", "numpy"): lambda: np.log2(ref_cpm + 1.0),
        ("log2p1", "numba"): lambda: mk.log2p1(ref_cpm),
        ("log2p1", "python"): lambda: mk.log2p1_loops(ref_cpm[sub]),
        ("pca", "numpy"): lambda: pca(pd.DataFrame(ref_log), n),
        ("pca", "numpy-gram"): numpy_gram,
        ("pca", "numba"): lambda: mk.pca_gram(ref_log, n),
        ("pca", "python"): py_pca,
    }
    # correctness first (and the numba warm-up)
    np.testing.assert_allclose(mk.cpm(counts), ref_cpm, rtol=1e-12)
    np.testing.assert_allclose(mk.tpm(counts, lengths), tpm(counts, lengths), rtol=1e-12)
    np.testing.assert_allclose(mk.log2p1(ref_cpm), ref_log, rtol=1e-12)
    np.testing.assert_allclose(mk.cpm_loops(counts[sub]), cpm(counts[sub]), rtol=1e-12)
    _check_pca(mk.pca_gram(ref_log, n)[0], ref_pca)
    _check_pca(numpy_gram()[0], ref_pca)

    all_threads = pool_size()
    threads = sorted({1, all_threads})
    times: dict[tuple[str, str, int], list[np.ndarray]] = {}
    for _ in range(args.reps):
        for nt in threads:
            set_numba_threads(nt)
            with threadpool_limits(limits=nt, user_api="blas"):
                for (step, impl), fn in contenders.items():
                    if impl == "python" and nt != 1:
                        continue
                    if impl == "python" and step == "pca":
                        secs = fn()
                    else:
                        secs = _time(fn) * (scale if impl == "python" else 1.0)
                    times.setdefault((step, impl, nt), []).append(secs)
    set_numba_threads(all_threads)
    rows = [
        {
            "step": step,
            "impl": impl,
            "threads": nt,
            "seconds": statistics.median(t[0] for t in v),
            "seconds_min": min(t[0] for t in v),
            "seconds_max": max(t[0] for t in v),
            "cpu_seconds": statistics.median(t[1] for t in v),
            "cpu_seconds_min": min(t[1] for t in v),
            "cpu_seconds_max": max(t[1] for t in v),
            "extrapolated": impl == "python",
        }
        for (step, impl, nt), v in times.items()
    ]
    table = pd.DataFrame(rows)
    base = table[table["impl"] == "numpy"].set_index(["step", "threads"])["seconds"]
    cbase = table[table["impl"] == "numpy"].set_index(["step", "threads"])["cpu_seconds"]
    key = list(zip(table["step"], table["threads"], strict=True))
    walls, cpus = table["seconds"], table["cpu_seconds"]
    table["x_numpy"] = [base.get(k, base[k[0], 1]) / x for k, x in zip(key, walls, strict=True)]
    table["x_numpy_cpu"] = [
        cbase.get(k, cbase[k[0], 1]) / x for k, x in zip(key, cpus, strict=True)
    ]
    table.to_csv(args.out / "count_matrix.tsv", sep="\t", index=False, float_format="%.5g")
    print(
        f"# {args.genes:,} genes x {args.samples} samples, {n} components; "
        f"{os.cpu_count()} CPUs, threads {threads}; {args.reps} repeats; python on "
        f"{args.py_genes} genes, x{scale:g}"
    )
    with pd.option_context("display.width", 160):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
