"""The read-QC experiment: base-quality calibration, masking, variant calls and trimming,
scored against the simulator's truth (the workflow's ``read_qc`` target and the benchmarks).

Data (:func:`simulate_readqc`, seeded): a reference, truth variants and haplotypes, and two
read-pair sets sequenced with realistic errors (:data:`REALISTIC`: qualities binned to 4
levels, 8x errors after GGC, 5x at homopolymer ends, errors rising 3x along the read, two
bad cycles), every error's truth kept in sidecars.

* training set: mapped with the project's mapper (mappy ``sr``,
  :func:`biometal.variants.mapping.map_reads`); covariates and mismatch labels of aligned
  bases outside the truth variants (:func:`training_arrays`, what GATK's BaseRecalibrator
  sees).
* held-out set: never aligned; every non-``N`` base of its FASTQ with the simulator's truth
  (:func:`heldout_arrays`: substitution or inserted base = error).

Scores (:func:`score`, :func:`calibration_tables`): ECE in Phred units, log-loss, MAE and
Pearson r against the true per-base Phred, calibration curves, error by cycle and by the 3
bases before a base; :func:`masking_table`: share of the true errors removed when the same
fraction of bases is kept by reported vs recalibrated quality; :func:`variant_effect`: SNP
and indel calls with reported vs recalibrated qualities; :func:`trimming_table`: adapter
trimming against the simulator's insert truth with each tool's cost.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.readqc.covariates import CONTEXT, BaseFeatures

#: read length of the simulated read-QC data (bp)
READ_LENGTH = 150
#: the realistic error model of the experiment (keys of config ``simulate.errors``).
REALISTIC: dict = dict(
    sub_rate_start=0.002,
    sub_rate_end=0.02,
    motif_error_factor=8.0,
    motifs=("GGC",),
    homopolymer_error_factor=5.0,
    homopolymer_min=4,
    end_error_factor=3.0,
    bad_cycles=(40, 41),
    bad_cycle_factor=6.0,
    quality_bins=(2, 12, 23, 37),
)
#: files :func:`simulate_readqc` writes into its folder
SIM_FILES = (
    "ref.fa",
    "ref.fa.fai",
    "truth.vcf.gz",
    "hap.fa",
    *(f"{s}_{x}" for s in ("train", "test") for x in ("R1.fq.gz", "R2.fq.gz", "truth.tsv.gz")),
    *(f"{s}_R{m}.errors.tsv.gz" for s in ("train", "test") for m in (1, 2)),
)
_FIELDS = ("quality", "cycle", "mate", "context", "read_length")
_BASES = "ACGT"


# ---------------------------------------------------------------------------- data
def simulate_readqc(
    outdir: str | os.PathLike,
    *,
    seed: int,
    ref_length: int,
    train_coverage: float,
    test_coverage: float,
    errors: Mapping | None = None,
    n_contigs: int = 2,
    read_length: int = READ_LENGTH,
    snp_rate: float = 1e-3,
    indel_rate: float = 1e-4,
    compresslevel: int = 1,
) -> dict[str, Path]:
    """Simulate the experiment's data into ``outdir`` (the names of :data:`SIM_FILES`).

    ``errors``: keys of :class:`~biometal.simulate.ErrorModel` (default :data:`REALISTIC`);
    coverages are mean depths (both mates); lengths in bp. Files already there are kept
    (a rerun with other parameters needs an empty folder). Returns name -> path.
    """
    from biometal.simulate import (
        ErrorModel,
        simulate_reads,
        simulate_reference,
        simulate_variants,
    )

    d = Path(outdir)
    d.mkdir(parents=True, exist_ok=True)
    ref, vcf, hap = d / "ref.fa", d / "truth.vcf.gz", d / "hap.fa"
    if not ref.exists():
        simulate_reference(
            ref, d / "ref.fa.fai", n_contigs=n_contigs, total_length=ref_length, seed=seed
        )
    if not hap.exists():
        simulate_variants(ref, vcf, hap, snp_rate=snp_rate, indel_rate=indel_rate, seed=seed + 1)
    model = ErrorModel.from_config(REALISTIC if errors is None else errors)
    for name, cov, s in (("train", train_coverage, seed + 2), ("test", test_coverage, seed + 3)):
        if (d / f"{name}_R1.fq.gz").exists():
            continue
        simulate_reads(
            ref,
            hap,
            vcf,
            d / f"{name}_R1.fq.gz",
            d / f"{name}_R2.fq.gz",
            d / f"{name}_truth.tsv.gz",
            coverage=cov,
            read_length=read_length,
            errors=model,
            error_truth_out=(d / f"{name}_R1.errors.tsv.gz", d / f"{name}_R2.errors.tsv.gz"),
            compresslevel=compresslevel,
            seed=s,
        )
    return {name: d / name for name in SIM_FILES}


def save_features(path: str | os.PathLike, feats: BaseFeatures, **arrays: np.ndarray) -> None:
    """Write ``feats`` and extra arrays into one ``.npz`` (atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{f: getattr(feats, f) for f in _FIELDS}, **arrays)


