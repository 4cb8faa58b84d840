"""Benchmark: does the small DNABERT model leave the unigram plateau, and when?

    python bench/dnabert_learning.py                          # the README's comparison
    python bench/dnabert_learning.py --k 6 --steps 300 --norm post --dropout 0.1 --seeds 0

Trains ``biometal.ml.dnabert.train.train_mlm`` (one thread, max_length 64, batch 32,
single-token masking unless --span) on the simulated metagenome
(results/data/metagenome/meta_R1.fastq.gz, from ``snakemake --cores 2 simulate``) once per
setting and seed, and prints the loss every 50 steps and the first logged step whose loss is
below ``--below`` nats (the plateau of 3-mers sits at ~3.8; a uniform guess is ln(4^k + 5)).
Default settings: pre-norm without dropout (the case study's) against post-norm with
dropout 0.1 (the first version's), k=3, 1000 steps, lr 3e-3, seeds 0 and 1.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from biometal.ml.dnabert.train import train_mlm

META = Path("results/data/metagenome/meta_R1.fastq.gz")


def run(args: argparse.Namespace, norm: str, dropout: float, seed: int, work: Path) -> None:
    t0 = time.perf_counter()
    log = train_mlm(
        [args.fastq],
        work / f"{norm}_{seed}.pt",
        work / f"{norm}_{seed}.tsv",
        k=args.k,
        mlm_span=args.span,
        steps=args.steps,
        lr=args.lr,
        hidden=64,
        ff=256,
        dropout=dropout,
        norm_first=norm == "pre",
        max_length=64,
        log_every=50,
        threads=1,
        seed=seed,
    )
    below = log.loc[log["loss"] < args.below, "step"]
    left = int(below.iloc[0]) if len(below) else None
    losses = " ".join(f"{x:.2f}" for x in log["loss"])
    print(
        f"{norm}-norm\tdropout {dropout}\tseed {seed}\t{time.perf_counter() - t0:.1f} s\t"
        f"below {args.below} at step {left}\tfinal {log['loss'].iloc[-1]:.3f}\tlosses {losses}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fastq", default=str(META))
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--span", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--norm", choices=["pre", "post"], nargs="+", default=["pre", "post"])
    ap.add_argument("--dropout", type=float, default=None, help="default: 0 pre, 0.1 post")
    ap.add_argument("--below", type=float, default=3.0)
    args = ap.parse_args()
    print(f"# k={args.k}, uniform guess {math.log(4**args.k + 5):.2f} nats")
    with tempfile.TemporaryDirectory() as tmp:
        for norm in args.norm:
            dropout = args.dropout if args.dropout is not None else (0.0 if norm == "pre" else 0.1)
            for seed in args.seeds:
                run(args, norm, dropout, seed, Path(tmp))


if __name__ == "__main__":
    main()
