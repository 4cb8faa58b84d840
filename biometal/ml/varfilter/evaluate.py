"""The learned variant filter's case study: train on some contigs, score on held-out ones.

For each depth (the sample's BAM, and the same BAM down-sampled): the biometal caller run
with low thresholds gives the candidates (every record, any FILTER), labelled by the truth
(:mod:`biometal.ml.varfilter.data`); their windows (:mod:`biometal.ml.varfilter.features`)
from the training contigs of every depth train one CNN. On the held-out contigs three call
sets are scored against the truth alleles there (genotype-agnostic allele matching, as the
variant case study):

- ``caller``: the biometal caller with the case study's thresholds, FILTER PASS records
  (its own filters: LowQual, ErrorLike, LowDepth);
- ``candidates``: every low-threshold candidate (the recall ceiling of any filter on them);
- ``qual_tuned``: the candidates with QUAL >= the threshold that maximises F1 on the
  training contigs at that depth (a hard filter tuned on the same data as the CNN: the
  simplest learned filter, the bar the CNN has to clear);
- ``learned``: the candidates with P(real) >= ``threshold`` (0.5).

Rows per depth, method and stratum (``all``, ``SNP``, ``INDEL``, ``repeat``, ``low_af``,
``near_indel``): truth alleles in the stratum, TP, FP, FN, precision, recall, F1. The
per-candidate scores (QUAL, P(real), label) are written too, for the precision/recall
curves.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.varfilter import data as D
from biometal.ml.varfilter.features import site_windows
from biometal.ml.varfilter.model import WIDTH
from biometal.ml.varfilter.train import TrainParams, params_dict, predict, save_model, train_filter
from biometal.variants.evaluate import Score

log = logging.getLogger(__name__)

METHODS = ("caller", "candidates", "qual_tuned", "learned")
STRATA = ("all", "SNP", "INDEL", *D.STRATA)
TABLE_COLUMNS = [
    "depth",
    "method",
    "stratum",
    "truth",
    "TP",
    "FP",
    "FN",
    "precision",
    "recall",
    "F1",
]


@dataclass(frozen=True)
class DepthSet:
    """One depth of the sample: its label (``30x``), BAM, candidate VCF (low thresholds) and
    the caller's own VCF (case-study thresholds)."""

    label: str
    bam: str
    candidates: str
    caller: str