def load_features(path: str | os.PathLike) -> tuple[BaseFeatures, dict[str, np.ndarray]]:
    """``(features, {name: array})`` of a file written by :func:`save_features`."""
    z = np.load(path)
    missing = [f for f in _FIELDS if f not in z.files]
    if missing:
        raise InputFormatError(str(path), None, f"not a features file (no {missing[0]})")
    return BaseFeatures(*(z[f] for f in _FIELDS)), {k: z[k] for k in z.files if k not in _FIELDS}


def training_arrays(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    out_npz: str | os.PathLike,
    *,
    known_sites: str | os.PathLike | None = None,
    max_bases: int | None = None,
) -> dict[str, float]:
    """Covariates and mismatch labels (``error``) of the aligned bases of ``bam`` outside
    ``known_sites`` (:func:`~biometal.readqc.covariates.aligned_covariates`) -> ``out_npz``.
    Returns ``bases`` and ``mismatch_rate``."""
    from biometal.readqc.covariates import aligned_covariates

    feats, err = aligned_covariates(bam, reference, known_sites=known_sites, max_bases=max_bases)
    if len(err) == 0:
        raise BiometalError(f"{os.fspath(bam)}: no aligned bases to learn qualities from")
    save_features(out_npz, feats, error=err)
    return {"bases": len(err), "mismatch_rate": float(err.mean())}


def _fastq_flat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, quals, lengths) of every read of a FASTQ, flat, in file order."""
    from biometal.io.fastx import read_fastq_chunks

    codes, quals, lens = [], [], []
    for chunk in read_fastq_chunks(path, 50_000):
        codes.append(chunk.codes)
        quals.append(chunk.qual)
        lens.append(chunk.lengths)
    if not lens:
        raise InputFormatError(str(path), None, "no reads")
    return np.concatenate(codes), np.concatenate(quals), np.concatenate(lens).astype(np.int64)


def _truth_flat(path: str | os.PathLike, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(error bool, p_true float64) of every base of the reads of an error-truth sidecar."""
    from biometal.simulate._sequencer import read_error_truth

    t = read_error_truth(path)
    if len(t.names) != lengths.size:
        raise InputFormatError(
            str(path), None, f"{len(t.names)} reads in the truth, {lengths.size} in the FASTQ"
        )
    width = t.sub.shape[1] if t.sub.ndim == 2 else 0
    if lengths.size and lengths.max() > width:
        raise InputFormatError(str(path), None, "truth rows shorter than the reads")
    mask = np.arange(width)[None, :] < lengths[:, None]
    return (t.sub | t.inserted)[mask], t.p_true[mask]


