"""Benchmark: ``python -m biometal.pileup`` against ``samtools mpileup`` at two densities.

    python bench/pileup_density.py                      # sparse shape made here + dense BAM
    python bench/pileup_density.py --repeats 7 --dense-bam results/align/sim.bam \\
        --dense-ref results/data/reference.fa

Both tools run as fresh processes (interpreter start-up, imports and numba's loading of its
compiled functions included), same BAM, same filters (``-q 20 -Q 13``, the README's), in
the same run: each repeat runs every method once, in an order rotated from repeat to repeat,
after one untimed warm-up run of each. Prints a TSV: shape, method, repeats, median wall
seconds, min and max, ratio (samtools' median wall time over the method's; > 1: faster than
samtools), then the same for CPU seconds (user + system of the child, all its threads):
median, min, max, ratio. On a shared machine the CPU columns are the steadier measure.

Outputs: samtools writes plain text; biometal runs twice, once to a plain TSV (an output
name without ``.gz``: like with like) and once to a BGZF TSV (``.tsv.gz``, compression
included); ``--other-tree`` runs the earlier code to ``.tsv.gz``.

Shapes:

- ``sparse``: reads only at selected sites of one long chromosome: a 51 Mb random reference
  (``chr22`` of hg19's length) with 45,000 read pairs (2 x 150 bp, proper pairs, about 1%
  mismatches, some 1-3 bp indels) at 500 target sites of 8 kb, written with pysam, seeded;
  made in ``--workdir`` (default /tmp/biometal_bench/pileup_density) unless present.
- ``dense``: ``--dense-bam`` / ``--dense-ref`` (default: the workflow's simulated 30x BAM,
  ``results/align/sim.bam`` and ``results/data/reference.fa``); skipped when absent.
- ``--bam NAME=BAM:REF`` adds any other BAM with its reference.

``--numba-too`` adds the plain-TSV command run with ``BIOMETAL_AOT=0`` (numba's JIT cache
only, without the kernels' ahead-of-time build of biometal.kernels.jit).

``--other-tree DIR`` adds the same command run with ``PYTHONPATH=DIR`` (a copy of an earlier
``biometal/``, e.g. ``git archive HEAD~1 biometal | tar -x -C DIR``), for before/after. The
editable install maps ``biometal.kernels`` to this checkout's ``kernels/`` whatever the
``PYTHONPATH``; for the earlier kernels too, copy them and link them in:
``git archive HEAD~1 biometal kernels | tar -x -C DIR; ln -s ../kernels DIR/biometal/kernels``.
"""

from __future__ import annotations

import argparse
import array
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FILTERS_SAMTOOLS = ["-q", "20", "-Q", "13", "--ff", "UNMAP,SECONDARY,QCFAIL,DUP"]
FILTERS_BIOMETAL = ["-q", "20", "-Q", "13"]


