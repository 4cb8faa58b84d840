"""Read classification on the simulated metagenome: which genome each read comes from.

Three classifiers, the same genomes, the same test reads:

- ``kmer``: the exact k-mer classifier (:mod:`biometal.ml.kmer_classify`, k = 31 by
  default) indexed on the genomes FASTA;
- ``dnabert_pretrained``: the DNABERT case study's MLM-pretrained encoder + a linear head,
  fine-tuned on labelled reads (:mod:`biometal.ml.dnabert.finetune`);
- ``dnabert_scratch``: the same architecture, steps and data from a random initialisation.

Data (:func:`prepare_data`). Training reads: the first ``n_train`` R1 reads of the
metagenome, labelled from its truth table. Test sets: ``heldout`` = the R2 reads of the
last ``n_test`` pairs (other fragments than the training reads; the MLM pretraining saw
R1 only, unlabelled); ``diverged_<p>pct`` = single-end reads (same read length and error
model as the metagenome, no adapters) from copies of every genome with ``p``% point
substitutions (+ p/10 % short indels), ``reads_per_genome`` per genome: a strain that
neither classifier saw. Each test set is also scored with reads cut to each of
``lengths`` bp (accuracy vs read length). DNABERT sees at most ``max_length - 2`` k-mer
tokens of a read, i.e. ``max_length - 3 + k`` bases.

Cost (:data:`COST_COLUMNS`): CPU seconds (``time.process_time``, one thread each: numba
1 thread, ONNX Runtime 1 intra-op thread, torch 1 thread) of classifying each set at full
length, after a warm-up (numba compilation and ONNX Runtime session creation excluded),
and of building (k-mer index) or fine-tuning (DNABERT). DNABERT inference runs on the
exported ONNX model through :class:`~biometal.ml.dnabert.export.DnaBertOnnxBackend`; torch
inference of the same model is timed on the held-out set for comparison.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path
from biometal.io.fastx import FastqWriter, ReadChunk, read_fastq_chunks
from biometal.ml.kmer_classify import DEFAULT_GROUP
from biometal.stats import wilson_interval
from biometal.workflow.dnabert_classify import set_name

log = logging.getLogger(__name__)

METHODS = ("kmer", "dnabert_pretrained", "dnabert_scratch")
PRED_COLUMNS = ["set", "length", "read", "true", "pred"]
COST_COLUMNS = ["method", "engine", "set", "reads", "cpu_s", "wall_s", "fit_cpu_s"]
TABLE_COLUMNS = [
    "method",
    "set",
    "reads",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "macro_f1",
    "unclassified",
    "cpu_s",
    "cpu_s_per_million_reads",
    "fit_cpu_s",
]


def _group(contig: str) -> str:
    return re.sub(DEFAULT_GROUP, "", contig)


def read_all(path: str | os.PathLike) -> ReadChunk:
    """Every read of a (small) FASTQ as one chunk."""
    parts = list(read_fastq_chunks(path, 65536))
    if not parts:
        return ReadChunk(np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(1, np.int64))
    codes = np.concatenate([p.codes for p in parts])
    qual = np.concatenate([p.qual for p in parts])
    lens = np.concatenate([np.diff(p.offsets) for p in parts])
    off = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    return ReadChunk(codes, qual, off)


def truncate(chunk: ReadChunk, length: int) -> ReadChunk:
    """The chunk with every read cut to its first ``length`` bases (0: unchanged)."""
    if length <= 0:
        return chunk
    starts = chunk.offsets[:-1]
    lens = np.minimum(np.diff(chunk.offsets), length)
    idx = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lens, strict=True)])
    off = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    idx = idx.astype(np.int64) if idx.size else np.zeros(0, np.int64)
    return ReadChunk(chunk.codes[idx], chunk.qual[idx], off)


def class_names(genomes_fa: str | os.PathLike) -> list[str]:
    """The classes (genomes) of a genomes FASTA, sorted (label = index)."""
    from biometal.io.fastx import read_fasta

    return sorted({_group(r.id) for r in read_fasta(genomes_fa)})


def truth_labels(truth: str | os.PathLike, classes: Sequence[str]) -> np.ndarray:
    """int16 label of every pair of the metagenome truth table, in FASTQ order."""
    genome = pd.read_csv(truth, sep="\t", usecols=["genome"])["genome"]
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(genome) - set(index))
    if unknown:
        raise ConfigError(f"{truth}: genomes {unknown[:3]} are not in the genomes FASTA")
    return genome.map(index).to_numpy(np.int16)


# ----------------------------------------------------------------------------- data


def prepare_data(
    genomes_fa: str | os.PathLike,
    r2: str | os.PathLike,
    truth: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    n_train: int,
    n_test: int,
    divergences: Sequence[float],
    reads_per_genome: int,
    read_length: int = 150,
    seed: int = 0,
) -> dict:
    """Write ``heldout.fq.gz``, ``diverged_<p>pct.fq.gz``, ``labels.tsv`` (set, read, label)
    and ``classes.txt`` under ``out_dir``; returns a summary (see the module doc)."""
    from biometal.simulate._seq import mutate, read_fasta, seed_sequence
    from biometal.simulate._sequencer import ErrorModel, simulate_pairs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    classes = class_names(genomes_fa)
    labels = truth_labels(truth, classes)
    n_pairs = len(labels)
    if n_train + n_test > n_pairs:
        raise ConfigError(
            f"dnabert_classify: n_train + n_test ({n_train} + {n_test}) exceeds the "
            f"metagenome's {n_pairs} pairs"
        )
    first = n_pairs - n_test
    rows = []
    with FastqWriter(out / "heldout.fq.gz") as w:
        seen = 0
        for chunk in read_fastq_chunks(r2, 16384):
            n = len(chunk)
            lo = max(first - seen, 0)
            if lo < n:
                a = int(chunk.offsets[lo])
                off = chunk.offsets[lo:] - a
                w.write_chunk(ReadChunk(chunk.codes[a:], chunk.qual[a:], off))
            seen += n
    rows.append(
        pd.DataFrame({"set": "heldout", "read": np.arange(n_test), "label": labels[first:]})
    )
    contigs = read_fasta(genomes_fa)
    ss = seed_sequence(seed, "dnabert_classify")
    for d in divergences:
        mut_ss, frag_ss, seq_ss = ss.spawn(3)
        rng = np.random.default_rng(mut_ss)
        seqs, owner = [], []
        for name in sorted(contigs):
            seqs.append(mutate(rng, contigs[name], d, d / 10))
            owner.append(classes.index(_group(name)))
        lens = np.array([s.size for s in seqs])
        source = np.concatenate(seqs)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        frng = np.random.default_rng(frag_ss)
        frag_len = 2 * read_length
        pick_c, pick_s, lab = [], [], []
        for g in range(len(classes)):
            cs = [i for i, o in enumerate(owner) if o == g and lens[i] > frag_len]
            if not cs:
                raise ConfigError(
                    f"{genomes_fa}: genome {classes[g]} is shorter than {frag_len} bp"
                )
            w_ = lens[cs] - frag_len
            c = np.asarray(cs)[frng.choice(len(cs), reads_per_genome, p=w_ / w_.sum())]
            pick_c.append(c)
            pick_s.append(starts[c] + (frng.random(c.size) * (lens[c] - frag_len)).astype(np.int64))
            lab.append(np.full(c.size, g, np.int16))
        fstart = np.concatenate(pick_s)
        names = [f"{set_name(d)}_{i}".encode() for i in range(fstart.size)]
        minus = frng.random(fstart.size) < 0.5
        simulate_pairs(
            source, fstart, np.full(fstart.size, frag_len, np.int64), minus, names,
            read_length, ErrorModel(), seq_ss, out / f"{set_name(d)}.fq.gz", None,
        )  # fmt: skip
        lab_all = np.concatenate(lab)
        rows.append(
            pd.DataFrame({"set": set_name(d), "read": np.arange(lab_all.size), "label": lab_all})
        )
    table = pd.concat(rows, ignore_index=True)
    with atomic_path(out / "labels.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    with atomic_path(out / "classes.txt") as tmp:
        Path(tmp).write_text("\n".join(classes) + "\n")
    return {"classes": classes, "n_pairs": n_pairs, "sets": table["set"].value_counts().to_dict()}


def load_sets(
    data_dir: str | os.PathLike,
) -> tuple[list[str], dict[str, tuple[ReadChunk, np.ndarray]]]:
    """(classes, {set: (reads, labels int16)}) written by :func:`prepare_data`."""
    d = Path(data_dir)
    classes = (d / "classes.txt").read_text().split()
    labels = pd.read_csv(d / "labels.tsv", sep="\t")
    sets = {}
    for name, grp in labels.groupby("set", sort=False):
        chunk = read_all(d / f"{name}.fq.gz")
        if len(chunk) != len(grp):
            raise ConfigError(f"{d / f'{name}.fq.gz'}: {len(chunk)} reads, {len(grp)} labels")
        sets[str(name)] = (chunk, grp.sort_values("read")["label"].to_numpy(np.int16))
    return classes, sets


def _pred_frame(set_: str, length: int, true: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"set": set_, "length": length, "read": np.arange(len(true)), "true": true, "pred": pred}
    )


def _write(table: pd.DataFrame, out: str | os.PathLike) -> None:
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def _timed(fn, *args):
    c0, w0 = time.process_time(), time.perf_counter()
    res = fn(*args)
    return res, time.process_time() - c0, time.perf_counter() - w0


def run_kmer(
    genomes_fa: str | os.PathLike,
    data_dir: str | os.PathLike,
    pred_out: str | os.PathLike,
    cost_out: str | os.PathLike,
    *,
    k: int = 31,
    lengths: Sequence[int] = (),
    min_hits: int = 1,
) -> pd.DataFrame:
    """Index the genomes, classify every test set (full length and cut to ``lengths``);
    write predictions and costs (one numba thread)."""
    from biometal._threads import numba_threads
    from biometal.ml.kmer_classify import KmerClassifier

    classes, sets = load_sets(data_dir)
    with numba_threads(1):
        warm = KmerClassifier(k, ["a"], np.zeros(1, np.uint64), np.zeros(1, np.int16))
        first = next(iter(sets.values()))[0]
        warm.classify(truncate(first, 40))  # compile (or load the cache) outside the timing
        clf, build_cpu, _ = _timed(KmerClassifier.build, genomes_fa, k)
        if clf.classes != classes:
            raise ConfigError(f"{genomes_fa}: classes {clf.classes} != {classes}")
        preds, costs = [], []
        for name, (chunk, true) in sets.items():
            for length in (0, *lengths):
                part = truncate(chunk, length)
                pred, cpu, wall = _timed(clf.classify, part, min_hits)
                preds.append(_pred_frame(name, length, true, pred))
                if length == 0:
                    costs.append(["kmer", "numba", name, len(true), cpu, wall, build_cpu])
    table = pd.concat(preds, ignore_index=True)
    _write(table, pred_out)
    _write(pd.DataFrame(costs, columns=COST_COLUMNS), cost_out)
    log.info(
        "k-mer index: %d k-mers (%d shared), built in %.2f CPU s",
        len(clf.keys),
        clf.n_shared,
        build_cpu,
    )
    return table


def finetune_classifier(
    init: str,
    r1: str | os.PathLike,
    truth: str | os.PathLike,
    genomes_fa: str | os.PathLike,
    model_out: str | os.PathLike,
    log_out: str | os.PathLike,
    *,
    pretrained: str | os.PathLike,
    n_train: int,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    warmup: float = 0.1,
    dropout: float = 0.1,
    reverse_complement: float = 0.5,
    mutation_rate: float = 0.0,
    token_mask: float = 0.0,
    freeze_encoder: bool = False,
    seed: int = 0,
) -> dict:
    """Fine-tune a classifier (``init``: ``pretrained`` encoder of the MLM checkpoint, or
    ``scratch`` of the same size) on the first ``n_train`` R1 reads; save it
    (:func:`~biometal.ml.dnabert.finetune.save_classifier`) and the loss log."""
    import torch

    from biometal._threads import set_torch_threads
    from biometal.ml.dnabert import finetune as ft
    from biometal.ml.dnabert.model import BertConfig
    from biometal.ml.tokenizer import KmerTokenizer

    if init not in ("pretrained", "scratch"):
        raise ConfigError(f"dnabert_classify: init must be pretrained or scratch, got {init!r}")
    set_torch_threads(1)
    classes = class_names(genomes_fa)
    labels = truth_labels(truth, classes)
    enc, meta = ft.load_pretrained(pretrained)
    torch.manual_seed(seed)
    if init == "pretrained":
        model = ft.SequenceClassifier(enc, len(classes), "multiclass", dropout=dropout)
    else:
        model = ft.from_scratch(BertConfig(**meta["model"]), len(classes), dropout=dropout)
    if freeze_encoder:
        ft.freeze_encoder(model, True)
    tok = meta["tokenizer"]
    ds = ft.LabelledReads(
        [os.fspath(r1)], labels, k=tok["k"], stride=tok["stride"],
        tokenizer=KmerTokenizer(tok["k"], tok["stride"]), max_length=meta["model"]["max_length"],
        batch_size=batch_size, chunk_reads=max(batch_size, 4096), max_reads=n_train, seed=seed,
        reverse_complement=reverse_complement, mutation_rate=mutation_rate, token_mask=token_mask,
    )  # fmt: skip
    tuner = ft.FineTuner(model, ds, total_steps=steps, lr=lr, warmup=warmup)
    losses, cpu, wall = _timed(tuner.train, steps)
    ft.save_classifier(
        model, model_out, classes=classes, init=init, tokenizer=tok, steps=steps,
        train_reads=tuner.reads, fit_cpu_s=cpu, fit_wall_s=wall, pretrained=os.fspath(pretrained),
    )  # fmt: skip
    _write(pd.DataFrame({"step": np.arange(1, len(losses) + 1), "loss": losses}), log_out)
    return {"fit_cpu_s": cpu, "reads": tuner.reads, "final_loss": float(np.mean(losses[-10:]))}


def run_dnabert(
    model_path: str | os.PathLike,
    data_dir: str | os.PathLike,
    onnx_out: str | os.PathLike,
    pred_out: str | os.PathLike,
    cost_out: str | os.PathLike,
    export_out: str | os.PathLike,
    *,
    lengths: Sequence[int] = (),
    batch_size: int = 128,
    atol: float = 1e-4,
) -> pd.DataFrame:
    """Export the fine-tuned classifier to ONNX (checked against torch), classify every
    test set through ONNX Runtime (1 thread, CPU provider) and time torch on ``heldout``."""
    import torch

    from biometal._threads import set_torch_threads
    from biometal.ml.dnabert import export as ex
    from biometal.ml.dnabert.finetune import load_classifier
    from biometal.ml.tokenizer import KmerTokenizer

    set_torch_threads(1)
    model, meta = load_classifier(model_path)
    method = f"dnabert_{meta['init']}"
    report = ex.export_all(model, onnx_out, batch_sizes=(1, batch_size), atol=atol)
    with atomic_path(export_out) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    classes, sets = load_sets(data_dir)
    if classes != meta["classes"]:
        raise ConfigError(f"{model_path}: trained on classes {meta['classes']}, data has {classes}")
    tok = KmerTokenizer(meta["tokenizer"]["k"], meta["tokenizer"]["stride"])
    L = int(meta["model"]["max_length"])
    backend = ex.DnaBertOnnxBackend(
        onnx_out, ("CPUExecutionProvider",), batch_sizes=(batch_size,), threads=1
    )
    backend.warmup(1, width=L)

    def onnx_classify(chunk: ReadChunk) -> np.ndarray:
        ids = tok.encode_chunk(chunk, max_length=L).ids
        return backend.predict(ids).argmax(1).astype(np.int32)

    @torch.no_grad()
    def torch_classify(chunk: ReadChunk) -> np.ndarray:
        ids = torch.from_numpy(tok.encode_chunk(chunk, max_length=L).ids.astype(np.int64))
        out = [model(ids[s : s + batch_size]).argmax(1) for s in range(0, len(ids), batch_size)]
        return torch.cat(out).numpy().astype(np.int32)

    preds, costs = [], []
    fit = float(meta["fit_cpu_s"])
    for name, (chunk, true) in sets.items():
        for length in (0, *lengths):
            part = truncate(chunk, length)
            pred, cpu, wall = _timed(onnx_classify, part)
            preds.append(_pred_frame(name, length, true, pred))
            if length == 0:
                costs.append([method, "onnxruntime", name, len(true), cpu, wall, fit])
                if name == "heldout":
                    tp, cpu_t, wall_t = _timed(torch_classify, part)
                    costs.append([method, "torch", name, len(true), cpu_t, wall_t, fit])
                    agree = float((tp == pred).mean())
                    costs[-1].append(agree)
                    costs[-2].append(agree)
    for row in costs:
        if len(row) == len(COST_COLUMNS):
            row.append(float("nan"))
    table = pd.concat(preds, ignore_index=True)
    _write(table, pred_out)
    _write(pd.DataFrame(costs, columns=[*COST_COLUMNS, "onnx_torch_agreement"]), cost_out)
    return table


# ----------------------------------------------------------------------------- summary


def summarize(
    preds: dict[str, str | os.PathLike],
    costs: Sequence[str | os.PathLike],
    classes_txt: str | os.PathLike,
    table_out: str | os.PathLike,
    by_length_out: str | os.PathLike,
    confusion_out: str | os.PathLike,
    cost_out: str | os.PathLike,
) -> pd.DataFrame:
    """The classification table (method x set at full length: accuracy with Wilson 95% CI,
    macro F1 over the genomes, unclassified fraction, CPU s per million reads, fit CPU s),
    accuracy by read length, confusion matrices and the merged cost table."""
    from biometal.ml.dnabert.finetune import f1_score

    classes = Path(classes_txt).read_text().split()
    cost = pd.concat([pd.read_csv(c, sep="\t") for c in costs], ignore_index=True)
    rows, by_len, conf = [], [], []
    for method, path in preds.items():
        p = pd.read_csv(path, sep="\t")
        for (set_, length), g in p.groupby(["set", "length"], sort=False):
            t, q = g["true"].to_numpy(), g["pred"].to_numpy()
            k = int((t == q).sum())
            acc = k / len(t)
            f1 = f1_score(t, q, labels=list(range(len(classes))))
            by_len.append([method, set_, int(length), len(t), acc, f1])
            if length != 0:
                continue
            c = cost[(cost["method"] == method) & (cost["set"] == set_)]
            c = c[c["engine"] != "torch"]
            cpu = float(c["cpu_s"].iloc[0]) if len(c) else float("nan")
            fit = float(c["fit_cpu_s"].iloc[0]) if len(c) else float("nan")
            lo, hi = wilson_interval(k, len(t))
            rows.append(
                [method, set_, len(t), acc, lo, hi, f1, float((q < 0).mean()), cpu,
                 cpu / len(t) * 1e6, fit]
            )  # fmt: skip
            m = np.zeros((len(classes), len(classes) + 1), np.int64)
            np.add.at(m, (t, np.where(q < 0, len(classes), q)), 1)
            for i, name in enumerate(classes):
                conf.append([method, set_, name, *m[i].tolist()])
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    _write(table, table_out)
    _write(
        pd.DataFrame(by_len, columns=["method", "set", "length", "reads", "accuracy", "macro_f1"]),
        by_length_out,
    )
    _write(
        pd.DataFrame(conf, columns=["method", "set", "true", *classes, "unclassified"]),
        confusion_out,
    )
    cost["cpu_s_per_million_reads"] = cost["cpu_s"] / cost["reads"] * 1e6
    _write(cost, cost_out)
    return table


# ----------------------------------------------------------------------------- export


EXPORT_COLUMNS = [
    "model", "format", "path", "bytes", "max_abs_diff_vs_torch", "atol", "batch_sizes",
    "n_ops", "quantized_weight_ops", "check",
]  # fmt: skip


def export_models(
    encoder_pt: str | os.PathLike,
    classifier_pt: str | os.PathLike,
    classifier_reports: dict[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    table_out: str | os.PathLike,
    *,
    batch_sizes: Sequence[int] = (1, 32, 128),
    atol: float = 1e-4,
) -> pd.DataFrame:
    """Export the case study's encoder (ONNX + Core ML FP16 + INT8) and the fine-tuned
    classifier ``classifier_pt`` (Core ML FP16 + INT8; its ONNX came with its predictions,
    ``classifier_reports``: {name: JSON report}) under ``out_dir``; write the checks table."""
    from biometal._threads import set_torch_threads
    from biometal.ml.dnabert import export as ex
    from biometal.ml.dnabert.finetune import load_classifier
    from biometal.ml.dnabert.train import load_model

    set_torch_threads(1)
    out = Path(out_dir)
    enc, _ = load_model(encoder_pt)
    clf, meta = load_classifier(classifier_pt)
    reports = {
        "encoder": ex.export_all(
            enc, out / "encoder.onnx", out / "encoder.mlpackage",
            out / "encoder_int8.mlpackage", batch_sizes=batch_sizes, atol=atol,
        ),
    }  # fmt: skip
    name = f"classifier_{meta['init']}"
    rep = json.loads(Path(classifier_reports[name]).read_text())
    paths = {False: out / f"{name}.mlpackage", True: out / f"{name}_int8.mlpackage"}
    ex.export_coreml(clf, paths[False], batch_sizes, int8_path=paths[True])
    for key, int8 in (("coreml", False), ("coreml_int8", True)):
        path = paths[int8]
        rep[key] = ex.validate_mlpackage(
            path, batch_sizes, int8=int8, input_name=ex.INPUT_NAME, output_name=ex.LOGITS_NAME
        )
        rep[key]["path"] = str(path)
    reports[name] = rep
    for other, path in classifier_reports.items():
        if other != name:
            reports[other] = json.loads(Path(path).read_text())
    rows = []
    for model, r in reports.items():
        o = r["onnx"]
        rows.append(
            [model, "onnx", o["path"], o["bytes"], max(o["max_abs_diff_vs_torch"].values()),
             o["atol"], ",".join(o["max_abs_diff_vs_torch"]), float("nan"), float("nan"),
             "onnxruntime == torch"]
        )  # fmt: skip
        for key in ("coreml", "coreml_int8"):
            if key in r:
                c = r[key]
                rows.append(
                    [model, key, c["path"], c["bytes"], float("nan"), float("nan"),
                     ",".join(map(str, c["batch_sizes"])), c["n_ops"],
                     c["quantized_weight_ops"], "spec (ML program, input_ids -> output)"]
                )  # fmt: skip
    table = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    _write(table, table_out)
    return table


# ----------------------------------------------------------------------------- report


def figures(
    table: str | os.PathLike,
    by_length: str | os.PathLike,
    confusion: str | os.PathLike,
    cost: str | os.PathLike,
    out_confusion: str | os.PathLike,
    out_length: str | os.PathLike,
    out_cost: str | os.PathLike,
    read_length: int = 150,
) -> None:
    """Confusion matrices (held-out reads), accuracy vs read length, cost per million reads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = pd.read_csv(confusion, sep="\t")
    conf = conf[conf["set"] == "heldout"]
    methods = list(dict.fromkeys(conf["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 4.4), squeeze=False)
    for ax, m in zip(axes[0], methods, strict=True):
        sub = conf[conf["method"] == m]
        cols = [c for c in sub.columns if c not in ("method", "set", "true")]
        mat = sub[cols].to_numpy(float)
        frac = mat / np.maximum(mat.sum(1, keepdims=True), 1)
        ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
        ax.set_xticks(range(len(cols)), [c.replace("genome", "g") for c in cols], rotation=45)
        ax.set_yticks(range(len(sub)), [t.replace("genome", "g") for t in sub["true"]])
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if mat[i, j]:
                    ax.text(j, i, f"{int(mat[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if frac[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_title(m, fontsize=10)
        ax.set_xlabel("predicted")
    axes[0][0].set_ylabel("true genome")
    fig.tight_layout()
    with atomic_path(out_confusion) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)

    bl = pd.read_csv(by_length, sep="\t")
    bl["x"] = np.where(bl["length"] == 0, read_length, bl["length"])
    bl = bl.sort_values(["x", "length"]).drop_duplicates(["method", "set", "x"], keep="first")
    sets = list(dict.fromkeys(bl["set"]))
    fig, axes = plt.subplots(
        1, len(sets), figsize=(3.6 * len(sets), 3.4), squeeze=False, sharey=True
    )
    for ax, s in zip(axes[0], sets, strict=True):
        for m in dict.fromkeys(bl["method"]):
            g = bl[(bl["set"] == s) & (bl["method"] == m)]
            ax.plot(g["x"], g["accuracy"], marker="o", label=m)
        ax.set_title(s, fontsize=10)
        ax.set_xlabel("read length (bp)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("per-read accuracy")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out_length) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)

    c = pd.read_csv(cost, sep="\t")
    c = c[c["set"] == "heldout"]
    labels = [f"{m}\n({e})" for m, e in zip(c["method"], c["engine"], strict=True)]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar(range(len(c)), c["cpu_s_per_million_reads"], color="tab:blue")
    ax.set_xticks(range(len(c)), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("CPU s per million reads\n(1 thread, held-out reads)")
    for i, (v, f) in enumerate(zip(c["cpu_s_per_million_reads"], c["fit_cpu_s"], strict=True)):
        ax.text(i, v, f"{v:.0f}\nfit {f:.1f} s", ha="center", va="bottom", fontsize=7)
    fig.tight_layout()
    with atomic_path(out_cost) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def model_card(
    table: str | os.PathLike,
    export: str | os.PathLike,
    classifier_pt: str | os.PathLike,
    out: str | os.PathLike,
) -> None:
    """A Markdown model card of the fine-tuned classifier and the exported models."""
    import torch

    meta = torch.load(classifier_pt, map_location="cpu", weights_only=True)["meta"]
    t = pd.read_csv(table, sep="\t")
    e = pd.read_csv(export, sep="\t")
    m = meta["model"]
    lines = [
        "# DNABERT read classifier (biometal, target dnabert_classify)",
        "",
        "Which genome of the simulated metagenome a read comes from.",
        "",
        "## Model",
        f"- Encoder: BERT-style, {m['layers']} layers, hidden {m['hidden']}, {m['heads']} heads, "
        f"ff {m['ff']}, {'pre' if m['norm_first'] else 'post'}-norm; k-mer tokens "
        f"k={meta['tokenizer']['k']} stride {meta['tokenizer']['stride']}, "
        f"{m['max_length']} tokens per read (longer reads are truncated).",
        f"- Initialisation: {meta['init']} ({meta.get('pretrained', '')}); head: "
        f"{meta['pool']} pooling + linear, {meta['n_out']} classes: {', '.join(meta['classes'])}.",
        f"- Fine-tuning: {meta['steps']} steps, {meta['train_reads']} reads, "
        f"{meta['fit_cpu_s']:.1f} CPU s (1 thread).",
        "",
        "## Exported files (input `input_ids` int32 (B, L), 0-padded; output `logits`)",
        "",
        e.to_markdown(index=False) if _has_tabulate() else e.to_string(index=False),
        "",
        "Core ML packages are validated by loading their specs on Linux (coremltools cannot run "
        "them there); run them on macOS with `biometal.ml.dnabert.export.DnaBertCoreMLBackend`.",
        "",
        "## Results (per read; CPU s per million reads on 1 thread; k-mer baseline beside)",
        "",
        t.to_markdown(index=False, floatfmt=".4g") if _has_tabulate() else t.to_string(index=False),
        "",
        "## Regenerate",
        "",
        "    snakemake --cores 2 dnabert_classify",
        "    snakemake --cores 2 dnabert_classify --configfile config/dnabert_classify_large.yaml",
        "",
    ]
    with atomic_path(out) as tmp:
        Path(tmp).write_text("\n".join(lines))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