def heldout_arrays(
    fastqs: Sequence[str | os.PathLike], error_truths: Sequence[str | os.PathLike]
) -> tuple[BaseFeatures, np.ndarray, np.ndarray, np.ndarray]:
    """Features of every base of the mates in ``fastqs`` (R1 then R2), with the simulator's
    truth: ``(features, error bool, p_true float64, keep bool)``, where ``keep`` marks the
    non-``N`` bases (the first three are already restricted to them)."""
    from biometal.readqc.covariates import chunk_features

    parts, errs, ptrue, keeps = [], [], [], []
    for mate, (fq, tr) in enumerate(zip(fastqs, error_truths, strict=True)):
        codes, quals, lens = _fastq_flat(fq)
        offsets = np.zeros(lens.size + 1, np.int64)
        np.cumsum(lens, out=offsets[1:])
        err, p = _truth_flat(tr, lens)
        keep = codes < 4
        parts.append(chunk_features(codes, quals, offsets, mate).take(keep))
        errs.append(err[keep])
        ptrue.append(p[keep])
        keeps.append(keep)
    return (
        BaseFeatures.concat(parts),
        np.concatenate(errs),
        np.concatenate(ptrue),
        np.concatenate(keeps),
    )


def fastq_qualities(fastqs: Sequence[str | os.PathLike]) -> np.ndarray:
    """uint8: the quality of every base of the FASTQ files, in file order, one after the other."""
    return np.concatenate([_fastq_flat(fq)[1] for fq in fastqs])


def calibration_data(
    workdir: str | os.PathLike,
    *,
    seed: int = 13,
    ref_length: int = 1_000_000,
    train_coverage: float = 15.0,
    test_coverage: float = 4.0,
    max_train_bases: int = 12_000_000,
    threads: int = 2,
) -> dict:
    """The train and held-out arrays of the benchmarks (computed once, cached in ``workdir``).

    Returns ``train_features`` (:class:`BaseFeatures` of aligned bases at non-variant
    sites), ``train_error`` (bool: mismatch to the reference), ``test_features`` (every
    non-``N`` base of the held-out FASTQ reads, R1 then R2), ``test_error`` (bool: the
    simulator's truth, substitution or inserted base), ``test_p_true`` (float64: the true
    substitution probability) and ``workdir`` (the folder of this parameter set, under
    the one given: reference, truth VCF, FASTQ, error truth, ``train.bam``).
    """
    from biometal.variants.mapping import map_reads

    key = f"s{seed}_L{ref_length}_tr{train_coverage}_te{test_coverage}_m{max_train_bases}"
    d = Path(workdir) / key  # one folder per parameter set: nothing stale is reused
    train_npz, test_npz = d / "train.npz", d / "test.npz"
    if not (train_npz.exists() and test_npz.exists()):
        simulate_readqc(
            d,
            seed=seed,
            ref_length=ref_length,
            train_coverage=train_coverage,
            test_coverage=test_coverage,
        )
        bam = d / "train.bam"
        if not bam.exists():
            map_reads(
                d / "ref.fa",
                d / "train_R1.fq.gz",
                d / "train_R2.fq.gz",
                bam,
                sample="train",
                threads=threads,
            )
        training_arrays(
            bam, d / "ref.fa", train_npz, known_sites=d / "truth.vcf.gz", max_bases=max_train_bases
        )
        feats, err, ptrue, _ = heldout_arrays(
            [d / "test_R1.fq.gz", d / "test_R2.fq.gz"],
            [d / "test_R1.errors.tsv.gz", d / "test_R2.errors.tsv.gz"],
        )
        save_features(test_npz, feats, error=err, p_true=ptrue)
    ftr, tr = load_features(train_npz)
    fte, te = load_features(test_npz)
    return {
        "train_features": ftr,
        "train_error": tr["error"],
        "test_features": fte,
        "test_error": te["error"],
        "test_p_true": te["p_true"],
        "workdir": d,
    }


