"""The case study's tables: caller scores (eval.tsv) with their cost from Snakemake benchmarks.

``eval.tsv`` columns: sample, caller, type (SNP / INDEL), TP, FP, FN, precision, recall,
F1, wall_s, max_rss_mb. ``wall_s`` and ``max_rss_mb`` come from the Snakemake
``benchmark:`` files of the calling jobs (pileup + calling for biometal; ``bcftools
mpileup | bcftools call`` for bcftools; freebayes): wall seconds summed over a caller's
jobs, peak RSS the maximum. Mapping is shared by all callers and not included.

Callers: ``biometal`` (FILTER PASS records), every peer with all its records (what the
tool writes; bcftools call -mv applies no filter), and ``bcftools_q20``: the same bcftools
records with QUAL >= 20, the usual hard filter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from biometal.io.atomic import atomic_path
from biometal.io.tables import read_benchmark
from biometal.variants.evaluate import TYPES, load_alleles, score

EVAL_COLUMNS = [
    "sample",
    "caller",
    "type",
    "TP",
    "FP",
    "FN",
    "precision",
    "recall",
    "F1",
    "wall_s",
    "max_rss_mb",
]


def benchmark_cost(paths: Sequence[str | os.PathLike]) -> tuple[float, float]:
    """(summed wall seconds, max RSS in MB) of Snakemake benchmark files (NaN if none)."""
    wall, rss = 0.0, float("nan")
    if not paths:
        return float("nan"), float("nan")
    for p in paths:
        cost = read_benchmark(p)
        wall += cost["wall_s"]
        if pd.notna(cost["max_rss_mb"]):
            value = cost["max_rss_mb"]
            rss = value if pd.isna(rss) else max(rss, value)
    return wall, rss


def evaluate_callers(
    sample: str,
    truth: str | os.PathLike,
    reference: str | os.PathLike,
    calls: Mapping[str, str | os.PathLike],
    benchmarks: Mapping[str, Sequence[str | os.PathLike]],
) -> pd.DataFrame:
    """Rows of eval.tsv for one sample: every caller in ``calls`` (name -> VCF)."""
    truth_alleles = load_alleles(truth, reference, pass_only=False)
    rows = []
    for caller, vcf in calls.items():
        variants = [(caller, dict(pass_only=caller == "biometal"))]
        if caller == "bcftools":
            variants.append(("bcftools_q20", dict(pass_only=False, min_qual=20.0)))
        for name, opts in variants:
            alleles = load_alleles(vcf, reference, **opts)
            wall, rss = benchmark_cost(benchmarks.get(caller, ()))
            for t, s in score(alleles, truth_alleles).items():
                rows.append(
                    {
                        "sample": sample,
                        "caller": name,
                        "type": t,
                        "TP": s.tp,
                        "FP": s.fp,
                        "FN": s.fn,
                        "precision": s.precision,
                        "recall": s.recall,
                        "F1": s.f1,
                        "wall_s": wall,
                        "max_rss_mb": rss,
                    }
                )
    return pd.DataFrame(rows, columns=EVAL_COLUMNS)


def write_eval(table: pd.DataFrame, out: str | os.PathLike) -> None:
    """Write eval.tsv atomically (6 significant digits)."""
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


__all__ = ["EVAL_COLUMNS", "TYPES", "benchmark_cost", "evaluate_callers", "write_eval"]
