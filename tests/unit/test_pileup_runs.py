"""Runs of small blocks (biometal.pileup.engine._iter_runs): a sparse BAM's sites piled up and
formatted together, one kernel call each for many blocks, give the same blocks and the same
TSV bytes as one block at a time; the multi-block formatting kernel equals a plain Python
formatter; ``python -m biometal.pileup`` sets up its process for a short run.

One block at a time is forced with ``engine.PARALLEL_READS = 0`` (no group counts as small,
so every group goes through the rolling table, the layout before runs).
"""

from __future__ import annotations

import array
import gzip
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pysam
import pytest
from mpileup_oracle import SAMTOOLS, SKIP_REASON, samtools_pileup

from biometal.pileup import PileupParams, engine, iter_pileup
from biometal.pileup import _kernels as K
from biometal.pileup.tsv import write_pileup_tsv

CONTIGS = {"s1": 200_000, "s2": 50_000, "s3": 60_000}  # s2: no reads


def _sparse_bam(tmp_path):
    """Small sites far apart on s1 and s3 (each alone on its stretch), one long stretch of
    continuous coverage on s1 (cut by region_size inside the reads: rolling table, blocks
    that end inside deletions), reads with insertions, deletions and deletions that end
    the read (the deleted bases are a block's last rows), both strands, varied qualities."""
    rng = np.random.default_rng(12)
    ref = tmp_path / "s.fa"
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CONTIGS.items()}
    with open(ref, "w") as fh:
        for c, s in seqs.items():
            fh.write(f">{c}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60)) + "\n")
    pysam.faidx(str(ref))
    reads = []  # (tid, start, cigar)
    cigars = ["100M", "100M", "100M", "50M2D50M", "40M3I57M", "97M3D", "60M5D", "10M1D10M1I79M"]
    sites = [("s1", 1000 + 6000 * k) for k in range(20)] + [
        ("s3", 2000 + 7000 * k) for k in range(8)
    ]
    for contig, site in sites:
        for _ in range(int(rng.integers(5, 40))):
            reads.append(
                (contig, site + int(rng.integers(0, 500)), cigars[rng.integers(len(cigars))])
            )
    for _ in range(400):  # continuous coverage of 3 kb
        reads.append(
            ("s1", 150_000 + int(rng.integers(0, 3000)), cigars[rng.integers(len(cigars))])
        )
    for _ in range(300):  # long deletions: some span the end of a block cut at a group start
        reads.append(("s1", 150_000 + int(rng.integers(0, 3000)), "30M20D70M"))
    tids = {c: i for i, c in enumerate(CONTIGS)}
    reads.sort(key=lambda r: (tids[r[0]], r[1]))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": c, "LN": n} for c, n in CONTIGS.items()],
    }
    bam = tmp_path / "s.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for i, (contig, start, cigar) in enumerate(reads):
            rec = pysam.AlignedSegment(out.header)
            rec.query_name, rec.flag = f"r{i}", int(rng.choice([0, 16]))
            rec.reference_id, rec.reference_start = tids[contig], start
            rec.cigarstring, rec.mapping_quality = cigar, int(rng.choice([20, 40, 60, 60]))
            n = rec.infer_query_length()
            rec.query_sequence = "".join(rng.choice(list("ACGTN"), n, p=[0.24] * 4 + [0.04]))
            rec.query_qualities = array.array("B", rng.integers(5, 41, n).tolist())
            out.write(rec)
    pysam.index(str(bam))
    return bam, ref


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    return _sparse_bam(tmp_path_factory.mktemp("runs"))


PARAMS = [
    PileupParams(min_baseq=13, region_size=1000),
    PileupParams(min_baseq=0, threads=2),
]


def _blocks(bam, ref, params, **kw):
    return [
        (b.tid, b.contig, b.start, b.counts.copy(), b.events)
        for b in iter_pileup(bam, params, reference=ref, **kw)
    ]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("read_bytes", [4 << 20, 3000])  # one batch of records, or many