# ---------------------------------------------------------------------------- scores
class AdditiveBqsr:
    """The additive (GATK) level of a :class:`~biometal.readqc.bqsr.BqsrTable` as an
    error predictor (no joint cell)."""

    def __init__(self, table) -> None:
        self.t = table
        self.add = table.levels()["additive"]

    def error_probability(self, feats: BaseFeatures) -> np.ndarray:
        from biometal.readqc.bqsr import dinucleotide

        c = feats.cycle.astype(np.int64)
        c = np.where(c >= self.t.n_cycles, self.t.n_cycles, c)
        q = np.minimum(feats.quality.astype(np.int64), self.add.shape[0] - 1)
        return self.add[q, feats.mate.astype(np.int64), c, dinucleotide(feats)].astype(np.float32)


def reported_probability(quality: np.ndarray) -> np.ndarray:
    """float64 error probability ``10**(-Q/10)`` of Phred qualities."""
    return 10.0 ** (-np.asarray(quality, np.float64) / 10.0)


def score(method: str, p: np.ndarray, error: np.ndarray, p_true: np.ndarray, **extra) -> dict:
    """One table row: ECE (Q), log-loss (nats/base), MAE/r against the true Phred."""
    from biometal.readqc.metrics import expected_calibration_error, log_loss, true_q_error

    mae, r = true_q_error(p, p_true)
    return {
        "method": method,
        "bases": int(error.size),
        "errors": int(error.sum()),
        "ece_q": round(expected_calibration_error(p, error), 3),
        "log_loss": round(log_loss(p, error), 5),
        "mae_true_q": round(mae, 3),
        "pearson_r_true_q": round(r, 4),
        **extra,
    }


def _q(p_sum: np.ndarray, n: np.ndarray) -> np.ndarray:
    p = np.asarray(p_sum, np.float64) / np.maximum(n, 1)
    return np.round(-10.0 * np.log10(np.clip(p, 1e-6, 1.0)), 2)


def _grouped(key: np.ndarray, p: Mapping[str, np.ndarray], error: np.ndarray) -> pd.DataFrame:
    """Per distinct key: bases, errors, empirical Q and every method's predicted Q."""
    uniq, inv = np.unique(key, return_inverse=True)
    n = np.bincount(inv, minlength=uniq.size)
    e = np.bincount(inv, weights=error, minlength=uniq.size)
    out = {"key": uniq, "bases": n, "errors": e.astype(np.int64)}
    out["empirical_q"] = _q(e + 0.5, n + 1.0)
    for m, pm in p.items():
        out[f"{m}_q"] = _q(np.bincount(inv, weights=pm, minlength=uniq.size), n)
    return pd.DataFrame(out)


def masking_table(
    p: Mapping[str, np.ndarray],
    error: np.ndarray,
    keep_fractions: Sequence[float],
    seed: int = 0,
) -> pd.DataFrame:
    """Quality masking at equal bases kept: for each method and fraction ``f``, the
    ``1 - f`` share of bases with the highest error probability is masked (ties broken at
    random, seeded, so every method keeps exactly the same number of bases); the share of
    the true errors among the masked bases is reported."""
    error = np.asarray(error, bool)
    n, total = error.size, int(error.sum())
    jitter = np.random.default_rng(seed).random(n)
    rows = []
    for m, pm in p.items():
        order = np.lexsort((jitter, -np.asarray(pm, np.float64)))  # most likely errors first
        cum = np.concatenate([[0], np.cumsum(error[order])])
        for f in keep_fractions:
            masked = n - int(round(f * n))
            rows.append(
                {
                    "method": m,
                    "keep_fraction": f,
                    "bases_masked": masked,
                    "errors_removed": int(cum[masked]),
                    "errors": total,
                    "errors_removed_share": round(cum[masked] / total, 4) if total else np.nan,
                }
            )
    return pd.DataFrame(rows)