def make_sparse(workdir: Path, seed: int = 7) -> tuple[Path, Path]:
    """The sparse shape (see the module docstring): (bam, reference); reused when present."""
    import pysam

    workdir.mkdir(parents=True, exist_ok=True)
    ref, bam = workdir / "sparse_chr22.fa", workdir / "sparse.bam"
    if bam.exists() and Path(str(bam) + ".bai").exists() and Path(str(ref) + ".fai").exists():
        return bam, ref
    rng = np.random.default_rng(seed)
    length = 51_304_566
    acgt = np.frombuffer(b"ACGT", np.uint8)
    seq = acgt[rng.integers(0, 4, length)]
    with open(ref, "wb") as fh:
        fh.write(b">chr22\n")
        fh.write(b"\n".join(seq[i : i + 60].tobytes() for i in range(0, length, 60)) + b"\n")
    pysam.faidx(str(ref))
    n_sites, site_len, n_pairs, rlen, insert = 500, 8000, 45_000, 150, 320
    sites = np.sort(rng.choice(np.arange(1_000_000, length - 1_000_000, 20_000), n_sites, False))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr22", "LN": length}]}
    records = []
    quals = array.array("B", [30] * rlen)
    for i in range(n_pairs):
        s = int(sites[rng.integers(n_sites)] + rng.integers(0, site_len))
        for mate, pos in ((0, s), (1, s + insert - rlen)):
            read = bytearray(seq[pos : pos + rlen + 3].tobytes())
            cigar = f"{rlen}M"
            kind = rng.random()
            if kind < 0.02:  # deletion of 1-3 bp in the middle
                d = int(rng.integers(1, 4))
                read = read[:75] + read[75 + d : rlen + d]
                cigar = f"75M{d}D{rlen - 75}M"
            elif kind < 0.04:  # insertion of 1-3 bp
                d = int(rng.integers(1, 4))
                read = read[:75] + b"T" * d + read[75 : rlen - d]
                cigar = f"75M{d}I{rlen - 75 - d}M"
            else:
                read = read[:rlen]
            for k in np.flatnonzero(rng.random(rlen) < 0.01):
                read[k] = acgt[(np.searchsorted(acgt, read[k]) + 1) % 4]
            records.append((pos, i, mate, bytes(read).decode(), cigar))
    records.sort()
    tmp = workdir / "sparse.tmp.bam"
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
        for pos, i, mate, read, cigar in records:
            rec = pysam.AlignedSegment(out.header)
            rec.query_name = f"p{i}"
            rec.flag = (99, 147)[mate]
            rec.reference_id = rec.next_reference_id = 0
            rec.reference_start = pos
            rec.next_reference_start = pos + (insert - rlen if mate == 0 else rlen - insert)
            rec.template_length = insert if mate == 0 else -insert
            rec.mapping_quality = 60
            rec.cigarstring = cigar
            rec.query_sequence = read
            rec.query_qualities = quals
            out.write(rec)
    tmp.rename(bam)
    pysam.index(str(bam))
    return bam, ref


