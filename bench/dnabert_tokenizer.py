"""Benchmark: DNABERT data path. Tokenizer vs the DNABERT-style Hugging Face pipeline,
end-to-end reads/s per DataLoader worker from .gz into ready batches, peak RSS 1x vs 10x.

    python bench/dnabert_tokenizer.py                     # all three, 200k reads x 150 bp
    python bench/dnabert_tokenizer.py --fastq my.fq.gz    # an existing file
    python bench/dnabert_tokenizer.py --only tokenizer|loader|rss

Tokenizer (same reads, same run, interleaved repeats after a warm-up): the reference is
DNABERT's pipeline, ``seq2kmer`` (overlapping k-mers joined by spaces) then
``tokenizers.BertWordPieceTokenizer.encode_batch`` over the same vocab.txt (Rust, all
cores), truncated and padded to max_length; biometal is ``KmerTokenizer.encode_chunk`` on the
reader's chunks (numba kernel, all cores). Both start from reads already in memory (strings
for the reference, ReadChunk arrays for biometal); token ids are checked equal first.

Loader: ``DataLoader(DnaBertDataset(fastq.gz), batch_size=None, num_workers=W)`` for each W,
counting reads of the yielded batches (input_ids, attention_mask, labels: MLM-masked,
padded); reads/s per worker = reads / wall time / W (W = 0: in the main process, counted as
one worker). Each worker parses the whole stream and tokenizes its share of the chunks.

RSS: a fresh interpreter streams the 1x and the 10x file through DnaBertDataset and reports
its VmHWM.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from biometal.io import FastqWriter, ReadChunk, read_fastq_chunks


def make_fastq(path: Path, n_reads: int, length: int, seed: int) -> Path:
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    with FastqWriter(path, compresslevel=1) as out:
        for start in range(0, n_reads, 65536):
            n = min(65536, n_reads - start)
            codes = rng.integers(0, 4, n * length, dtype=np.uint8)
            codes[rng.random(n * length) < 0.001] = 4
            qual = rng.integers(2, 41, n * length, dtype=np.uint8)
            out.write_chunk(ReadChunk(codes, qual, np.arange(n + 1, dtype=np.int64) * length))
    return path


def bench_tokenizer(fastq: Path, k: int, max_length: int, repeats: int) -> None:
    from tokenizers import BertWordPieceTokenizer

    from biometal.ml.tokenizer import KmerTokenizer, seq2kmer

    tok = KmerTokenizer(k)
    chunks = list(read_fastq_chunks(fastq, 65536))
    seqs = [r.seq for c in chunks for r in c.records()]
    with tempfile.TemporaryDirectory() as d:
        hf = BertWordPieceTokenizer(
            str(tok.save_vocabulary(Path(d) / "vocab.txt")),
            lowercase=False,
            strip_accents=False,
            clean_text=False,
        )
    hf.enable_truncation(max_length)
    hf.enable_padding(length=max_length)

    def run_hf():
        return hf.encode_batch([seq2kmer(s, k) for s in seqs])

    def run_ours():
        return [tok.encode_chunk(c, max_length=max_length) for c in chunks]

    # correctness first (and warm-up: numba cache, page cache, rayon pool)
    ref = run_hf()
    ours = np.concatenate([t.ids for t in run_ours()])
    assert ours.tolist() == [e.ids for e in ref], "token ids differ from the HF pipeline"
    times: dict[str, list[float]] = {"hf_dnabert_pipeline": [], "biometal_kmer_tokenizer": []}
    for _ in range(repeats):
        for name, fn in (("hf_dnabert_pipeline", run_hf), ("biometal_kmer_tokenizer", run_ours)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    n = len(seqs)
    ref_med = statistics.median(times["hf_dnabert_pipeline"])
    print("method\treads\tmedian_s\tmin_s\tmax_s\treads_per_s\tx_hf")
    for name, ts in times.items():
        med = statistics.median(ts)
        spread = f"{min(ts):.4f}\t{max(ts):.4f}"
        print(f"{name}\t{n}\t{med:.4f}\t{spread}\t{n / med:.0f}\t{ref_med / med:.1f}")


def bench_loader(
    fastq: Path, k: int, max_length: int, workers: list[int], repeats: int, batch_size: int
) -> None:
    from torch.utils.data import DataLoader

    from biometal.ml import DnaBertDataset

    print("num_workers\tbatch_size\treads\tmedian_s\treads_per_s\treads_per_s_per_worker")
    for w in workers:
        ts, n = [], 0
        for _ in range(repeats + 1):  # first pass: warm-up
            ds = DnaBertDataset(fastq, k=k, max_length=max_length, batch_size=batch_size, seed=1)
            t0 = time.perf_counter()
            n = sum(len(b["input_ids"]) for b in DataLoader(ds, batch_size=None, num_workers=w))
            ts.append(time.perf_counter() - t0)
        med = statistics.median(ts[1:])
        print(f"{w}\t{batch_size}\t{n}\t{med:.3f}\t{n / med:.0f}\t{n / med / max(w, 1):.0f}")


RSS_CHILD = textwrap.dedent(
    """
    import sys
    from biometal.ml import DnaBertDataset
    ds = DnaBertDataset(sys.argv[1], k=6, max_length=160, batch_size=64)
    n = sum(len(b["input_ids"]) for b in ds)
    with open("/proc/self/status") as f:
        peak = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
    print(n, peak)
    """
)


def bench_rss(small: Path, large: Path) -> None:
    print("reads_1x\tpeak_rss_1x_MiB\treads_10x\tpeak_rss_10x_MiB\tratio")
    out = []
    for path in (small, large):
        p = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, str(path)], capture_output=True, text=True, check=True
        )
        n, kib = p.stdout.split()
        out.append((int(n), int(kib) / 1024))
    (n1, r1), (n10, r10) = out
    print(f"{n1}\t{r1:.1f}\t{n10}\t{r10:.1f}\t{r10 / r1:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fastq", type=Path, help="existing FASTQ(.gz) (default: generate)")
    ap.add_argument("--reads", type=int, default=200_000)
    ap.add_argument("--length", type=int, default=150)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--only", choices=["tokenizer", "loader", "rss"])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/biometal_bench"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    fastq = args.fastq or make_fastq(
        args.workdir / f"dnabert_{args.reads}x{args.length}.fastq.gz", args.reads, args.length, 1
    )
    if args.only in (None, "tokenizer"):
        bench_tokenizer(fastq, args.k, args.max_length, args.repeats)
    if args.only in (None, "loader"):
        bench_loader(
            fastq, args.k, min(args.max_length, 160), args.workers, args.repeats, args.batch_size
        )
    if args.only in (None, "rss"):
        n = args.reads // 10 if args.fastq is None else args.reads
        small = make_fastq(args.workdir / f"dnabert_{n}x{args.length}.fastq.gz", n, args.length, 2)
        large = make_fastq(
            args.workdir / f"dnabert_{10 * n}x{args.length}.fastq.gz", 10 * n, args.length, 3
        )
        bench_rss(small, large)


if __name__ == "__main__":
    main()