def test_runs_give_the_same_blocks(sparse, params, read_bytes, monkeypatch):
    bam, ref = sparse
    runs = list(engine._iter_runs(bam, params, reference=ref, read_bytes=read_bytes))
    assert sum(len(r.seg_pos) > 1 for r in runs) >= 2  # runs of several blocks were made
    assert any(r.block is not None for r in runs)  # and blocks of the rolling table
    got = _blocks(bam, ref, params, read_bytes=read_bytes)
    monkeypatch.setattr(engine, "PARALLEL_READS", 0)
    assert all(r.block is not None for r in engine._iter_runs(bam, params, reference=ref))
    exp = _blocks(bam, ref, params, read_bytes=read_bytes)
    assert [b[:3] for b in got] == [b[:3] for b in exp]
    for g, e in zip(got, exp, strict=True):
        np.testing.assert_array_equal(g[3], e[3])
        for f in ("pos", "length", "reverse"):
            np.testing.assert_array_equal(getattr(g[4], f), getattr(e[4], f))
        assert g[4].seqs == e[4].seqs
        assert all(g[2] <= p < g[2] + len(g[3]) for p in g[4].pos.tolist())


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("all_positions", [False, True])
def test_runs_write_the_same_tsv(sparse, params, all_positions, tmp_path, monkeypatch):
    bam, ref = sparse
    for threads in (1, 2):
        p = PileupParams(**{**params.__dict__, "threads": threads})
        for name in ("runs.tsv", "runs.tsv.gz"):
            write_pileup_tsv(bam, tmp_path / name, p, reference=ref, all_positions=all_positions)
        with monkeypatch.context() as m:
            m.setattr(engine, "PARALLEL_READS", 0)
            write_pileup_tsv(
                bam, tmp_path / "one.tsv", p, reference=ref, all_positions=all_positions
            )
        text = (tmp_path / "one.tsv").read_bytes()
        assert (tmp_path / "runs.tsv").read_bytes() == text
        assert gzip.decompress((tmp_path / "runs.tsv.gz").read_bytes()) == text
    rows = [ln for ln in text.split(b"\n") if ln and not ln.startswith(b"#")]
    if all_positions:
        assert len(rows) == sum(CONTIGS.values())
    assert any(b"\t-" in r for r in rows) and any(b"\t+" in r for r in rows)


@pytest.mark.skipif(SAMTOOLS is None, reason=SKIP_REASON)
def test_indel_column_equals_samtools(sparse, tmp_path):
    """The ``indels`` column, deletions' reference bases included (in a run's blocks from
    the run's reference rows; a deletion past the end of a rolling-table block fetched on
    its own), equals the alleles samtools prints, counted the same way."""
    bam, ref = sparse
    params = PARAMS[0]
    out = tmp_path / "p.tsv"
    write_pileup_tsv(bam, out, params, reference=ref)
    _, events = samtools_pileup(str(bam), str(ref), params)
    alleles: dict[tuple[str, int], Counter] = {}
    for contig, pos0, size, _, seq in events:
        allele = ("+" if size > 0 else "-") + seq
        alleles.setdefault((contig, pos0 + 1), Counter())[allele] += 1
    exp = {
        key: ",".join(f"{a}:{n}" for a, n in sorted(c.items(), key=lambda x: (-x[1], x[0])))
        for key, c in alleles.items()
    }
    got = {}
    for line in out.read_text().splitlines():
        if not line.startswith("#"):
            f = line.split("\t")
            if f[-1] != ".":
                got[(f[0], int(f[1]))] = f[-1]
    assert got == exp
    assert sum(a.startswith("-") for t in got.values() for a in t.split(",")) > 50


