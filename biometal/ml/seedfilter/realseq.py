"""The seed filter on real human sequence (issue 12, item 7): data, labels, models, cost.

The design assumes most SMEM seed occurrences fail extension; on the simulated genome 92.5%
are viable. This module reruns the chain where that premise can hold: real human sequence
with its real repeats.

Data (:func:`maf_reference`): the human rows (``Hsap.*``) of a MAF whole-genome alignment.
The one a package ships is Debian ``maffilter-examples``'
``Gorilla/Compara.epo_5_catarrhini_hsap-projected.chr22.subset.nogap.cleaned_aln.maf.gz``
(Ensembl Compara EPO, 5 catarrhini, projected on human chr22, GRCh37 coordinates): 9,627
blocks, 21.6 Mb of human chr22 between 17.44 and 51.18 Mb, soft-masked (lower case =
RepeatMasker/TRF repeats, 46% of the bases). Each block (exactly abutting blocks merged)
is one contig ``chr22_<0-based start>``, written upper case; the repeat annotation is kept
apart (:func:`repeat_fraction`).

:func:`run_real` then: truth variants + reads (:mod:`biometal.simulate`), ``bwa index`` ->
:meth:`FMIndex.from_bwa` (the chromosome-scale index), :func:`windows.label_windows`
(every occurrence that extension tries is one labelled example, label as there), and
:func:`evaluate_real`: viable fractions per seed and per locus (repeat strata), the CNN on
the windows, the CNN on the windows + log occurrence count, the cheap peers (gradient
boosting and logistic regression on the seed features, one-feature thresholds on the
occurrence count and on the seed length), TPR/FPR on held-out read pairs, and the
extension stage timed (process CPU time) with and without each filter.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path

log = logging.getLogger(__name__)

MAF_PACKAGE = "maffilter-examples"
MAF_PATH = (
    "/usr/share/doc/maffilter/examples/Gorilla/"
    "Compara.epo_5_catarrhini_hsap-projected.chr22.subset.nogap.cleaned_aln.maf.gz"
)


def _maf_rows(maf: str | os.PathLike, species: str):
    """(chrom, start, seq without gaps) of every ``s`` line whose source starts with
    ``species`` (``+`` strand only; MAF starts are 0-based)."""
    opener = gzip.open if str(maf).endswith(".gz") else open
    try:
        with opener(maf, "rt") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.startswith("s ") or not line[2:].startswith(species):
                    continue
                f = line.split()
                if len(f) != 7:
                    raise InputFormatError(str(maf), lineno, "MAF 's' line without 7 fields")
                if f[4] != "+":
                    raise InputFormatError(str(maf), lineno, "minus-strand reference row")
                seq = f[6].replace("-", "")
                if len(seq) != int(f[3]):
                    raise InputFormatError(
                        str(maf), lineno, f"size {f[3]} but {len(seq)} ungapped bases"
                    )
                yield f[1][len(species) :], int(f[2]), seq
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFormatError(str(maf), None, f"cannot read MAF: {exc}") from None


def maf_reference(
    maf: str | os.PathLike,
    fasta_out: str | os.PathLike,
    mask_out: str | os.PathLike,
    species: str = "Hsap.",
) -> dict:
    """Human (``species``) rows of a MAF -> contigs (abutting blocks merged), written upper
    case to ``fasta_out``; the soft-mask (lower case) to ``mask_out`` (``.npz``: names,
    offsets int64[n + 1], packed bool mask over the concatenated contigs). Returns counts."""
    rows = sorted(_maf_rows(maf, species), key=lambda r: (r[0], r[1]))
    if not rows:
        raise InputFormatError(str(maf), None, f"no '{species}' rows")
    contigs: list[tuple[str, int, list[str]]] = []
    end = None
    for chrom, start, seq in rows:
        if contigs and contigs[-1][0] == chrom and end == start:
            contigs[-1][2].append(seq)
        else:
            if contigs and contigs[-1][0] == chrom and end is not None and start < end:
                raise InputFormatError(str(maf), None, f"overlapping blocks at {chrom}:{start}")
            contigs.append((chrom, start, [seq]))
        end = start + len(seq)
    names, seqs = [], []
    for chrom, start, parts in contigs:
        names.append(f"chr{chrom}_{start}")
        seqs.append("".join(parts))
    lengths = np.array([len(s) for s in seqs], np.int64)
    offsets = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = np.frombuffer("".join(seqs).encode(), np.uint8)
    mask = joined >= ord("a")  # lower case = soft-masked repeat
    with atomic_path(fasta_out) as tmp, open(tmp, "w") as fh:
        for name, s in zip(names, seqs, strict=True):
            fh.write(f">{name}\n")
            up = s.upper()
            for i in range(0, len(up), 80):
                fh.write(up[i : i + 80] + "\n")
    with atomic_path(mask_out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, names=np.array(names), offsets=offsets, mask=np.packbits(mask), n=len(mask)
        )
    info = {
        "contigs": len(names),
        "bp": int(offsets[-1]),
        "repeat_fraction": float(mask.mean()),
        "median_contig_bp": float(np.median(lengths)),
        "longest_contig_bp": int(lengths.max()),
    }
    log.info("reference from %s: %s", maf, info)
    return info


@dataclass
class RepeatMask:
    """Soft-mask of the contigs: ``cum[offsets[c] + p]`` = masked bases before ``p``."""

    names: list[str]
    offsets: np.ndarray
    cum: np.ndarray

    @classmethod
    def load(cls, path: str | os.PathLike) -> RepeatMask:
        with np.load(path) as z:
            mask = np.unpackbits(z["mask"])[: int(z["n"])].astype(np.int64)
            cum = np.zeros(mask.shape[0] + 1, np.int64)
            np.cumsum(mask, out=cum[1:])
            return cls([str(x) for x in z["names"]], z["offsets"], cum)

    def fraction(self, contig: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Masked fraction of ``[start, start + length)`` on contig index ``contig``
        (clipped to the contig)."""
        base = self.offsets[contig]
        clen = self.offsets[contig + 1] - base
        s = np.clip(start, 0, clen)
        e = np.clip(start + length, 0, clen)
        n = np.maximum(e - s, 1)
        return (self.cum[base + e] - self.cum[base + s]) / n


