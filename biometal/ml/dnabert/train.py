"""MLM training on streamed reads and masked-token evaluation on held-out high-quality reads.

:func:`train_mlm` streams :class:`~biometal.ml.DnaBertDataset` batches (never loading the
inputs) into :class:`~biometal.ml.dnabert.model.BertMLM` for a fixed number of steps and
records, every ``log_every`` steps: the mean loss, tokens/s and reads/s (tokens: non-padding
input tokens, specials included), the process's resident memory (current and peak) and the
elapsed time. Quality-aware modes: ``mask`` (low-quality k-mers enter as [MASK], never MLM
targets), ``weight`` (loss weighted by the probability that the target k-mer is right),
``probabilistic`` (low-quality k-mers enter as the probability-weighted mean of their
candidate k-mers' embeddings).

:func:`evaluate_mlm` scores saved models on the same fixed set of masked positions of
held-out reads whose every tokenized base has Phred >= ``min_quality``: every selected
position is replaced by [MASK] (contiguous spans, as in training), accuracy is the fraction
whose argmax is the true k-mer.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biometal._threads import set_torch_threads
from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path
from biometal.io.fastx import ReadChunk, read_fastq_chunks
from biometal.io.sources import display_name
from biometal.ml.dataset import IGNORE_INDEX, DnaBertDataset, iterate_loader, mlm_mask
from biometal.ml.dnabert.model import BertConfig, BertMLM
from biometal.ml.quality import kmer_positions
from biometal.ml.tokenizer import KmerTokenizer
from biometal.progress import Progress
from biometal.stats import wilson_interval

log = logging.getLogger(__name__)
MODES = ("standard", "mask", "weight", "probabilistic")
TRAIN_COLUMNS = [
    "mode",
    "step",
    "elapsed_s",
    "loss",
    "reads",
    "tokens",
    "tokens_per_s",
    "reads_per_s",
    "rss_mb",
    "peak_rss_mb",
]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB (Linux /proc; else peak only)."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 1024
        return peak_mb, peak_mb


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"dnabert mode must be one of {', '.join(MODES)}, got {mode!r}")


def train_mlm(
    inputs: Sequence[str | os.PathLike],
    model_out: str | os.PathLike,
    log_out: str | os.PathLike,
    *,
    mode: str = "standard",
    k: int = 6,
    stride: int = 1,
    max_length: int = 128,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    ff: int = 256,
    dropout: float = 0.1,
    norm_first: bool = True,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 1e-3,
    warmup: float = 0.1,
    mlm_probability: float = 0.15,
    mlm_span: int = 6,
    quality_threshold: int = 20,
    reverse_complement: float = 0.0,
    chunk_reads: int = 4096,
    num_workers: int = 0,
    threads: int = 1,
    log_every: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Train a BertMLM for ``steps`` steps on ``inputs`` (paths or URLs); write the model
    (``torch.save`` of state dict + configs) and the training log TSV (:data:`TRAIN_COLUMNS`).

    Returns the log. Epochs restart the stream (with new MLM masks) until ``steps`` is reached.
    """
    _check_mode(mode)
    if steps < 1:
        raise ConfigError(f"dnabert.steps must be >= 1, got {steps}")
    torch.manual_seed(seed)
    set_torch_threads(max(1, threads))  # not restored: one job per process
    tok = KmerTokenizer(k, stride)
    ds = DnaBertDataset(
        [os.fspath(p) for p in inputs],
        k=k,
        max_length=max_length,
        stride=stride,
        quality_aware=False if mode == "standard" else mode,
        quality_threshold=quality_threshold,
        mlm_probability=mlm_probability,
        mlm_span=mlm_span,
        seed=seed,
        batch_size=batch_size,
        chunk_reads=chunk_reads,
        reverse_complement=reverse_complement,
        tokenizer=tok,
    )
    config = BertConfig(
        tok.vocab_size, max_length, hidden, layers, heads, ff, dropout, tok.pad_id, norm_first
    )
    model = BertMLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    n_warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / n_warm, max(0.0, (steps - s) / max(1, steps - n_warm)))
    )
    loader = torch.utils.data.DataLoader(
        ds, batch_size=None, num_workers=num_workers, persistent_workers=False
    )
    rows: list[dict] = []
    step = epoch = 0
    win_loss, win_n = 0.0, 0
    reads = tokens = 0
    t0 = time.perf_counter()
    t_last, tokens_last, reads_last = t0, 0, 0
    progress = Progress(log, f"dnabert {mode} training", total=steps, unit="steps")
    model.train()
    while step < steps:
        ds.set_epoch(epoch)
        n_batches = 0
        for batch in iterate_loader(loader):
            n_batches += 1
            loss, n = model.mlm_loss(batch, weighted=mode == "weight")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if n:
                win_loss += float(loss.detach())
                win_n += 1
            reads += len(batch["input_ids"])
            tokens += int(batch["attention_mask"].sum())
            progress.update(1, f"epoch {epoch + 1}, {reads:,} reads")
            if step % log_every == 0 or step == steps:
                now = time.perf_counter()
                cur, peak = rss_mb()
                dt = max(now - t_last, 1e-9)
                rows.append(
                    {
                        "mode": mode,
                        "step": step,
                        "elapsed_s": now - t0,
                        "loss": win_loss / win_n if win_n else float("nan"),
                        "reads": reads,
                        "tokens": tokens,
                        "tokens_per_s": (tokens - tokens_last) / dt,
                        "reads_per_s": (reads - reads_last) / dt,
                        "rss_mb": cur,
                        "peak_rss_mb": peak,
                    }
                )
                log.info(
                    "%s step %d loss %.4f %.0f tokens/s rss %.0f MiB",
                    mode, step, rows[-1]["loss"], rows[-1]["tokens_per_s"], cur,
                )  # fmt: skip
                win_loss, win_n = 0.0, 0
                t_last, tokens_last, reads_last = now, tokens, reads
            if step >= steps:
                break
        if n_batches == 0:
            names = ", ".join(display_name(p) for p in inputs)
            raise ConfigError(f"dnabert: no reads in the training inputs ({names})")
        epoch += 1
    progress.done(f"{reads:,} reads, {tokens:,} tokens")
    table = pd.DataFrame(rows, columns=TRAIN_COLUMNS)
    meta = {
        "mode": mode,
        "model": config.to_dict(),
        "tokenizer": {"k": k, "stride": stride},
        "quality_threshold": quality_threshold,
        "steps": steps,
        "epochs_started": epoch,
        "reads": reads,
        "tokens": tokens,
        "seconds": time.perf_counter() - t0,
        "inputs": [display_name(p) for p in inputs],
    }
    with atomic_path(model_out) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
    with atomic_path(log_out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table


def load_model(path: str | os.PathLike) -> tuple[BertMLM, dict]:
    """(model in eval mode, metadata) saved by :func:`train_mlm`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    meta = saved["meta"]
    model = BertMLM(BertConfig(**meta["model"]))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, meta


def heldout_reads(
    paths: Sequence[str | os.PathLike],
    tokenizer: KmerTokenizer,
    *,
    max_length: int,
    min_quality: int,
    n_reads: int,
    chunk_reads: int = 16384,
) -> tuple[ReadChunk, int]:
    """(the first ``n_reads`` reads whose every tokenized base has Phred >= min_quality,
    reads scanned). Only the selected reads are kept."""
    parts_c, parts_q, lengths = [], [], []
    scanned = 0
    for path in paths:
        for chunk in read_fastq_chunks(path, chunk_reads):
            toks = tokenizer.encode_chunk(chunk, max_length=max_length)
            is_kmer = kmer_positions(toks.n_tokens, max_length)
            lowest = np.where(is_kmer, toks.min_qual, 255).min(axis=1)
            good = np.flatnonzero((lowest >= min_quality) & (is_kmer.sum(1) > 0))
            good = good[: n_reads - len(lengths)]
            for i in good.tolist():
                a, b = int(chunk.offsets[i]), int(chunk.offsets[i + 1])
                parts_c.append(chunk.codes[a:b])
                parts_q.append(chunk.qual[a:b])
                lengths.append(b - a)
            scanned += len(chunk)
            if len(lengths) >= n_reads:
                break
        if len(lengths) >= n_reads:
            break
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if not lengths:
        return ReadChunk(np.zeros(0, np.uint8), np.zeros(0, np.uint8), offsets), scanned
    return ReadChunk(np.concatenate(parts_c), np.concatenate(parts_q), offsets), scanned


@torch.no_grad()
def evaluate_mlm(
    models: dict[str, str | os.PathLike],
    heldout: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    min_quality: int = 20,
    n_reads: int = 2000,
    mlm_probability: float = 0.15,
    mlm_span: int = 6,
    batch_size: int = 64,
    threads: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Masked-token accuracy of each model (``{mode: model path}``) on held-out reads.

    Every model sees the same reads and the same masked positions. Writes and returns one
    row per model: ``mode, reads, reads_scanned, min_quality, masked_tokens, accuracy,
    accuracy_ci_low, accuracy_ci_high`` (Wilson 95% interval), ``cross_entropy``,
    ``perplexity``, ``train_steps``, ``train_seconds``.
    """
    set_torch_threads(max(1, threads))  # not restored: one job per process
    loaded = {mode: load_model(path) for mode, path in models.items()}
    metas = [m for _, m in loaded.values()]
    first = metas[0]
    for meta in metas[1:]:
        if (
            meta["tokenizer"] != first["tokenizer"]
            or meta["model"]["max_length"] != first["model"]["max_length"]
        ):
            raise ConfigError("dnabert: the models to compare use different tokenizations")
    tok = KmerTokenizer(first["tokenizer"]["k"], first["tokenizer"]["stride"])
    max_length = first["model"]["max_length"]
    chunk, scanned = heldout_reads(
        heldout, tok, max_length=max_length, min_quality=min_quality, n_reads=n_reads
    )
    if len(chunk) == 0:
        names = ", ".join(display_name(p) for p in heldout)
        raise ConfigError(
            f"dnabert: no held-out read in {names} has every base at Phred >= {min_quality} "
            "(lower dnabert.eval.min_quality)"
        )
    toks = tok.encode_chunk(chunk, max_length=max_length)
    eligible = kmer_positions(toks.n_tokens, max_length)
    rng = np.random.default_rng((seed, 7919))
    inputs, labels = mlm_mask(
        toks.ids, eligible, rng, mlm_probability=mlm_probability, mask_id=tok.mask_id,
        kmer_ids=tok.kmer_ids, span=mlm_span,
    )  # fmt: skip
    selected = labels != IGNORE_INDEX
    inputs[selected] = tok.mask_id
    attention = toks.attention_mask.astype(np.int64)
    rows = []
    for mode, (model, meta) in loaded.items():
        correct = total = 0
        ce = 0.0
        for s in range(0, len(chunk), batch_size):
            e = min(len(chunk), s + batch_size)
            width = int(toks.n_tokens[s:e].max())
            ids = torch.from_numpy(inputs[s:e, :width])
            lab = torch.from_numpy(labels[s:e, :width])
            att = torch.from_numpy(attention[s:e, :width])
            hidden = model(ids, att)
            sel = lab != IGNORE_INDEX
            if not sel.any():
                continue
            logits = model.logits(hidden[sel])
            correct += int((logits.argmax(-1) == lab[sel]).sum())
            total += int(sel.sum())
            ce += float(torch.nn.functional.cross_entropy(logits, lab[sel], reduction="sum"))
        acc = correct / total if total else float("nan")
        lo, hi = wilson_interval(correct, total)
        rows.append(
            {
                "mode": mode,
                "reads": len(chunk),
                "reads_scanned": scanned,
                "min_quality": min_quality,
                "masked_tokens": total,
                "accuracy": acc,
                "accuracy_ci_low": lo,
                "accuracy_ci_high": hi,
                "cross_entropy": ce / total if total else float("nan"),
                "perplexity": float(np.exp(ce / total)) if total else float("nan"),
                "train_steps": meta["steps"],
                "train_seconds": meta["seconds"],
            }
        )
    table = pd.DataFrame(rows)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table


def write_json(data: dict, out: str | os.PathLike) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n")


def train_from_config(
    cfg: dict,
    mode: str,
    sources: Sequence[str],
    model_out: str | os.PathLike,
    log_out: str | os.PathLike,
    *,
    seed: int,
) -> pd.DataFrame:
    """:func:`train_mlm` with the workflow's ``dnabert`` config section (schema defaults)."""
    t, m = cfg["train"], cfg["model"]
    return train_mlm(
        sources, model_out, log_out, mode=mode, k=cfg["k"], stride=cfg["stride"],
        max_length=cfg["max_length"], hidden=m["hidden"], layers=m["layers"], heads=m["heads"],
        ff=m["ff"], dropout=m["dropout"], steps=t["steps"], batch_size=t["batch_size"],
        lr=t["lr"], warmup=t["warmup"], mlm_probability=t["mlm_probability"],
        mlm_span=t["mlm_span"], quality_threshold=cfg["quality_threshold"],
        reverse_complement=t["reverse_complement"], chunk_reads=t["chunk_reads"],
        num_workers=t["num_workers"], threads=t["threads"], log_every=t["log_every"], seed=seed,
    )  # fmt: skip


def evaluate_from_config(
    cfg: dict,
    models: dict[str, str],
    sources: Sequence[str],
    out: str | os.PathLike,
    *,
    seed: int,
    threads: int = 1,
) -> pd.DataFrame:
    """:func:`evaluate_mlm` with the workflow's ``dnabert`` config section."""
    t, e = cfg["train"], cfg["eval"]
    return evaluate_mlm(
        models, sources, out, min_quality=e["min_quality"], n_reads=e["reads"],
        mlm_probability=t["mlm_probability"], mlm_span=t["mlm_span"], threads=threads, seed=seed,
    )  # fmt: skip