def _python_rows(chrom, seg_pos, seg_row, counts, ref, texts, spans):
    """The TSV rows, written plainly (biometal.pileup.tsv.COLUMNS); depth-0 rows of the
    positions inside one of ``spans`` ([(start, end)]) only."""

    def mean(total, n):
        if n == 0:
            return "."
        tenths = (total * 20 + n) // (2 * n)
        return f"{tenths // 10}.{tenths % 10}"

    lines = []
    for s in range(len(seg_pos)):
        for i in range(seg_row[s], seg_row[s + 1]):
            c = [int(x) for x in counts[i]]
            acgtn = [c[k] + c[k + 5] for k in range(5)]
            dl, sk = c[10] + c[11], c[12] + c[13]
            depth = sum(acgtn) + dl + sk
            at = seg_pos[s] + i - seg_row[s]
            if depth == 0 and not any(a <= at < b for a, b in spans):
                continue
            fwd = sum(c[0:5]) + c[10] + c[12]
            cols = [chrom, seg_pos[s] + i - seg_row[s] + 1, chr(ref[i]), depth, *acgtn, dl, sk]
            cols += [c[14] + c[15], c[16] + c[17], fwd, depth - fwd]
            cols += [mean(sum(c[18:23]), sum(acgtn)), mean(c[23], depth), texts.get(i, ".")]
            lines.append("\t".join(map(str, cols)) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("zeros", ["none", "all", "spans"])
def test_format_kernel_blocks_and_chunks(seed, zeros):
    """format_rows over several blocks, and format_rows_parallel cutting them into chunks
    anywhere (inside a block, at its edges), equal a plain Python formatter; depth-0 rows
    written nowhere, everywhere or inside random spans (overlapping, sorted by start)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 40, int(rng.integers(1, 8)))
    seg_row = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    gaps = rng.choice([1, 5000, 99_990], len(sizes))  # 1: adjacent blocks
    seg_pos = (np.cumsum(gaps) + np.cumsum(np.concatenate([[0], sizes[:-1]]))).astype(np.int64)
    n = int(seg_row[-1])
    counts = (rng.integers(0, 3, (n, 24)) * rng.integers(0, 2, (n, 1))).astype(np.uint32)
    counts[rng.random(n) < 0.2, :] = rng.integers(0, 10**6, 24).astype(np.uint32)
    ref = np.frombuffer(rng.choice(list(b"ACGTN"), n).astype(np.uint8).tobytes(), np.uint8)
    rows = np.sort(rng.choice(n, min(n, 5), replace=False)).astype(np.int64)
    texts = {int(r): f"+{'A' * (k + 1)}:{k + 2},-C:1" for k, r in enumerate(rows)}
    blob = "".join(texts[int(r)] for r in rows).encode()
    off = np.concatenate([[0], np.cumsum([len(texts[int(r)]) for r in rows])]).astype(np.int64)
    chrom = np.frombuffer(b"chrUn_x", np.uint8)
    text = np.frombuffer(blob or b"\0", np.uint8)
    spans = {"none": [], "all": [(-1, 1 << 62)]}.get(zeros)
    if spans is None:
        row_pos = np.repeat(seg_pos - seg_row[:-1], sizes) + np.arange(n)
        starts = np.sort(rng.choice(row_pos, 6) + rng.integers(-3, 3, 6))
        spans = [(int(a), int(a + rng.integers(1, 30))) for a in starts]
    zero_from = np.array([a for a, _ in spans], np.int64)
    zero_to = np.array([b for _, b in spans], np.int64)
    exp = _python_rows("chrUn_x", seg_pos, seg_row, counts, ref, texts, spans)
    per_row = len(chrom) + 40 + 13 * 21
    out = np.empty(n * per_row + len(blob) + 16, np.uint8)
    used, n_rows = K.format_rows(
        chrom, seg_pos, seg_row, counts, ref, rows, text, off, zero_from, zero_to, out
    )
    assert out[:used].tobytes().decode() == exp
    assert n_rows == exp.count("\n")
    for chunks in (2, 3, 7):
        out = np.zeros(n * per_row + len(blob) + 16, np.uint8)
        _, region, used, n_rows = K.format_rows_parallel(
            chrom, seg_pos, seg_row, counts, ref, rows, text, off, zero_from, zero_to, out,
            chunks, per_row,
        )  # fmt: skip
        got = b"".join(out[region[j] : region[j] + used[j]].tobytes() for j in range(chunks))
        assert got.decode() == exp
        assert int(n_rows.sum()) == exp.count("\n")


def test_command_process_set_up():
    """``import biometal.pileup`` leaves numpy unimported (so ``python -m`` can set up the
    process first); the command runs with one OpenBLAS thread unless told otherwise, and
    with the cyclic garbage collector off."""
    code = (
        "import gc, os, sys\n"
        "import biometal.pileup\n"
        "assert 'numpy' not in sys.modules\n"
        "from biometal.pileup import PileupParams\n"
        "assert 'numpy' in sys.modules\n"
        "import biometal.pileup.__main__ as m\n"
        "sys.argv = ['x', '--help']\n"
        "rc = m._command()\n"
        "print(rc, os.environ.get('OPENBLAS_NUM_THREADS'), gc.isenabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert run.stdout.split()[-3:] == ["0", "1", "False"]
    env["OPENBLAS_NUM_THREADS"] = "2"  # the user's setting is kept
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert run.stdout.split()[-3:] == ["0", "2", "False"]


def test_small_bams_pile_up_on_one_thread(sparse, tmp_path, monkeypatch):
    """Below PARALLEL_BAM_BYTES the kernels run on one thread whatever ``threads`` says (no
    numba thread pool for a short run), above it on ``threads``; the TSV is the same."""
    bam, ref = sparse
    p = PileupParams(threads=2)
    calls = []
    real = engine.pileup_accumulate
    monkeypatch.setattr(
        engine, "pileup_accumulate", lambda *a, **k: calls.append(k["threads"]) or real(*a, **k)
    )
    size = os.path.getsize(bam)
    monkeypatch.setattr(engine, "PARALLEL_BAM_BYTES", size + 1)
    assert engine.kernel_threads(p, bam) == 1
    write_pileup_tsv(bam, tmp_path / "small.tsv", p, reference=ref)
    assert calls and set(calls) == {1}
    monkeypatch.setattr(engine, "PARALLEL_BAM_BYTES", size)
    monkeypatch.setattr(engine, "PARALLEL_READS", 0)  # every group large enough
    calls.clear()
    assert engine.kernel_threads(p, bam) == 2
    assert engine.kernel_threads(PileupParams(threads=1), bam) == 1
    write_pileup_tsv(bam, tmp_path / "big.tsv", p, reference=ref)
    assert 2 in calls
    assert (tmp_path / "big.tsv").read_bytes() == (tmp_path / "small.tsv").read_bytes()