def repeat_fraction(mask: RepeatMask, contig, start, length) -> np.ndarray:
    """:meth:`RepeatMask.fraction` (float64, 0..1)."""
    return mask.fraction(np.asarray(contig), np.asarray(start), np.asarray(length))


@dataclass(frozen=True)
class RealData:
    """Paths of the prepared real-sequence data set (under one work directory)."""

    reference: Path
    mask: Path
    index: Path
    r1: Path
    r2: Path
    truth: Path


def prepare_data(
    maf: str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    n_pairs: int,
    read_length: int = 150,
    seed: int = 42,
) -> tuple[RealData, dict]:
    """Reference + repeat mask (:func:`maf_reference`), truth variants and ~``n_pairs`` read
    pairs (:mod:`biometal.simulate`, default error model), ``bwa index`` converted to a
    biometal FM-index (:meth:`FMIndex.from_bwa`). Files already there are reused."""
    from biometal.align.smem import fm_index_file
    from biometal.simulate.reads import simulate_reads
    from biometal.simulate.variants import simulate_variants

    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    d = RealData(
        wd / "reference.fa",
        wd / "repeats.npz",
        wd / "index.npz",
        wd / f"reads_{n_pairs}_R1.fastq.gz",
        wd / f"reads_{n_pairs}_R2.fastq.gz",
        wd / f"truth_{n_pairs}.tsv.gz",
    )
    info: dict = {}
    if not (d.reference.is_file() and d.mask.is_file()):
        info["reference"] = maf_reference(maf, d.reference, d.mask)
    else:
        m = RepeatMask.load(d.mask)
        info["reference"] = {
            "contigs": len(m.names),
            "bp": int(m.offsets[-1]),
            "repeat_fraction": float(m.cum[-1] / max(int(m.offsets[-1]), 1)),
        }
    ref_bp = int(info["reference"]["bp"])
    vcf, hap = wd / "truth.vcf.gz", wd / "haplotypes.fa"
    have_reads = d.r1.is_file() and d.r2.is_file() and d.truth.is_file()
    if not have_reads and not (vcf.is_file() and hap.is_file()):
        info["variants"] = simulate_variants(d.reference, vcf, hap, seed=seed)
    if not have_reads:
        cov = 2 * n_pairs * read_length / ref_bp
        info["reads"] = simulate_reads(
            d.reference, hap, vcf, d.r1, d.r2, d.truth,
            coverage=cov, read_length=read_length, seed=seed,
        )  # fmt: skip
    if not d.index.is_file():
        bwa = shutil.which("bwa")
        if bwa is None:
            raise BiometalError("bwa is not installed: the chromosome-scale index needs it")
        prefix = wd / "bwa" / "ref"
        prefix.parent.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run(
            [bwa, "index", "-p", str(prefix), str(d.reference)],
            check=True,
            capture_output=True,
        )
        info["bwa_index_s"] = time.perf_counter() - t0
        info["index"] = fm_index_file(str(prefix), d.index)
    return d, info