def heldout_contigs(reference: str | os.PathLike, heldout: list[str] | None = None) -> list[str]:
    """The held-out contigs: ``heldout`` (checked against the reference) or, when empty, the
    last quarter of the reference's contigs (at least one; at least one left to train)."""
    from biometal.io.bam import reference_contigs

    contigs = list(reference_contigs(reference))
    if heldout:
        missing = [c for c in heldout if c not in contigs]
        if missing:
            raise BiometalError(f"held-out contig '{missing[0]}' is not in {reference}")
        chosen = list(heldout)
    else:
        chosen = contigs[len(contigs) - max(1, len(contigs) // 4) :]
    if len(chosen) >= len(contigs):
        raise BiometalError(
            f"{reference}: {len(contigs)} contig(s); the variant filter needs at least one "
            "contig to train on besides the held-out ones"
        )
    return chosen


def best_threshold(score: np.ndarray, label: np.ndarray, n_truth: int) -> float:
    """The score threshold t maximising F1 of keeping ``score >= t`` (recall over
    ``n_truth`` truth alleles; ties: the highest t)."""
    if not len(score):
        return 0.0
    order = np.argsort(-score, kind="stable")
    s, y = score[order], label[order].astype(np.int64)
    tp = np.cumsum(y)
    kept = np.arange(1, len(s) + 1)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # cut after equal scores
    f1 = 2 * tp[last] / (kept[last] + max(n_truth, 1))
    return float(s[last[int(np.argmax(f1))]])


def _scores(called: set, truth: set, member: dict) -> dict[str, Score]:
    """Score per stratum; ``member[stratum]`` is the set of alleles in it (None: all)."""
    out = {}
    for name, m in member.items():
        c = called if m is None else called & m
        t = truth if m is None else truth & m
        out[name] = Score(tp=len(c & t), fp=len(c - t), fn=len(t - c))
    return out


def run_varfilter(
    reference: str | os.PathLike,
    truth_vcf: str | os.PathLike,
    sets: list[DepthSet],
    table_out: str | os.PathLike,
    scores_out: str | os.PathLike,
    model_out: str | os.PathLike,
    *,
    heldout: list[str] | None = None,
    repeats_bed: str | os.PathLike | None = None,
    params: TrainParams | None = None,
    threshold: float = 0.5,
    width: int = WIDTH,
    min_mapq: int = 0,
    min_baseq: int = 0,
    onnx_out: str | os.PathLike | None = None,
    export_report_out: str | os.PathLike | None = None,
    mlpackage_out: str | os.PathLike | None = None,
    mlpackage_int8_out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Train the filter, score it (module doc); write the table (TSV), the per-candidate
    scores (TSV) and the model (``.pt``); return the table. With ``onnx_out`` the model is
    also exported (:func:`biometal.ml.varfilter.export.export_model`: ONNX checked against
    torch, Core ML packages where paths are given, the JSON report)."""
    params = params or TrainParams()
    test_contigs = set(heldout_contigs(reference, heldout))
    truth = D.load_truth(truth_vcf, reference)
    per_set = []
    for ds in sets:
        calls = D.read_calls(ds.candidates, reference)
        calls["label"] = D.label_calls(calls, truth)
        calls["heldout"] = calls["chrom"].isin(test_contigs).to_numpy()
        x = site_windows(
            reference, ds.bam, ds.candidates, calls, width, min_mapq=min_mapq, min_baseq=min_baseq
        )
        caller = D.read_calls(ds.caller, reference)
        per_set.append((ds, calls, x, caller))
        log.info(
            "%s: %d candidates (%d real), %d held out",
            ds.label,
            len(calls),
            int(calls["label"].sum()),
            int(calls["heldout"].sum()),
        )
    train_x = np.concatenate([x[~c["heldout"].to_numpy()] for _, c, x, _ in per_set])
    train_y = np.concatenate(
        [c["label"].to_numpy()[~c["heldout"].to_numpy()] for _, c, _, _ in per_set]
    )
    model = train_filter(train_x, train_y, params)
    rows = []
    score_tables = []
    test_truth = {k for k in truth if k[0] in test_contigs}
    for ds, calls, x, caller in per_set:
        p = predict(model, x)
        calls["p_real"] = p
        calls["depth"] = ds.label
        score_tables.append(calls)
        test = calls[calls["heldout"]]
        train = calls[~calls["heldout"]]
        n_train_truth = sum(1 for k in truth if k[0] not in test_contigs)
        qual_t = best_threshold(
            train["qual"].fillna(0).to_numpy(float), train["label"].to_numpy(bool), n_train_truth
        )
        log.info("%s: QUAL threshold tuned on the training contigs: %.2f", ds.label, qual_t)
        cand = set(test["key"])
        learned = set(test["key"][test["p_real"].to_numpy() >= threshold])
        own = caller[caller["chrom"].isin(test_contigs) & caller["passed"]]
        called = {
            "caller": set(own["key"]),
            "candidates": cand,
            "qual_tuned": set(test["key"][test["qual"].fillna(0).to_numpy(float) >= qual_t]),
            "learned": learned,
        }
        universe = sorted(test_truth | cand | set(own["key"]))
        af = dict(zip(calls["key"], calls["af"].fillna(0.0), strict=True))
        st = D.strata(universe, reference, truth, af, repeats_bed)
        member: dict = {"all": None}
        member["SNP"] = {k for k in universe if len(k[2]) == len(k[3])}
        member["INDEL"] = {k for k in universe if len(k[2]) != len(k[3])}
        for name in D.STRATA:
            member[name] = {k for k, m in zip(universe, st[name], strict=True) if m}
        for method in METHODS:
            for stratum, s in _scores(called[method], test_truth, member).items():
                n_truth = len(
                    test_truth if member[stratum] is None else test_truth & member[stratum]
                )
                rows.append(
                    (
                        ds.label,
                        method,
                        stratum,
                        n_truth,
                        s.tp,
                        s.fp,
                        s.fn,
                        s.precision,
                        s.recall,
                        s.f1,
                    )
                )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    with atomic_path(table_out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    scores = pd.concat(score_tables, ignore_index=True)
    keep = ["depth", "chrom", "pos", "ref", "alt", "type", "qual", "passed", "af", "dp"]
    keep += ["label", "heldout", "p_real"]
    with atomic_path(scores_out) as tmp:
        scores[keep].to_csv(tmp, sep="\t", index=False, float_format="%.5g")
    meta = {
        "train": params_dict(params),
        "threshold": threshold,
        "heldout": sorted(test_contigs),
        "n_train": int(len(train_y)),
        "n_train_real": int(train_y.sum()),
    }
    save_model(model, model_out, meta)
    log.info("variant filter: %s", json.dumps(meta))
    if onnx_out is not None:
        from biometal.ml.varfilter.export import export_model

        report = export_report_out or f"{onnx_out}.json"
        export_model(model_out, onnx_out, report, mlpackage_out, mlpackage_int8_out)
    return table
