"""Accuracy of transcript abundances against the simulated truth.

Per method and sample, over every transcript of the truth table (a transcript a method does
not report counts as 0):

* ``spearman``: Spearman rank correlation of estimated and true TPM;
* ``pearson_log``: Pearson correlation of ``log1p(TPM)``;
* ``mard``: mean absolute relative difference, the kallisto paper's definition: mean over
  transcripts of ``|est - true| / (est + true)``, 0 when both are 0 (range 0..1, lower is
  better);
* ``n_transcripts``, ``n_expressed`` (true TPM > 0).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.rnaseq.peers import read_method_quant

ACCURACY_COLUMNS = [
    "method",
    "sample",
    "spearman",
    "pearson_log",
    "mard",
    "n_transcripts",
    "n_expressed",
]


def mard(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Mean of ``|est - true| / (est + true)`` (0 where both are 0)."""
    est = np.asarray(estimate, dtype=np.float64)
    tru = np.asarray(truth, dtype=np.float64)
    denom = est + tru
    ard = np.divide(np.abs(est - tru), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(ard.mean()) if ard.size else 0.0


def spearman(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Spearman rank correlation (ties get average ranks); 0.0 if either is constant."""
    from scipy.stats import rankdata

    a = rankdata(np.asarray(estimate, dtype=np.float64))
    b = rankdata(np.asarray(truth, dtype=np.float64))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def compare(estimate: pd.Series, truth: pd.Series) -> dict:
    """Accuracy metrics of one TPM vector against the truth (aligned on transcript IDs)."""
    est = estimate.reindex(truth.index).fillna(0.0).to_numpy(dtype=np.float64)
    tru = truth.to_numpy(dtype=np.float64)
    return {
        "spearman": spearman(est, tru),
        "pearson_log": float(np.corrcoef(np.log1p(est), np.log1p(tru))[0, 1]),
        "mard": mard(est, tru),
        "n_transcripts": int(tru.size),
        "n_expressed": int((tru > 0).sum()),
    }


def read_truth_tpm(path: str | os.PathLike) -> pd.DataFrame:
    """The simulator's truth TPM table, indexed by transcript_id (one column per sample)."""
    table = pd.read_csv(path, sep="\t").set_index("transcript_id")
    return table.drop(columns=[c for c in ("gene_id", "length", "eff_length") if c in table])


def accuracy_table(
    quants: Iterable[tuple[str, str, str | os.PathLike]],
    truth_tpm: str | os.PathLike,
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Accuracy of every ``(method, sample, quant path)`` against ``truth_tpm``; TSV to ``out``."""
    truth = read_truth_tpm(truth_tpm)
    rows = []
    for method, sample, path in quants:
        if sample not in truth.columns:
            raise BiometalError(f"{truth_tpm}: no truth for sample '{sample}'")
        est = read_method_quant(method, path)["tpm"]
        rows.append({"method": method, "sample": sample, **compare(est, truth[sample])})
    table = pd.DataFrame(rows, columns=ACCURACY_COLUMNS)
    if out is not None:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", lineterminator="\n")
    return table