#: the chain's default ``max_occ`` (config seedfilter.max_occ): its windows are the subset
#: of the labelled occurrences whose seed has at most this many
CHAIN_MAX_OCC = 20


def viable_fractions(ws, mask: RepeatMask) -> pd.DataFrame:
    """Viable fraction per locus (occurrence) and per seed (any locus viable), overall, for
    the chain's ``max_occ`` subset, and by stratum: the seed's reference bases at the locus
    mostly soft-masked (repeat) or not; seeds with one occurrence or several."""
    y = ws["label"].astype(bool)
    occ = ws["occ"]
    rep = mask.fraction(ws["contig"], ws["pos"], ws["seed_len"]) >= 0.5
    seed_key = pd.MultiIndex.from_arrays([ws["read"], ws["qstart"], ws["qend"]])
    seed_id = pd.factorize(seed_key)[0]
    rows = []

    def add(stratum: str, sel: np.ndarray) -> None:
        sid = seed_id[sel]
        n_seed = int(np.unique(sid).shape[0])
        any_viable = np.zeros(seed_id.max() + 1, bool)
        np.logical_or.at(any_viable, sid, y[sel])
        rows.append(
            {
                "stratum": stratum,
                "loci": int(sel.sum()),
                "viable_loci": int(y[sel].sum()),
                "viable_fraction_per_locus": float(y[sel].mean()) if sel.any() else math.nan,
                "seeds": n_seed,
                "viable_fraction_per_seed": (
                    float(any_viable[np.unique(sid)].mean()) if n_seed else math.nan
                ),
                "loci_per_seed": float(sel.sum() / n_seed) if n_seed else math.nan,
            }
        )

    every = np.ones(y.shape[0], bool)
    add("all", every)
    add(f"occ <= {CHAIN_MAX_OCC} (chain default)", occ <= CHAIN_MAX_OCC)
    add("locus in repeat (>= 50% soft-masked)", rep)
    add("locus not in repeat", ~rep)
    add("seed occ = 1", occ == 1)
    add("seed occ > 1", occ > 1)
    return pd.DataFrame(rows)