def _run(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run; raises on failure.

    A command that starts with ``PYTHONPATH=DIR`` runs with that environment variable.
    """
    env = None
    while cmd and cmd[0].split("=", 1)[0] in ("PYTHONPATH", "BIOMETAL_AOT"):  # VAR=value
        env = {**(env or os.environ), cmd[0].split("=", 1)[0]: cmd[0].split("=", 1)[1]}
        cmd = cmd[1:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd: not the checkout, whose biometal/ would shadow PYTHONPATH for `python -m`
    subprocess.run(
        cmd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def methods(
    bam: Path,
    ref: Path,
    out: Path,
    threads: list[int],
    other_tree: Path | None = None,
    numba_too: bool = False,
) -> dict[str, list[str]]:
    """name -> command line, for one BAM: samtools, then biometal at each thread count to a
    plain and to a BGZF TSV (``other_tree``: also biometal from that folder, to BGZF, at the
    largest thread count)."""
    sam = ["samtools", "mpileup", "-B", "-x", "-d", "0", *FILTERS_SAMTOOLS, "-f", str(ref)]
    ours = [sys.executable, "-m", "biometal.pileup", str(bam), str(ref)]
    cmds = {"samtools mpileup (plain text)": [*sam, str(bam), "-o", str(out / "samtools.txt")]}
    for t in threads:
        opts = [*FILTERS_BIOMETAL, "--threads", str(t)]
        cmds[f"biometal.pileup --threads {t} (plain TSV)"] = [*ours, str(out / "b.tsv"), *opts]
        cmds[f"biometal.pileup --threads {t} (BGZF TSV)"] = [*ours, str(out / "b.tsv.gz"), *opts]
        if numba_too:  # without the kernels' ahead-of-time build (biometal.kernels.jit)
            cmds[f"biometal.pileup --threads {t} (plain TSV, numba alone)"] = [
                "BIOMETAL_AOT=0",
                *ours,
                str(out / "n.tsv"),
                *opts,
            ]
    if other_tree is not None:
        other_tree = other_tree.resolve()
        t = max(threads)
        cmds[f"biometal.pileup --threads {t} (BGZF TSV, {other_tree})"] = [
            f"PYTHONPATH={other_tree}",
            *ours,
            str(out / "other.tsv.gz"),
            *FILTERS_BIOMETAL,
            "--threads",
            str(t),
        ]
    return cmds


def bench(
    shapes: dict[str, tuple[Path, Path]],
    repeats: int,
    threads: list[int],
    out: Path,
    other_tree: Path | None = None,
    numba_too: bool = False,
):
    rows = []
    for shape, (bam, ref) in shapes.items():
        cmds = methods(bam.resolve(), ref.resolve(), out.resolve(), threads, other_tree, numba_too)
        names = list(cmds)
        for name in names:  # warm-up: page cache, numba's cache
            _run(cmds[name])
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for r in range(repeats):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                times[name].append(_run(cmds[name]))
        sam = names[0]
        ref_median = statistics.median(w for w, _ in times[sam])
        ref_cpu = statistics.median(c for _, c in times[sam])
        for name in names:
            walls = [w for w, _ in times[name]]
            cpus = [c for _, c in times[name]]
            med = statistics.median(walls)
            med_cpu = statistics.median(cpus)
            rows.append(
                (
                    shape,
                    name,
                    repeats,
                    med,
                    min(walls),
                    max(walls),
                    ref_median / med,
                    med_cpu,
                    min(cpus),
                    max(cpus),
                    ref_cpu / med_cpu,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--threads",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="biometal's thread counts, comma-separated (default: 1,2)",
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/biometal_bench/pileup_density"))
    ap.add_argument("--dense-bam", type=Path, default=Path("results/align/sim.bam"))
    ap.add_argument("--dense-ref", type=Path, default=Path("results/data/reference.fa"))
    ap.add_argument("--bam", action="append", default=[], metavar="NAME=BAM:REF")
    ap.add_argument("--no-sparse", action="store_true", help="skip the generated sparse shape")
    ap.add_argument(
        "--other-tree",
        type=Path,
        help="also time biometal imported from this folder (e.g. `git archive` of an "
        "earlier commit's biometal/), on PYTHONPATH",
    )
    ap.add_argument(
        "--numba-too",
        action="store_true",
        help="also time biometal on numba alone (BIOMETAL_AOT=0: no ahead-of-time build)",
    )
    args = ap.parse_args(argv)
    shapes: dict[str, tuple[Path, Path]] = {}
    if not args.no_sparse:
        shapes["sparse"] = make_sparse(args.workdir)
    if args.dense_bam.exists() and args.dense_ref.exists():
        shapes["dense"] = (args.dense_bam, args.dense_ref)
    else:
        print(
            f"# dense shape skipped: {args.dense_bam} or {args.dense_ref} missing", file=sys.stderr
        )
    for spec in args.bam:
        name, _, paths = spec.partition("=")
        bam, _, ref = paths.partition(":")
        shapes[name] = (Path(bam), Path(ref))
    out = args.workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    rows = bench(shapes, args.repeats, args.threads, out, args.other_tree, args.numba_too)
    print(
        "shape\tmethod\trepeats\tmedian_s\tmin_s\tmax_s\tx_samtools"
        "\tmedian_cpu_s\tmin_cpu_s\tmax_cpu_s\tx_samtools_cpu"
    )
    for shape, name, n, med, lo, hi, ratio, cpu, clo, chi, cratio in rows:
        print(
            f"{shape}\t{name}\t{n}\t{med:.3f}\t{lo:.3f}\t{hi:.3f}\t{ratio:.2f}"
            f"\t{cpu:.3f}\t{clo:.3f}\t{chi:.3f}\t{cratio:.2f}"
        )
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