def calibration_tables(
    fastqs: Sequence[str | os.PathLike],
    error_truths: Sequence[str | os.PathLike],
    recalibrated: Mapping[str, Sequence[str | os.PathLike]],
    *,
    keep_fractions: Sequence[float] = (0.9, 0.95, 0.98),
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Every score of the held-out reads ``fastqs`` (R1, R2) against the simulator's truth,
    for the reported qualities and those of each recalibrated copy (``{method: [R1, R2]}``,
    same reads in the same order), plus ``true_p`` in the summary.

    Returns tables ``summary`` (:func:`score` per method), ``curves`` (calibration curve per
    method, 1-Q bins), ``by_cycle`` (mate, cycle), ``by_context`` (the 3 bases before a
    base, sequencing order) and ``masking`` (:func:`masking_table`).
    """
    from biometal.readqc.metrics import calibration_curve

    feats, error, p_true, keep = heldout_arrays(fastqs, error_truths)
    p = {"reported": reported_probability(feats.quality)}
    for method, files in recalibrated.items():
        q = fastq_qualities(files)
        if q.size != keep.size:
            raise InputFormatError(
                os.fspath(files[0]), None, f"{q.size} bases, the held-out reads have {keep.size}"
            )
        p[method] = reported_probability(q[keep])
    summary = pd.DataFrame(
        [score(m, pm, error, p_true) for m, pm in p.items()]
        + [score("true_p", p_true, error, p_true)]
    )
    curves = pd.concat(
        [calibration_curve(pm, error).assign(method=m) for m, pm in p.items()], ignore_index=True
    )
    curves = curves[["method", *[c for c in curves.columns if c != "method"]]].round(3)
    cyc = feats.mate.astype(np.int64) * 10_000 + feats.cycle.astype(np.int64)
    by_cycle = _grouped(cyc, {**p, "true_p": p_true}, error)
    key = by_cycle.pop("key").to_numpy()
    by_cycle.insert(0, "mate", key // 10_000 + 1)
    by_cycle.insert(1, "cycle", key % 10_000)
    ctx = feats.context[:, CONTEXT - 3 : CONTEXT].astype(np.int64)
    code = ctx[:, 0] * 25 + ctx[:, 1] * 5 + ctx[:, 2]
    by_context = _grouped(code, {**p, "true_p": p_true}, error)
    k = by_context.pop("key").to_numpy()
    letters = "ACGTN"
    by_context.insert(
        0, "before", [letters[c // 25] + letters[(c // 5) % 5] + letters[c % 5] for c in k]
    )
    masking = masking_table(p, error, keep_fractions, seed=seed)
    return {
        "summary": summary,
        "curves": curves,
        "by_cycle": by_cycle,
        "by_context": by_context,
        "masking": masking,
    }


def write_tables(tables: Mapping[str, pd.DataFrame], paths: Mapping[str, str | os.PathLike]):
    """Write each table of ``tables`` to ``paths[name]`` as TSV (atomically)."""
    for name, path in paths.items():
        with atomic_path(path) as tmp:
            tables[name].to_csv(tmp, sep="\t", index=False)


def readqc_metrics(
    fastqs: Sequence[str | os.PathLike],
    error_truths: Sequence[str | os.PathLike],
    recalibrated: Mapping[str, Sequence[str | os.PathLike]],
    outputs: Mapping[str, str | os.PathLike],
    *,
    keep_fractions: Sequence[float] = (0.9, 0.95, 0.98),
    seed: int = 0,
) -> None:
    """:func:`calibration_tables` written to ``outputs`` (``{table name: TSV path}``)."""
    tables = calibration_tables(
        fastqs, error_truths, recalibrated, keep_fractions=keep_fractions, seed=seed
    )
    write_tables(tables, outputs)


# ---------------------------------------------------------------------------- predictors
def load_predictor(method: str, path: str | os.PathLike, threads: int | None = 1):
    """The error predictor of ``method``: ``bqsr`` (a table file of
    :meth:`~biometal.readqc.bqsr.BqsrTable.save`) or ``neural`` (an ONNX model)."""
    if method == "bqsr":
        from biometal.readqc.bqsr import BqsrTable

        return BqsrTable.load(path)
    if method == "neural":
        from biometal.ml.readqc.predictor import NeuralQualityPredictor

        return NeuralQualityPredictor(path, threads=threads)
    raise BiometalError(f"unknown recalibration method {method!r}; choose bqsr or neural")


def fit_bqsr(
    features_npz: str | os.PathLike, table_out: str | os.PathLike, prior_errors: float = 10.0
) -> dict[str, int]:
    """Fit a :class:`~biometal.readqc.bqsr.BqsrTable` on a :func:`training_arrays` file."""
    from biometal.readqc.bqsr import BqsrTable

    feats, arrays = load_features(features_npz)
    BqsrTable.fit(feats, arrays["error"], prior_errors=prior_errors).save(table_out)
    return {"bases": len(feats), "errors": int(arrays["error"].sum())}


def train_neural(
    features_npz: str | os.PathLike,
    onnx_out: str | os.PathLike,
    history_out: str | os.PathLike,
    *,
    max_bases: int | None = None,
    epochs: int = 3,
    hidden: Sequence[int] = (32, 32),
    threads: int = 1,
    seed: int = 42,
) -> dict:
    """Train the neural quality model (:mod:`biometal.ml.readqc`) on the first ``max_bases``
    bases of a :func:`training_arrays` file; export it as ONNX; write the epoch history."""
    from biometal.ml.readqc.export import export_onnx
    from biometal.ml.readqc.train import TrainParams, train_from_features

    feats, arrays = load_features(features_npz)
    n = len(feats) if max_bases is None else min(max_bases, len(feats))
    params = TrainParams(epochs=epochs, hidden=tuple(hidden), threads=threads, seed=seed)
    model, hist, summary = train_from_features(feats.take(slice(0, n)), arrays["error"][:n], params)
    export_onnx(model, onnx_out)
    with atomic_path(history_out) as tmp:
        hist.to_csv(tmp, sep="\t", index=False)
    return summary


def recalibrate_pair(
    method: str,
    model: str | os.PathLike,
    fastqs: Sequence[str | os.PathLike],
    outputs: Sequence[str | os.PathLike],
    threads: int | None = 1,
) -> list[dict]:
    """Recalibrate the mates ``fastqs`` (R1[, R2]) into ``outputs`` with ``method``'s model
    (:func:`load_predictor`); returns the counts of each mate."""
    from biometal.readqc.recalibrate import recalibrate_fastq

    pred = load_predictor(method, model, threads)
    return [
        recalibrate_fastq(fin, fout, pred, mate=mate)
        for mate, (fin, fout) in enumerate(zip(fastqs, outputs, strict=True))
    ]


def recalibrate_and_map(
    method: str,
    reference: str | os.PathLike,
    fastqs: Sequence[str | os.PathLike],
    out_bam: str | os.PathLike,
    *,
    sample: str,
    model: str | os.PathLike | None = None,
    bam: str | os.PathLike | None = None,
    known_sites: str | os.PathLike | None = None,
    threads: int = 2,
    max_insert: int = 1000,
) -> dict:
    """Reads with recalibrated qualities, mapped again (``out_bam`` + ``.bai``): with a
    ``model`` file, ``method``'s model (:func:`load_predictor`); without, ``bqsr`` fits its
    table on ``bam`` (the reads as mapped before, outside ``known_sites``), as BQSR is used.
    The mapper (mappy ``sr``) does not read qualities: the alignments are those of the
    original reads; only the qualities differ."""
    from biometal.readqc.bqsr import BqsrTable
    from biometal.readqc.covariates import aligned_covariates
    from biometal.readqc.recalibrate import recalibrate_fastq
    from biometal.variants.mapping import map_reads

    if model is not None:
        pred = load_predictor(method, model, threads=1)
    elif method == "bqsr":
        if bam is None:
            raise BiometalError("BQSR needs the reads' BAM to fit its table on")
        feats, err = aligned_covariates(bam, reference, known_sites=known_sites)
        if len(err) == 0:
            raise BiometalError(f"{os.fspath(bam)}: no aligned bases to fit a table from")
        pred = BqsrTable.fit(feats, err)
    else:
        raise BiometalError(f"recalibration method {method!r} needs a model file")
    with tempfile.TemporaryDirectory(prefix="recal.", dir=Path(out_bam).parent) as tmp:
        recal = [Path(tmp) / f"R{m + 1}.fq.gz" for m in range(len(fastqs))]
        for mate, (fin, fout) in enumerate(zip(fastqs, recal, strict=True)):
            recalibrate_fastq(fin, fout, pred, mate=mate)
        return map_reads(
            reference,
            recal[0],
            recal[1] if len(recal) > 1 else None,
            out_bam,
            sample=sample,
            threads=threads,
            max_insert=max_insert,
        )


# ---------------------------------------------------------------------------- variants
def variant_effect(
    reference: str | os.PathLike,
    truth_vcf: str | os.PathLike,
    bams: Mapping[str, str | os.PathLike],
    *,
    min_mapq: int = 20,
    min_baseq: int = 13,
    workdir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """SNP/indel calls (:func:`biometal.variants.call.call_variants`, ``-q min_mapq -Q
    min_baseq``) of each BAM of ``bams`` (``{qualities: BAM}``: the same reads with the
    reported or recalibrated qualities) scored against the truth VCF; one row per
    qualities and variant type (tp, fp, fn, precision, recall, f1)."""
    from biometal.pileup.engine import PileupParams
    from biometal.variants.call import call_variants
    from biometal.variants.evaluate import load_alleles
    from biometal.variants.evaluate import score as score_calls

    truth = load_alleles(truth_vcf, reference)
    rows = []
    with tempfile.TemporaryDirectory(prefix="calls.", dir=workdir) as tmp:
        for name, bam in bams.items():
            vcf = Path(tmp) / f"{name}.vcf.gz"
            params = PileupParams(min_mapq=min_mapq, min_baseq=min_baseq)
            call_variants(bam, reference, vcf, sample=name, pileup=params)
            for t, v in score_calls(load_alleles(vcf, reference), truth).items():
                rows.append(
                    {
                        "qualities": name,
                        "type": t,
                        "tp": v.tp,
                        "fp": v.fp,
                        "fn": v.fn,
                        "precision": round(v.precision, 4),
                        "recall": round(v.recall, 4),
                        "f1": round(v.f1, 4),
                    }
                )
    return pd.DataFrame(rows)


def variant_table(
    reference: str | os.PathLike,
    truth_vcf: str | os.PathLike,
    bams: Mapping[str, str | os.PathLike],
    out_tsv: str | os.PathLike,
    **kwargs,
) -> None:
    """:func:`variant_effect` written to ``out_tsv``."""
    table = variant_effect(reference, truth_vcf, bams, workdir=Path(out_tsv).parent, **kwargs)
    write_tables({"t": table}, {"t": out_tsv})


# ---------------------------------------------------------------------------- trimming
def _lengths_by_name(path: str | os.PathLike, index: Mapping[str, int]) -> np.ndarray:
    """Length of each output read at its input index (-1: missing from the output)."""
    from biometal.io.fastx import read_fastq_chunks

    out = np.full(len(index), -1, np.int64)
    for chunk in read_fastq_chunks(path, 1 << 16, with_names=True):
        for name, length in zip(chunk.names, chunk.lengths, strict=True):
            key = bytes(name).split(None, 1)[0].decode()
            key = key[:-2] if key.endswith(("/1", "/2")) else key
            i = index.get(key)
            if i is None:
                raise InputFormatError(os.fspath(path), None, f"read {key!r} is not an input read")
            out[i] = length
    return out


def trim_accuracy(truth: np.ndarray, pred: np.ndarray, n_pairs: int) -> dict:
    """Read- and pair-level trimming accuracy: ``truth`` and ``pred`` int [2 * n_pairs]
    (R1 reads then R2 reads) hold the true insert part's length and the trimmed length
    (-1: the tool dropped the read); ``full`` reads (no adapter) have truth == read length."""
    missing = pred < 0
    wrong = (pred != truth) | missing
    over = ~missing & (pred < truth)
    under = ~missing & (pred > truth)
    return {
        "reads": int(truth.size),
        "read_err_pct": round(100 * float(wrong.mean()), 3),
        "over_pct": round(100 * float(over.mean()), 3),
        "under_pct": round(100 * float(under.mean()), 3),
        "dropped": int(missing.sum()),
        "pair_err_pct": round(100 * float((wrong[:n_pairs] | wrong[n_pairs:]).mean()), 3),
    }


def _benchmark(path: str | os.PathLike) -> tuple[float, float]:
    """(wall s, CPU s) of a Snakemake benchmark file (CPU NaN when not sampled)."""
    b = pd.read_csv(path, sep="\t")
    cpu = pd.to_numeric(b["cpu_time"], errors="coerce") if "cpu_time" in b else pd.Series([np.nan])
    c = float(cpu.iloc[0])
    return float(b["s"].iloc[0]), c if c > 0 else np.nan  # 0: the job ended before a sample


def trimming_table(
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    truth_tsv: str | os.PathLike,
    outputs: Mapping[str, Sequence[str | os.PathLike]],
    benchmarks: Mapping[str, str | os.PathLike],
) -> pd.DataFrame:
    """Adapter trimming of the pairs ``r1``/``r2`` by each tool (``{tool: [out1, out2]}``)
    against the simulator's truth (``truth_tsv``: ``read_name``, ``r1_adapter_start``,
    ``r2_adapter_start``, -1 = no adapter), with each tool's job cost from its Snakemake
    benchmark file (wall and CPU seconds, reads per CPU second, both mates counted)."""
    truth = pd.read_csv(truth_tsv, sep="\t")
    n = len(truth)
    index = {name: i for i, name in enumerate(truth["read_name"].astype(str))}
    if len(index) != n:
        raise InputFormatError(os.fspath(truth_tsv), None, "read names are not unique")
    lengths = []
    for fq in (r1, r2):
        full = np.full(n, -1, np.int64)
        full[:] = _lengths_by_name(fq, index)
        lengths.append(full)
    t = np.concatenate(
        [
            np.where(truth[c].to_numpy() >= 0, np.minimum(truth[c].to_numpy(), ln), ln)
            for c, ln in zip(("r1_adapter_start", "r2_adapter_start"), lengths, strict=True)
        ]
    )
    rows = []
    for tool, (o1, o2) in outputs.items():
        pred = np.concatenate([_lengths_by_name(o1, index), _lengths_by_name(o2, index)])
        row = {"tool": tool, **trim_accuracy(t, pred, n)}
        has, cut = t < np.concatenate(lengths), (pred >= 0) & (pred < np.concatenate(lengths))
        tp, fp, fn = int((has & cut).sum()), int((~has & cut).sum()), int((has & ~cut).sum())
        row["adapter_reads"] = int(has.sum())
        row["detect_precision"] = round(tp / (tp + fp), 4) if tp + fp else 1.0
        row["detect_recall"] = round(tp / (tp + fn), 4) if tp + fn else 1.0
        wall, cpu = _benchmark(benchmarks[tool])
        row.update(
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3) if np.isfinite(cpu) else np.nan,
            reads_per_cpu_s=round(2 * n / cpu) if np.isfinite(cpu) and cpu > 0 else np.nan,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def write_trimming_table(out_tsv: str | os.PathLike, **kwargs) -> None:
    """:func:`trimming_table` written to ``out_tsv``."""
    write_tables({"t": trimming_table(**kwargs)}, {"t": out_tsv})