def _cpu_time(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.process_time()
    res = fn()
    return time.process_time() - t0, res


@dataclass(frozen=True)
class RealParams:
    """Settings of :func:`run_real` (the bench script's options)."""

    n_pairs: int = 8000
    max_occ: int = 500  # bwa mem -c: seeds with more occurrences are never extended
    epochs: int = 6
    repeats: int = 5
    threads: int = 1
    seed: int = 42


def evaluate_real(
    windows: str | os.PathLike,
    mask_path: str | os.PathLike,
    index_path: str | os.PathLike,
    outdir: str | os.PathLike,
    params: RealParams,
) -> dict:
    """Models, TPR/FPR on held-out pairs and the extension stage with and without each
    filter (see the module doc). Writes ``fractions.tsv``, ``models.tsv``, ``stage.tsv``,
    both CNNs (``cnn*.pt``, ``.onnx``, ``.mlpackage``) and ``summary.json`` under
    ``outdir``; returns the tables and the summary."""
    import joblib  # noqa: F401  (sklearn's dependency: fail early when missing)
    import torch

    from biometal._threads import numba_threads, torch_threads
    from biometal.align.smem import FMIndex
    from biometal.ml.seedfilter.backends import OnnxRuntimeBackend
    from biometal.ml.seedfilter.cost import _params_from, _subset
    from biometal.ml.seedfilter.export import (
        check_onnx,
        export_coreml,
        export_onnx,
        validate_mlpackage,
    )
    from biometal.ml.seedfilter.train import (
        TrainParams,
        choose_threshold,
        evaluate,
        feature_models,
        occ_side,
        predict_torch,
        split_by_pair,
        train_cnn,
    )
    from biometal.ml.seedfilter.windows import (
        extend,
        load_windows,
        one_hot,
        prepare,
        run_features,
    )

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ws = load_windows(windows)
    mask = RepeatMask.load(mask_path)
    fractions = viable_fractions(ws, mask)
    with atomic_path(out / "fractions.tsv") as tmp:
        fractions.to_csv(tmp, sep="\t", index=False, float_format="%.4f")

    tp = TrainParams(epochs=params.epochs, threads=max(2, params.threads), seed=params.seed)
    part = split_by_pair(ws["pair"], tp.split, tp.seed)
    y = ws["label"]
    tr, va, te = (np.flatnonzero(part == i) for i in range(3))
    side = occ_side(ws["occ"])
    x_va, x_te = ws.one_hot(va), ws.one_hot(te)
    feats = ws.features()
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fitted: dict[str, object] = {}
    train_s: dict[str, float] = {}
    for name, sd in (("cnn", None), ("cnn_occ", side)):
        t0 = time.perf_counter()
        model, _hist = train_cnn(ws, part, tp, side=sd)
        train_s[name] = time.perf_counter() - t0
        fitted[name] = model
        scores[name] = (
            predict_torch(model, x_va, side=None if sd is None else sd[va]),
            predict_torch(model, x_te, side=None if sd is None else sd[te]),
        )
    for name, est in feature_models(params.seed).items():
        t0 = time.perf_counter()
        est.fit(feats[tr], y[tr])
        train_s[name] = time.perf_counter() - t0
        fitted[name] = est
        scores[name] = (est.predict_proba(feats[va])[:, 1], est.predict_proba(feats[te])[:, 1])
    scores["occ_rule"] = (-ws["occ"][va].astype(float), -ws["occ"][te].astype(float))
    scores["seed_len_rule"] = (ws["seed_len"][va].astype(float), ws["seed_len"][te].astype(float))
    thresholds, rows = {}, []
    for name, (s_va, s_te) in scores.items():
        thr = choose_threshold(y[va], s_va, tp.target_tpr)
        thresholds[name] = thr
        m = evaluate(y[te], s_te, thr)
        rows.append({"model": name, **m, "train_s": train_s.get(name, 0.0)})
    models = pd.DataFrame(rows)
    with atomic_path(out / "models.tsv") as tmp:
        models.to_csv(tmp, sep="\t", index=False, float_format="%.4f")

    # ONNX: both CNNs exported and checked against torch; timed through ONNX Runtime
    onnx_diff, onnx_paths, coreml = {}, {}, {}
    width = int(ws["qwin"].shape[1])
    for name in ("cnn", "cnn_occ"):
        net = fitted[name]
        meta = {"width": width, "threshold": thresholds[name], "n_side": int(net.n_side)}
        with atomic_path(out / f"{name}.pt") as tmp:
            torch.save({"state_dict": net.state_dict(), "meta": meta}, tmp)
        onnx_paths[name] = out / f"{name}.onnx"
        export_onnx(net, onnx_paths[name], width)
        onnx_diff[name] = check_onnx(net, onnx_paths[name], (512, 1024, 2048))
        export_coreml(net, out / f"{name}.mlpackage", (512, 1024, 2048), width)
        coreml[name] = validate_mlpackage(out / f"{name}.mlpackage", (512, 1024, 2048))

    # the extension stage, every labelled occurrence, interleaved repeats, CPU time
    index = FMIndex.load(index_path)
    wp = _params_from(ws)
    occ_cols = {k: ws[k] for k in ("read", "qstart", "qend", "contig", "pos", "reverse")}
    codes, offsets = ws["read_codes"], ws["read_offsets"]
    seed_len = ws["seed_len"]
    n = len(ws)
    with numba_threads(params.threads), torch_threads(params.threads):
        torch.set_num_threads(params.threads)
        ort = {
            k: OnnxRuntimeBackend(p, ("CPUExecutionProvider",), threads=params.threads)
            for k, p in onnx_paths.items()
        }

        def feat_of(inp) -> np.ndarray:
            return run_features(ws, inp)

        filters: dict[str, Callable] = {
            "cnn": lambda inp: ort["cnn"].predict(one_hot(inp.qwin, inp.rwin)) >= thresholds["cnn"],
            "cnn_occ": lambda inp: (
                ort["cnn_occ"].predict(one_hot(inp.qwin, inp.rwin), side=occ_side(ws["occ"]))
                >= thresholds["cnn_occ"]
            ),
            "occ_rule": lambda inp: -ws["occ"].astype(float) >= thresholds["occ_rule"],
            "seed_len_rule": lambda inp: seed_len.astype(float) >= thresholds["seed_len_rule"],
        }
        for name in ("hgb", "logistic"):
            filters[name] = lambda inp, e=fitted[name], t=thresholds[name]: (
                e.predict_proba(feat_of(inp))[:, 1] >= t
            )
        inp = prepare(index, codes, offsets, occ_cols, wp)
        extend(inp, seed_len, wp, threads=params.threads)  # compile
        for r in ort.values():
            r.warmup(1, wp.width)
        keep = {k: f(inp) for k, f in filters.items()}
        subs = {k: _subset(inp, m) for k, m in keep.items()}
        times: dict[str, list[float]] = {"extend_all": []}
        for k in filters:
            times[k + ":infer"], times[k + ":extend_kept"] = [], []
        for _ in range(params.repeats):
            times["extend_all"].append(
                _cpu_time(lambda: extend(inp, seed_len, wp, threads=params.threads))[0]
            )
            for k, f in filters.items():
                times[k + ":infer"].append(_cpu_time(lambda f=f: f(inp))[0])
                times[k + ":extend_kept"].append(
                    _cpu_time(
                        lambda k=k: extend(subs[k], seed_len[keep[k]], wp, threads=params.threads)
                    )[0]
                )
    ext = np.asarray(times["extend_all"])
    te_mask = part == 2
    yb = y.astype(bool)
    viable_reads = np.unique(ws["read"][te_mask & yb])
    stage_rows = [
        {
            "method": "no filter",
            "loci_extended": n,
            "infer_cpu_s": 0.0,
            "stage_cpu_s": float(np.median(ext)),
            "stage_cpu_s_min": float(ext.min()),
            "stage_cpu_s_max": float(ext.max()),
            "speedup": 1.0,
            "loci_removed": 0.0,
            "test_reads_losing_true_alignment": 0,
            "test_reads_losing_fraction": 0.0,
        }
    ]
    for k in filters:
        inf = np.asarray(times[k + ":infer"])
        stage = inf + np.asarray(times[k + ":extend_kept"])
        kept_reads = np.unique(ws["read"][te_mask & yb & keep[k]])
        lost = int(viable_reads.shape[0] - kept_reads.shape[0])
        stage_rows.append(
            {
                "method": k,
                "loci_extended": int(keep[k].sum()),
                "infer_cpu_s": float(np.median(inf)),
                "stage_cpu_s": float(np.median(stage)),
                "stage_cpu_s_min": float(stage.min()),
                "stage_cpu_s_max": float(stage.max()),
                "speedup": float(np.median(ext / stage)),
                "loci_removed": float(1 - keep[k].mean()),
                "test_reads_losing_true_alignment": lost,
                "test_reads_losing_fraction": lost / max(int(viable_reads.shape[0]), 1),
            }
        )
    stage_df = pd.DataFrame(stage_rows)
    with atomic_path(out / "stage.tsv") as tmp:
        stage_df.to_csv(tmp, sep="\t", index=False, float_format="%.5g")
    summary = {
        "windows": n,
        "read_pairs": int(np.unique(ws["pair"]).shape[0]),
        "split_counts": {k: int((part == i).sum()) for i, k in enumerate(("train", "val", "test"))},
        "test_reads_with_true_alignment": int(viable_reads.shape[0]),
        "thresholds": thresholds,
        "onnx_max_abs_diff_vs_torch": onnx_diff,
        "coreml_spec": coreml,
        "threads": params.threads,
        "repeats": params.repeats,
    }
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return {"fractions": fractions, "models": models, "stage": stage_df, "summary": summary}


def markdown_tables(res: dict) -> str:
    """The fractions, models and stage tables of :func:`evaluate_real` as markdown."""
    f, m, s = res["fractions"], res["models"], res["stage"]
    lines = [
        "| occurrences (loci) | loci | viable per locus | seeds | viable per seed | loci/seed |",
        "|---|---|---|---|---|---|",
    ]
    for r in f.itertuples():
        lines.append(
            f"| {r.stratum} | {r.loci} | {r.viable_fraction_per_locus:.3f} | {r.seeds} | "
            f"{r.viable_fraction_per_seed:.3f} | {r.loci_per_seed:.2f} |"
        )
    lines += [
        "",
        "| model (test split) | AUROC | AUPRC | threshold | TPR | FPR |",
        "|---|---|---|---|---|---|",
    ]
    for r in m.itertuples():
        lines.append(
            f"| {r.model} | {r.auroc:.3f} | {r.auprc:.3f} | {r.threshold:.4g} | {r.tpr:.3f} | "
            f"{r.fpr:.3f} |"
        )
    lines += [
        "",
        "| extension stage | loci extended | infer CPU s | stage CPU s (min-max) | speed-up "
        "| loci removed | test reads losing their true alignment |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in s.itertuples():
        lines.append(
            f"| {r.method} | {r.loci_extended} | {r.infer_cpu_s:.3f} | {r.stage_cpu_s:.3f} "
            f"({r.stage_cpu_s_min:.3f}-{r.stage_cpu_s_max:.3f}) | x{r.speedup:.2f} | "
            f"{100 * r.loci_removed:.1f}% | {r.test_reads_losing_true_alignment} "
            f"({100 * r.test_reads_losing_fraction:.2f}%) |"
        )
    return "\n".join(lines) + "\n"


def run_real(
    maf: str | os.PathLike, workdir: str | os.PathLike, params: RealParams
) -> tuple[dict, dict]:
    """Data (:func:`prepare_data`), labelled occurrences (:func:`windows.label_windows`,
    ``max_occ`` = ``params.max_occ``), then :func:`evaluate_real`; writes ``tables.md``
    too. Returns (evaluation, data info)."""
    from biometal.ml.seedfilter.windows import WindowParams, label_windows

    d, info = prepare_data(maf, workdir, n_pairs=params.n_pairs, seed=params.seed)
    wd = Path(workdir)
    tag = f"p{params.n_pairs}_o{params.max_occ}"
    windows = wd / f"windows_{tag}.npz"
    if not windows.is_file():
        t0 = time.perf_counter()
        info["balance"] = label_windows(
            d.index,
            d.r1,
            d.r2,
            windows,
            wd / f"class_balance_{tag}.tsv",
            n_pairs=params.n_pairs,
            truth=str(d.truth),
            params=WindowParams(max_occ=params.max_occ),
        )
        info["label_s"] = time.perf_counter() - t0
    res = evaluate_real(windows, d.mask, d.index, wd / f"eval_{tag}", params)
    with atomic_path(wd / f"eval_{tag}" / "tables.md") as tmp:
        tmp.write_text(markdown_tables(res))
    return res, info


def load_evaluation(evaldir: str | os.PathLike) -> dict:
    """The tables and summary :func:`evaluate_real` wrote to ``evaldir``."""
    d = Path(evaldir)
    try:
        return {
            "fractions": pd.read_csv(d / "fractions.tsv", sep="\t"),
            "models": pd.read_csv(d / "models.tsv", sep="\t"),
            "stage": pd.read_csv(d / "stage.tsv", sep="\t"),
            "summary": json.loads((d / "summary.json").read_text()),
        }
    except (OSError, ValueError) as exc:
        raise InputFormatError(str(d), None, f"not a finished evaluation: {exc}") from None


def real_card(res: dict, params: RealParams, ref_info: dict | None = None) -> str:
    """Model-card section (markdown) of a real-sequence evaluation: data, labels, the three
    tables, the side-input variant, the command. Every number comes from ``res``."""
    s = res["summary"]
    cmd = "python bench/seedfilter_real.py"
    defaults = RealParams()
    for flag, key in (
        ("--pairs", "n_pairs"),
        ("--max-occ", "max_occ"),
        ("--epochs", "epochs"),
        ("--repeats", "repeats"),
        ("--threads", "threads"),
        ("--seed", "seed"),
    ):
        if getattr(params, key) != getattr(defaults, key):
            cmd += f" {flag} {getattr(params, key)}"
    ref = ""
    if ref_info:
        ref = (
            f" ({ref_info['contigs']} contigs, {ref_info['bp']:,} bp, "
            f"{100 * ref_info['repeat_fraction']:.1f}% soft-masked)"
        )
    diffs = max(max(v.values()) for v in s["onnx_max_abs_diff_vs_torch"].values())
    f = res["fractions"].set_index("stratum")
    m = res["models"].set_index("model")
    st = res["stage"].set_index("method")
    best = st.iloc[1:].sort_values("speedup", ascending=False)
    rep = "locus in repeat (>= 50% soft-masked)"
    reading = (
        f"Reading: {100 * (1 - f.loc['all', 'viable_fraction_per_locus']):.0f}% of the loci "
        f"(and {100 * (1 - f.loc[rep, 'viable_fraction_per_locus']):.0f}% of those in "
        f"repeats) fail, against the 60-80% the design assumed; per seed "
        f"{100 * (1 - f.loc['all', 'viable_fraction_per_seed']):.0f}% fail. The occurrence "
        f"count as an extra CNN input changes the test AUROC from {m.loc['cnn', 'auroc']:.4f} "
        f"to {m.loc['cnn_occ', 'auroc']:.4f}. Extension costs "
        f"{1e6 * st.loc['no filter', 'stage_cpu_s'] / st.loc['no filter', 'loci_extended']:.1f}"
        f" us CPU per locus; the CNN's inference "
        f"{1e6 * st.loc['cnn', 'infer_cpu_s'] / st.loc['no filter', 'loci_extended']:.1f} us, "
        f"so it slows the stage (x{st.loc['cnn', 'speedup']:.2f}); the fastest stage is "
        f"{best.index[0]} (x{best.iloc[0]['speedup']:.2f}, "
        f"{int(best.iloc[0]['test_reads_losing_true_alignment'])} test reads lose their true "
        "alignment). The MAF holds only the blocks aligned in all five primates: "
        "human-specific repeats and segmental duplications are under-represented, so the "
        "whole chromosome is expected to have more failing loci (not measured here)."
    )
    return f"""## On real human sequence (issue 12, item 7)

Data: the human chr22 rows (GRCh37, 17.4-51.2 Mb, the blocks aligned in Ensembl Compara's
5-catarrhini EPO alignment) of the MAF shipped by the Debian package `{MAF_PACKAGE}`
(`{MAF_PATH}`){ref}; each block (abutting blocks merged) is a contig, upper-cased for the
index, its soft-mask (RepeatMasker/TRF lower case) kept for the strata. Truth variants and
{s["read_pairs"]:,} read pairs of 150 bp simulated from it (`biometal.simulate`, default
error model, seed {params.seed}); index by `bwa index`, read with `FMIndex.from_bwa`.

Every occurrence (candidate locus) of every SMEM (>= 19 bp) whose seed has at most
{params.max_occ} occurrences (bwa mem's `-c`) is one labelled example, labelled as in
`windows.py`: VIABLE when the locus is the read's true one (contig, strand, implied start
within 10 bp of the simulator's truth) and the banded extension from it scores >= 100.
A seed is viable when any of its loci is. Models: split 80/10/10 by read pair, threshold
= the highest score keeping >= 95% of the validation split's viable loci, metrics on the
test split. `cnn` sees the windows only; `cnn_occ` also takes `side` = log2(1 + the seed's
occurrence count), a (B, 1) float32 second input (ONNX input `side`; Core ML: both inputs
with one batch range 1..2048, since two enumerated-shape inputs need macOS 15;
`backends.*.predict(windows, side=...)`); `hgb` / `logistic` are the cheap peers on the
seed features, `occ_rule` keeps loci of seeds with few occurrences, `seed_len_rule` long
seeds. ONNX vs torch: largest |difference| {diffs:.1e}.

{markdown_tables(res)}
{reading}

The extension stage is the banded extension of every labelled locus (`windows.extend`),
{s["threads"]} thread, process CPU time, median (min-max) of {s["repeats"]} interleaved
repeats; a filter's stage is its inference (one-hot or features + model) plus the
extension of the loci it keeps. "Test reads losing their true alignment": of the
{s["test_reads_with_true_alignment"]:,} test reads with a viable locus, those whose every
viable locus the filter removed.

Regenerate (about 45 min on 2 cores; `apt-get install {MAF_PACKAGE} bwa`):

    {cmd} --card models/seedfilter_real.md
"""
