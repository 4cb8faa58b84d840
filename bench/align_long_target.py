"""Benchmark: many reads against one long target, ``align_batch`` against parasail.

    python bench/align_long_target.py                 # all shapes, 5 repeats
    python bench/align_long_target.py --repeats 3 --shapes reads150_genome

Same pairs for every method, local alignment (match 2, mismatch -3, gap open 5, extend 2,
N scored like parasail's ``matrix_create("ACGTN", 2, -3)``), one thread:

- ``biometal``: ``align_batch(reads, [target], threads=1)`` (one target broadcast to every
  read: the cost model picks the layout);
- ``biometal-copies``: ``align_batch(reads, [target] * n, threads=1)`` (n equal targets,
  detected as one);
- ``biometal-int16``: the shared-target layout forced to int16 lanes (``strategy=
  "shared16"``: 64 queries a group, no byte pass), the layout before the 8-bit one;
- ``parasail-sw_striped_16``, ``parasail-sw_striped_profile_16`` (profile built per read,
  inside the timing) and ``parasail-sw_striped_sat`` (8-bit first, 16-bit on overflow),
  parasail 1.3.4 called once per pair from Python, as a Python user would.

Each repeat runs every method once, in an order rotated from repeat to repeat, after one
untimed warm-up of each (numba compiles or loads its cache there). Times are CPU seconds
of this process (``time.process_time``: user + system, all threads; with one thread it is
the work itself, and it does not count time the process waits for a core on a shared
machine); the wall seconds are printed beside. GCUPS = sum of read x target lengths / CPU
seconds / 1e9. ratio = parasail-sw_striped_16's median CPU time / the method's (> 1:
faster than parasail), with the min-max of the per-repeat (paired) ratios. Every method's
scores are checked against biometal's on every pair, and parasail-sw_striped_16's end
cells too (``score_mismatches`` must be 0).

Target: phage lambda (NC_001416.1, 48,502 bp) from Debian's ``nanolyse`` package
(``/usr/share/nanolyse/reference/lambda.fasta.gz``; ``--target FASTA`` for any other); when
it is missing, a seeded random 48,502 bp sequence (said in the output). Reads: pieces of
the target at random positions and strands with 3% substitutions and 0.5% 1-3 bp indels
(seeded, ``biometal.simulate``'s mutate).

Shapes (``--shapes``):

- ``reads150_genome``: 400 reads of 150 bp against the whole target (48.5 kb);
- ``reads1k_genome``: 64 reads of 1,000-2,500 bp against the whole target;
- ``reads150_window``: 400 reads of 150 bp against a 5 kb window of the target;
- ``long_vs_window``: 16 reads of 5,000-6,000 bp against a 6 kb window (long vs long,
  one shared target);
- ``long_pairs``: 16 pairs of 5,000-6,000 bp, each read against its own 5 kb+ window
  (long vs long, distinct targets: the shared layout does not apply).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from biometal import stats
from biometal.align import Scoring, SequenceBatch, align_batch
from biometal.io.encoding import DECODE_ALPHABET, ENCODE_LUT
from biometal.simulate._seq import mutate, read_fasta, revcomp

LAMBDA = Path("/usr/share/nanolyse/reference/lambda.fasta.gz")
SCORING = Scoring(match=2, mismatch=-3, gap_open=5, gap_extend=2)
SHAPES = ("reads150_genome", "reads1k_genome", "reads150_window", "long_vs_window", "long_pairs")
PEER = "parasail-sw_striped_16"


def load_target(path: Path | None, seed: int) -> tuple[np.ndarray, str]:
    """Target as uint8 ASCII (upper case) and a description of where it came from."""
    path = path or LAMBDA
    if path.exists():
        name, seq = next(iter(read_fasta(path).items()))
        return seq, f"{path} ({name}, {len(seq)} bp)"
    rng = np.random.default_rng(seed)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 48_502)]
    return seq, f"simulated: seeded random 48,502 bp ({path} not found; apt-get install nanolyse)"


def sample_reads(rng, target: np.ndarray, n: int, lo: int, hi: int) -> list[str]:
    """n pieces of ``target`` (lengths lo..hi) at random positions and strands, mutated."""
    out = []
    for _ in range(n):
        length = int(rng.integers(lo, hi + 1))
        a = int(rng.integers(0, len(target) - length + 1))
        piece = target[a : a + length]
        if rng.random() < 0.5:
            piece = revcomp(piece)
        out.append(mutate(rng, piece, 0.03, 0.005).tobytes().decode("ascii"))
    return out


def make_shape(name: str, target: np.ndarray, seed: int):
    """(reads, targets as str: one shared target or one per read)."""
    rng = np.random.default_rng(seed)
    t = target.tobytes().decode("ascii")
    if name == "reads150_genome":
        return sample_reads(rng, target, 400, 150, 150), [t]
    if name == "reads1k_genome":
        return sample_reads(rng, target, 64, 1000, 2500), [t]
    if name == "reads150_window":
        win = target[20_000:25_000]
        return sample_reads(rng, win, 400, 150, 150), [win.tobytes().decode("ascii")]
    if name == "long_vs_window":
        win = target[10_000:16_000]
        return sample_reads(rng, target[8_000:18_000], 16, 5000, 6000), [
            win.tobytes().decode("ascii")
        ]
    if name == "long_pairs":
        reads, targets = [], []
        for _ in range(16):
            length = int(rng.integers(5000, 6001))
            a = int(rng.integers(0, len(target) - length - 500))
            win = target[a : a + length + int(rng.integers(0, 500))]
            targets.append(win.tobytes().decode("ascii"))
            reads.append(mutate(rng, win[:length], 0.03, 0.005).tobytes().decode("ascii"))
        return reads, targets
    raise SystemExit(f"unknown shape {name!r}; choose from {', '.join(SHAPES)}")


def methods(reads: list[str], targets: list[str]):
    """name -> callable returning (scores, query ends, target ends) as int64 arrays."""
    shared = len(targets) == 1
    tlist = targets * len(reads) if shared else targets
    qb = SequenceBatch.from_sequences(reads)
    tb = SequenceBatch.from_sequences(targets)
    tcopies = SequenceBatch.from_sequences(tlist)

    def ours(tbatch):
        def run():
            r = align_batch(qb, tbatch, SCORING, "local", backend="cpu", threads=1)
            return r.score, r.query_end, r.target_end

        return run

    out = {"biometal": ours(tb)}
    if shared:
        out["biometal-copies"] = ours(tcopies)

        def int16():
            from biometal.kernels import smith_waterman as sw

            r = sw.align_pairs(qb.codes, qb.offsets, tb.codes, tb.offsets,
                               SCORING.substitution_matrix(), SCORING.gap_open,
                               SCORING.gap_extend, "local", None, False, "cpu", "shared16",
                               threads=1)  # fmt: skip
            return r.score, r.query_end, r.target_end

        out["biometal-int16"] = int16
    try:
        import parasail
    except ImportError:
        print("# parasail not installed (pip install parasail==1.3.4): no peer", file=sys.stderr)
        return out
    pm = parasail.matrix_create("ACGTN", 0, 0)
    sm = SCORING.substitution_matrix()
    for a in range(5):
        for b in range(5):
            pm[a, b] = int(sm[a, b])
    go, ge = SCORING.gap_open, SCORING.gap_extend

    def peer(kind):
        def run():
            n = len(reads)
            sc = np.zeros(n, np.int64)
            qe = np.zeros(n, np.int64)
            te = np.zeros(n, np.int64)
            for p in range(n):
                if kind == "profile":
                    prof = parasail.profile_create_16(reads[p], pm)
                    r = parasail.sw_striped_profile_16(prof, tlist[p], go, ge)
                elif kind == "sat":
                    r = parasail.sw_striped_sat(reads[p], tlist[p], go, ge, pm)
                else:
                    r = parasail.sw_striped_16(reads[p], tlist[p], go, ge, pm)
                sc[p], qe[p], te[p] = r.score, r.end_query + 1, r.end_ref + 1
            return sc, qe, te

        return run

    out[PEER] = peer("plain")
    out["parasail-sw_striped_profile_16"] = peer("profile")
    out["parasail-sw_striped_sat"] = peer("sat")
    return out


def bench_shape(name: str, target: np.ndarray, repeats: int, seed: int) -> list[dict]:
    reads, targets = make_shape(name, target, seed)
    tl = [len(targets[0])] * len(reads) if len(targets) == 1 else [len(t) for t in targets]
    cells = sum(len(q) * t for q, t in zip(reads, tl, strict=True))
    ms = methods(reads, targets)
    names = list(ms)
    results = {k: ms[k]() for k in names}  # warm-up, and the results to compare
    ref = results["biometal"]
    cpu = {k: [] for k in names}
    wall = {k: [] for k in names}
    for rep in range(repeats):
        for k in names[rep % len(names) :] + names[: rep % len(names)]:
            w0, c0 = time.perf_counter(), time.process_time()
            ms[k]()
            cpu[k].append(time.process_time() - c0)
            wall[k].append(time.perf_counter() - w0)
    rows = []
    for k in names:
        sc, qe, te = results[k]
        if k.startswith("biometal") or k == PEER:
            bad = int(((sc != ref[0]) | (qe != ref[1]) | (te != ref[2])).sum())
        else:  # profile / sat: scores (their end cells follow the same rule)
            bad = int((sc != ref[0]).sum())
        s = stats.summarize(cpu[k])
        row = {
            "shape": name,
            "pairs": len(reads),
            "query_bp": f"{min(map(len, reads))}-{max(map(len, reads))}",
            "target_bp": f"{min(tl)}-{max(tl)}",
            "method": k,
            "cpu_s_median": s.median,
            "cpu_s_min": s.min,
            "cpu_s_max": s.max,
            "wall_s_median": float(np.median(wall[k])),
            "gcups": cells / s.median / 1e9,
            "score_mismatches": bad,
        }
        if PEER in cpu:
            r = stats.ratio_summary(cpu[PEER], cpu[k])
            row.update(ratio=r["ratio_of_medians"], ratio_min=r["ratio_min"],
                       ratio_max=r["ratio_max"])  # fmt: skip
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    ap.add_argument("--target", type=Path, default=None, help="FASTA (first record)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    target, where = load_target(args.target, args.seed)
    target = DECODE_ALPHABET[ENCODE_LUT[target]]  # IUPAC codes other than ACGT -> N
    print(f"# target: {where}; local, {SCORING}; 1 thread; {args.repeats} repeats; "
          "CPU seconds (process_time), interleaved")  # fmt: skip
    cols = ["shape", "pairs", "query_bp", "target_bp", "method", "cpu_s_median", "cpu_s_min",
            "cpu_s_max", "wall_s_median", "gcups", "ratio", "ratio_min", "ratio_max",
            "score_mismatches"]  # fmt: skip
    print("\t".join(cols))
    failed = False
    for name in args.shapes:
        for row in bench_shape(name, target, args.repeats, args.seed):
            failed |= row["score_mismatches"] > 0
            print("\t".join(
                f"{row[c]:.3f}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                for c in cols
            ), flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
