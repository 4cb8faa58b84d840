"""Diagnostic (not a benchmark): are compressed pileup TSVs the same bytes at any thread count?

Writes the pileup TSV of ``--bam`` (all positions, 3 kb regions: many blocks) ``--runs``
times at 1, 2 and 3 threads and compares every run's BGZF blocks with the first 1-thread
run's: the decompressed text must be equal (it always has been); the compressed bytes of a
block sometimes differ at 2-3 threads (seen in about 1 run in 6 at 3 threads on the cohort's
C01.bam with another process busy on the second core; never at 1 thread). For each first
differing block it prints the block number and sizes and saves the block's text and both
compressed blocks to ``--out`` (``N.txt``, ``N.a.bgz``, ``N.b.bgz``) for study: ISA-L
compressing that text again, in threads, with dirtied heap and stack, at any alignment and
with any bytes after it, always gave the common encoding; the rare one differs in a few
tokens (a short match replaced by literals and another match).

    .venv/bin/python bench/bgzf_determinism.py --bam results/cohort/bam/C01.bam \\
        --reference results/cohort/data/ref.fa --runs 12
"""

from __future__ import annotations

import argparse
import struct
import zlib
from pathlib import Path


def blocks(raw: bytes) -> list[tuple[bytes, bytes]]:
    """(compressed block, its text) for every BGZF block of ``raw``."""
    i, out = 0, []
    while i < len(raw):
        size = struct.unpack_from("<H", raw, i + 16)[0] + 1
        block = raw[i : i + size]
        out.append((block, zlib.decompress(block[18:-8], -15)))
        i += size
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bam", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--out", type=Path, default=Path("bgzf_determinism"))
    args = ap.parse_args()
    from biometal.pileup.engine import PileupParams
    from biometal.pileup.tsv import write_pileup_tsv

    args.out.mkdir(parents=True, exist_ok=True)
    tsv = args.out / "pileup.tsv.gz"
    first = None
    n = differ = 0
    for _ in range(args.runs):
        for threads in (1, 2, 3):
            params = PileupParams(min_mapq=20, region_size=3000, threads=threads)
            write_pileup_tsv(args.bam, tsv, params, reference=args.reference, all_positions=True)
            got = blocks(tsv.read_bytes())
            n += 1
            if first is None:
                first = got
                continue
            if [t for _, t in got] != [t for _, t in first]:
                raise SystemExit(f"run {n} ({threads} threads): the TEXT differs")
            for k, ((a, text), (b, _)) in enumerate(zip(first, got, strict=True)):
                if a != b:
                    differ += 1
                    print(f"run {n}, {threads} threads: block {k} of {len(got)} compressed "
                          f"to {len(b)} bytes, not {len(a)}; text equal")  # fmt: skip
                    (args.out / f"{n}.txt").write_bytes(text)
                    (args.out / f"{n}.a.bgz").write_bytes(a)
                    (args.out / f"{n}.b.bgz").write_bytes(b)
                    break
    print(f"{differ} of {n} runs wrote other compressed bytes (text always equal)")


if __name__ == "__main__":
    main()
