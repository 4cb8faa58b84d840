"""Base-quality calibration against the TRUE errors: reported Phred vs a BQSR-style table.

Data (simulated, seeded): a reference (:func:`biometal.simulate.simulate_reference`), truth
variants and haplotypes, and read pairs sequenced with realistic errors
(:data:`REALISTIC`: qualities binned to 4 levels as NovaSeq-class instruments report them,
errors 8x what the quality says after GGC, 5x at homopolymer ends, rising 3x along the read,
two bad cycles). Every error's truth is kept by the simulator (error-truth sidecars).

* training set: pairs mapped with the project's mapper (mappy ``sr``,
  :func:`biometal.variants.mapping.map_reads`); covariates and mismatch labels from
  :func:`biometal.readqc.covariates.aligned_covariates`, truth variant sites excluded (what
  GATK's BaseRecalibrator sees).
* held-out set: other pairs (another seed), never aligned: features of every base from the
  FASTQ (:func:`~biometal.readqc.covariates.read_features`), labels from the simulator's
  truth (substitution or inserted base = error; ``N`` calls are not scored).

Scores per method (held-out bases): ECE in Phred units (1-Q bins of predicted Q, bases
weighted), log-loss (nats/base), and, for the record, MAE and Pearson r against the true
per-base Phred (the simulator's error probability, rounded to integer Q in the sidecar).
Methods: ``reported`` (the FASTQ qualities as they are), ``bqsr`` (the joint table,
:class:`biometal.readqc.bqsr.BqsrTable`), ``bqsr_additive`` (GATK's additive model, no
joint cell). The neural helper adds rows from the same data via :func:`calibration_data`.

    .venv/bin/python bench/readqc_calibration.py --out results/bench/readqc_calibration.tsv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.readqc.bqsr import BqsrTable
from biometal.readqc.experiment import (
    READ_LENGTH,
    REALISTIC,
    AdditiveBqsr,
    calibration_data,
    score,
)

# the experiment lives in biometal.readqc.experiment; these names stay importable from here
# (bench/readqc_model.py and bench/readqc_cost.py use calibration_data and score)
__all__ = ["READ_LENGTH", "REALISTIC", "calibration_data", "score", "variant_effect"]
_Additive = AdditiveBqsr


def variant_effect(data: dict, table: BqsrTable, threads: int = 2) -> pd.DataFrame:
    """Item 4, "does it matter": SNP/indel calls from the training pairs with the reported
    qualities vs with BQSR-recalibrated ones (the table applied to the FASTQ files they were
    fitted from, as BQSR is used; then mapped again). Same mapper, caller
    (:func:`biometal.variants.call.call_variants`, the workflow's ``-q 20 -Q 13``) and
    scoring against the truth VCF (:func:`biometal.readqc.experiment.variant_effect`)."""
    from biometal.readqc import experiment
    from biometal.readqc.recalibrate import recalibrate_fastq
    from biometal.variants.mapping import map_reads

    d = Path(data["workdir"])
    ref = d / "ref.fa"
    for mate in (0, 1):
        recalibrate_fastq(
            d / f"train_R{mate + 1}.fq.gz", d / f"recal_R{mate + 1}.fq.gz", table, mate=mate
        )
    map_reads(
        ref, d / "recal_R1.fq.gz", d / "recal_R2.fq.gz", d / "recal.bam", sample="train",
        threads=threads,
    )  # fmt: skip
    bams = {"reported": d / "train.bam", "bqsr": d / "recal.bam"}
    return experiment.variant_effect(ref, d / "truth.vcf.gz", bams, workdir=d)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="results/bench/readqc_calibration")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--ref-length", type=int, default=1_000_000)
    ap.add_argument("--train-coverage", type=float, default=15.0)
    ap.add_argument("--test-coverage", type=float, default=4.0)
    ap.add_argument("--max-train-bases", type=int, default=12_000_000)
    ap.add_argument("--prior-errors", type=float, default=10.0)
    ap.add_argument("--out", default=None, help="TSV path (default: stdout only)")
    ap.add_argument(
        "--variants",
        default=None,
        metavar="TSV",
        help="also call variants with reported vs recalibrated qualities, write this TSV",
    )
    a = ap.parse_args(argv)
    t0 = time.process_time()
    data = calibration_data(
        a.workdir,
        seed=a.seed,
        ref_length=a.ref_length,
        train_coverage=a.train_coverage,
        test_coverage=a.test_coverage,
        max_train_bases=a.max_train_bases,
    )
    t_data = time.process_time() - t0
    ftr, etr = data["train_features"], data["train_error"]
    fte, ete, pte = data["test_features"], data["test_error"], data["test_p_true"]
    t1 = time.process_time()
    table = BqsrTable.fit(ftr, etr, prior_errors=a.prior_errors)
    t_fit = time.process_time() - t1
    reported = 10.0 ** (-fte.quality.astype(np.float64) / 10.0)
    rows = [
        score("reported", reported, ete, pte),
        score("bqsr", table.error_probability(fte), ete, pte),
        score("bqsr_additive", _Additive(table).error_probability(fte), ete, pte),
        score("true_p", pte, ete, pte),
    ]
    df = pd.DataFrame(rows)
    df.insert(1, "train_bases", len(etr))
    df.insert(2, "train_mismatch_rate", round(float(etr.mean()), 5))
    print(df.to_csv(sep="\t", index=False), end="")
    print(
        f"# data {t_data:.1f} CPU s (cached after the first run), table fit {t_fit:.2f} CPU s",
        file=sys.stderr,
    )
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.out, sep="\t", index=False)
    if a.variants:
        v = variant_effect(data, table)
        print(v.to_csv(sep="\t", index=False), end="")
        Path(a.variants).parent.mkdir(parents=True, exist_ok=True)
        v.to_csv(a.variants, sep="\t", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
