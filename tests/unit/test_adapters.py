"""Adapter trimming (biometal.readqc.adapters): kernels against naive references, exact cuts
on constructed reads, mate-overlap insert detection, cutadapt as an oracle, bad input."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biometal.io.encoding import encode
from biometal.io.fastx import ReadChunk, read_fastq
from biometal.readqc import _adapter_kernels as K
from biometal.readqc import adapters as A

ROOT = Path(__file__).resolve().parents[2]
AD1, AD2 = A.TRUSEQ_R1, A.TRUSEQ_R2
COMP = str.maketrans("ACGTN", "TGCAN")


def rc(s: str) -> str:
    return s.translate(COMP)[::-1]


def chunk_of(seqs: list[str], quals: list[list[int]] | None = None) -> ReadChunk:
    codes = np.concatenate([encode(s) for s in seqs]) if seqs else np.empty(0, np.uint8)
    off = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([len(s) for s in seqs], out=off[1:])
    if quals is None:
        q = np.full(codes.size, 35, np.uint8)
    else:
        q = np.asarray([x for qq in quals for x in qq], np.uint8)
    names = [b"r%d" % i for i in range(len(seqs))]
    return ReadChunk(codes, q, off, names)


def rand_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


# ------------------------------------------------------------------ naive references


def naive_dp_trim(read: str, ad: str, e: float, min_overlap: int) -> int:
    """Full semi-global DP (no cut-off), same tie-breaking as the kernel."""
    n, m = len(read), len(ad)
    big = 1 << 20
    D = [[0] * (n + 1) for _ in range(m + 1)]
    S = [[0] * (n + 1) for _ in range(m + 1)]
    for i in range(m + 1):
        D[i][0], S[i][0] = i, 0
    for j in range(n + 1):
        D[0][j], S[0][j] = 0, j
    for j in range(1, n + 1):
        c = read[j - 1]
        for i in range(1, m + 1):
            a = ad[i - 1]
            cost = 0 if (a == c and c != "N") or a == "N" else 1
            d, s = D[i - 1][j - 1] + cost, S[i - 1][j - 1]
            if D[i][j - 1] + 1 < d:
                d, s = D[i][j - 1] + 1, S[i][j - 1]
            if D[i - 1][j] + 1 < d:
                d, s = D[i - 1][j] + 1, S[i - 1][j]
            D[i][j], S[i][j] = d, s
    kmax = int(e * m + 1e-9)
    best, start = big, -1
    for j in range(1, n + 1):
        if D[m][j] <= kmax and D[m][j] < best:
            best, start = D[m][j], S[m][j]
    if start >= 0:
        return start
    if n == 0:
        return 0
    for i in range(m - 1, max(min_overlap, 1) - 1, -1):
        if D[i][n] <= int(e * i + 1e-9):
            return S[i][n]
    return n


def naive_pair_insert(r1, q1, r2, q2, ad1, ad2, max_rate=0.15, min_compare=10):
    """Every candidate insert scored in full; the kernel's filters applied in its order."""
    am, ax, om, ox = A.llr_tables()
    n1, n2 = len(r1), len(r2)
    best = (-1, -np.inf)
    for ins in range(max(n1, n2)):
        steps = []  # (mismatch?, llr) in the kernel's order
        if ins < n1:
            for t in range(min(len(ad1), n1 - ins)):
                b, x, q = r1[ins + t], ad1[t], min(q1[ins + t], 63)
                if b != "N" and x != "N":
                    steps.append((b != x, am[q] if b == x else ax[q]))
        if ins < n2:
            for t in range(min(len(ad2), n2 - ins)):
                b, x, q = r2[ins + t], ad2[t], min(q2[ins + t], 63)
                if b != "N" and x != "N":
                    steps.append((b != x, am[q] if b == x else ax[q]))
        lo, hi = max(0, ins - n2), min(ins, n1)
        for j in range(hi - 1, lo - 1, -1):
            b1, b2 = r1[j], r2[ins - 1 - j]
            if b1 != "N" and b2 != "N":
                qa, qb = min(q1[j], 63), min(q2[ins - 1 - j], 63)
                same = b1 == b2.translate(COMP)
                steps.append((not same, om[qa, qb] if same else ox[qa, qb]))
        total = (min(len(ad1), n1 - ins) if ins < n1 else 0) + (
            min(len(ad2), n2 - ins) if ins < n2 else 0
        )
        total += max(0, hi - lo)
        if total < min_compare:
            continue
        mism = seen = 0
        ok = True
        for bad, _ in steps:
            seen += 1
            mism += bad
            if bad and mism > 2 + max_rate * seen:
                ok = False
                break
        if not ok or mism > int(max_rate * total):
            continue
        llr = sum(v for _, v in steps)
        if llr > best[1]:
            best = (ins, llr)
    return best


def kernel_pair_insert(r1, q1, r2, q2, ad1=AD1, ad2=AD2):
    am, ax, om, ox = A.llr_tables()
    c1, c2 = encode(r1), encode(r2)
    ins, llr, _ = K.pair_insert(
        c1,
        np.asarray(q1, np.uint8),
        0,
        len(r1),
        c2,
        np.asarray(q2, np.uint8),
        0,
        len(r2),
        encode(ad1),
        encode(ad2),
        am,
        ax,
        om,
        ox,
        0.15,
        10,
        0,
    )
    return ins, llr


# ------------------------------------------------------------------ single reads


dna = st.text(alphabet="ACGT", max_size=60)
dna_n = st.text(alphabet="ACGTN", max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    insert=dna_n,
    adapter=st.text(alphabet="ACGT", min_size=1, max_size=20),
    keep=st.integers(0, 25),
    muts=st.lists(st.tuples(st.integers(0, 40), st.sampled_from("ACGTN-+")), max_size=3),
    e=st.sampled_from([0.0, 0.1, 0.2]),
    min_overlap=st.integers(1, 5),
)
def test_dp_kernel_matches_naive(insert, adapter, keep, muts, e, min_overlap) -> None:
    """The cut-off DP (and its 6-mer filter) == the full DP, on reads that hold an adapter
    prefix with substitutions/indels, or none."""
    tail = list(adapter[:keep])
    for pos, op in muts:
        if not tail:
            break
        p = pos % len(tail)
        if op == "-":
            del tail[p]
        elif op == "+":
            tail.insert(p, "A")
        else:
            tail[p] = op
    read = insert + "".join(tail)
    got = A.single_cut(chunk_of([read]), adapter, error_rate=e, min_overlap=min_overlap)
    assert int(got[0]) == naive_dp_trim(read, adapter, e, min_overlap)


@settings(max_examples=200, deadline=None)
@given(insert=dna, keep=st.integers(0, 40), sub=st.integers(0, 40), e=st.sampled_from([0.1]))
def test_dp_filter_with_long_adapter(insert, keep, sub, e) -> None:
    """TruSeq (33 bases, filter active): same cut as the full DP."""
    tail = list((AD1 + "GGGGGGGG")[:keep])
    if tail and sub < len(tail):
        tail[sub] = "T" if tail[sub] != "T" else "C"
    read = insert + "".join(tail)
    got = A.single_cut(chunk_of([read]), AD1, error_rate=e, min_overlap=3)
    assert int(got[0]) == naive_dp_trim(read, AD1, e, 3)


def test_exact_cuts_every_position() -> None:
    rng = np.random.default_rng(3)
    insert = rand_seq(rng, 100)
    while AD1[:3] in insert[-40:] or insert.endswith(("A", "AG")):  # no accidental prefix
        insert = rand_seq(rng, 100)
    reads = [(insert[:k] + AD1 + "G" * 100)[:100] for k in range(101)]
    cut = A.single_cut(chunk_of(reads), AD1)
    want = [k if 100 - k >= 3 else 100 for k in range(101)]
    assert cut.tolist() == want


def test_partial_errors_short_reads_and_n() -> None:
    rng = np.random.default_rng(4)
    ins = rand_seq(rng, 50).replace("A", "C")  # no 'A' at the end: no accidental partial
    cases = {
        ins: 50,  # no adapter
        ins + AD1[:3]: 50,  # shortest partial (-O 3)
        ins + AD1[:2]: 52,  # too short
        ins + AD1[:9]: 50,  # 0 errors allowed below 10 bases
        ins + AD1[:9].replace("T", "G"): 59,  # ... so one mismatch there is not a match
        ins + AD1[:10].replace("T", "G", 1): 50,  # 1 error allowed from 10 bases
        ins + AD1[:5] + AD1[6:]: 50,  # deletion in the adapter
        ins + AD1[:12] + "C" + AD1[12:]: 50,  # insertion in the adapter
        ins + AD1[:4] + "N" + AD1[5:]: 50,  # N in the read: one mismatch
        AD1[:20]: 0,  # read shorter than the adapter, all adapter
        "": 0,  # empty read
        "ACG": 3,
        ins[:10] + AD1 + ins: 10,  # adapter in the middle: everything after it goes
    }
    reads = list(cases)
    assert A.single_cut(chunk_of(reads), AD1).tolist() == list(cases.values())


def test_poly_g() -> None:
    reads = ["ACGTACGTAC" + "G" * 12, "ACGTACGTAC" + "GGGGTGGGGGGG", "ACGTACGTAC" + "G" * 5]
    c = chunk_of(reads)
    lengths = c.lengths.astype(np.int32)
    K.poly_g_trim(c.codes, c.offsets, lengths, 10)
    assert lengths.tolist() == [10, 10, 15]


# ------------------------------------------------------------------ pairs


def make_pair(rng, insert_len: int, L: int = 100, errors: int = 0):
    frag = rand_seq(rng, insert_len)
    r1 = (frag + AD1 + "G" * L)[:L]
    r2 = (rc(frag) + AD2 + "G" * L)[:L]
    r1, r2 = list(r1), list(r2)
    for _ in range(errors):
        m = r1 if rng.random() < 0.5 else r2
        p = int(rng.integers(0, L))
        m[p] = "ACGT"[("ACGT".index(m[p]) + int(rng.integers(1, 4))) % 4] if m[p] != "N" else "A"
    return "".join(r1), "".join(r2)


def test_pair_insert_matches_naive() -> None:
    rng = np.random.default_rng(5)
    for trial in range(300):
        L = int(rng.integers(20, 80))
        ins = int(rng.integers(0, L + 30))
        r1, r2 = make_pair(rng, ins, L, errors=int(rng.integers(0, 5)))
        if trial % 7 == 0:
            r1 = r1[: L - 3] + "N" + r1[L - 2 :]
        q1 = rng.integers(5, 41, L).tolist()
        q2 = rng.integers(5, 41, L).tolist()
        k_ins, k_llr = kernel_pair_insert(r1, q1, r2, q2)
        n_ins, n_llr = naive_pair_insert(r1, q1, r2, q2, AD1, AD2)
        assert k_ins == n_ins, (trial, r1, r2)
        if k_ins >= 0:
            assert k_llr == pytest.approx(n_llr, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(r1=dna_n, r2=dna_n, q=st.integers(2, 45))
def test_pair_insert_random_matches_naive(r1, r2, q) -> None:
    q1, q2 = [q] * len(r1), [q] * len(r2)
    k_ins, k_llr = kernel_pair_insert(r1, q1, r2, q2)
    n_ins, n_llr = naive_pair_insert(r1, q1, r2, q2, AD1, AD2)
    assert k_ins == n_ins
    if k_ins >= 0:
        assert k_llr == pytest.approx(n_llr)


def test_pairs_cut_to_insert_exactly() -> None:
    """Every insert size from 0 to past the read length, with a few substitutions: both mates
    cut to the insert (the overlap finds inserts whose adapter part is 1-2 bases)."""
    rng = np.random.default_rng(6)
    L = 100
    r1s, r2s, want = [], [], []
    for rep in range(4):
        for ins in range(0, L + 15):
            r1, r2 = make_pair(rng, ins, L, errors=rep)
            r1s.append(r1)
            r2s.append(r2)
            want.append(min(ins, L))
    k1, k2, how = A.pair_cut(chunk_of(r1s), chunk_of(r2s))
    want = np.asarray(want)
    assert (k1 == want).mean() >= 0.995 and (k2 == want).mean() >= 0.995
    assert (how[want < L] == 1).all() and (how[want == L] == 0).mean() > 0.99


def test_pairs_indel_in_one_mate() -> None:
    """An indel error in one mate's insert part moves only that mate's adapter."""
    rng = np.random.default_rng(7)
    L = 100
    r1s, r2s, w1, w2 = [], [], [], []
    for ins in range(20, 98, 3):
        frag = rand_seq(rng, ins)
        p = int(rng.integers(1, ins - 1))
        if ins % 2:  # deletion in R1
            r1 = (frag[:p] + frag[p + 1 :] + AD1 + "G" * L)[:L]
            w1.append(ins - 1)
        else:  # insertion in R1
            r1 = (frag[:p] + "T" + frag[p:] + AD1 + "G" * L)[:L]
            w1.append(ins + 1)
        r2s.append((rc(frag) + AD2 + "G" * L)[:L])
        r1s.append(r1)
        w2.append(ins)
    k1, k2, _ = A.pair_cut(chunk_of(r1s), chunk_of(r2s))
    assert k1.tolist() == w1 and k2.tolist() == w2


def test_simulated_pairs_accuracy(tmp_path: Path) -> None:
    """The simulator's own read-through truth (adapter start per read, after indel errors):
    short inserts, default error model."""
    from biometal.simulate import ErrorModel
    from biometal.simulate._sequencer import simulate_pairs

    rng = np.random.default_rng(8)
    n = 3000
    genome = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 200_000)]
    ins = np.clip(np.rint(rng.normal(120, 40, n)), 1, None).astype(np.int64)
    start = (rng.random(n) * (genome.size - ins)).astype(np.int64)
    res = simulate_pairs(
        genome,
        start,
        ins,
        rng.random(n) < 0.5,
        [b"p%d" % i for i in range(n)],
        150,
        ErrorModel(),
        np.random.SeedSequence(8),
        tmp_path / "r1.fq.gz",
        tmp_path / "r2.fq.gz",
    )
    stats = A.trim_pairs(
        tmp_path / "r1.fq.gz",
        tmp_path / "r2.fq.gz",
        tmp_path / "o1.fq",
        tmp_path / "o2.fq",
        chunk_reads=1000,
    )
    assert stats["reads"] == 2 * n
    for mate, key in (("o1.fq", "r1_adapter"), ("o2.fq", "r2_adapter")):
        got = np.asarray([len(r.seq) for r in read_fastq(tmp_path / mate)])
        truth = np.where(res[key] >= 0, res[key], 150)
        assert (got != truth).mean() <= 0.003, (mate, np.flatnonzero(got != truth)[:10])


def test_truseq_constants_match_simulator() -> None:
    from biometal.simulate import TRUSEQ_R1, TRUSEQ_R2

    assert (A.TRUSEQ_R1, A.TRUSEQ_R2) == (TRUSEQ_R1, TRUSEQ_R2)


# ------------------------------------------------------------------ files, CLI, oracle


def write_fastq(path: Path, seqs: list[str], prefix: str = "read", suffix: str = "") -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as fh:
        for i, s in enumerate(seqs):
            fh.write(f"@{prefix}{i}{suffix} c\n{s}\n+\n{'I' * len(s)}\n")
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "biometal", "trim", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_trim_files_single_and_paired(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    pairs = [make_pair(rng, int(k), 80) for k in rng.integers(10, 120, 200)]
    f1 = write_fastq(tmp_path / "a_1.fq.gz", [p[0] for p in pairs], suffix="/1")
    f2 = write_fastq(tmp_path / "a_2.fq.gz", [p[1] for p in pairs], suffix="/2")
    proc = cli(str(f1), str(f2), "-o", str(tmp_path / "o1.fq.gz"), "-p", str(tmp_path / "o2.fq"))
    assert proc.returncode == 0, proc.stderr
    o1 = list(read_fastq(tmp_path / "o1.fq.gz"))
    o2 = list(read_fastq(tmp_path / "o2.fq"))
    assert [r.name for r in o1] == [f"read{i}/1 c" for i in range(200)]
    assert len(o2) == 200
    for (r1, r2), a, b in zip(pairs, o1, o2, strict=True):
        assert r1.startswith(a.seq) and r2.startswith(b.seq)
        assert a.qual == "I" * len(a.seq)
    stats = A.trim_single(f1, tmp_path / "s.fq", poly_g=10)
    assert stats["reads"] == 200 and 0 < stats["with_adapter"] <= 200


@pytest.mark.skipif(shutil.which("cutadapt") is None, reason="cutadapt not installed")
def test_cutadapt_oracle_single_end_exact(tmp_path: Path) -> None:
    """Exact adapters (or prefixes of them) after random inserts: same cuts as cutadapt -e 0
    and as cutadapt's defaults (-e 0.1 -O 3) on error-free reads."""
    rng = np.random.default_rng(10)
    reads = []
    for _ in range(400):
        ins = rand_seq(rng, int(rng.integers(0, 90)))
        reads.append((ins + AD1 + rand_seq(rng, 20))[: int(rng.integers(20, 110))])
    fq = write_fastq(tmp_path / "in.fq", reads)
    for e in ("0", "0.1"):
        out = tmp_path / f"cut{e}.fq"
        cmd = ["cutadapt", "-j", "1", "-e", e, "-a", AD1, "-o", str(out), str(fq)]
        subprocess.run(cmd, check=True, capture_output=True)
        theirs = [len(r.seq) for r in read_fastq(out)]
        ours = A.single_cut(chunk_of(reads), AD1, error_rate=float(e)).tolist()
        agree = np.mean(np.asarray(theirs) == np.asarray(ours))
        assert agree == 1.0, [
            (r, a, b) for r, a, b in zip(reads, theirs, ours, strict=True) if a != b
        ][:3]


@pytest.mark.parametrize(
    "case, message",
    [
        ("malformed", "bad_1.fq:5: expected '@'"),
        ("names", "have different IDs"),
        ("counts", "has 3 reads but its mate file"),
        ("adapter", "adapter: expected a non-empty adapter"),
        ("missing_p", "need both a second FASTQ and -p"),
    ],
)
def test_bad_input_one_line(tmp_path: Path, case: str, message: str) -> None:
    good1 = write_fastq(tmp_path / "g_1.fq", ["ACGTACGT"] * 3)
    good2 = write_fastq(tmp_path / "g_2.fq", ["ACGTACGT"] * 3)
    o1, o2 = str(tmp_path / "o1.fq.gz"), str(tmp_path / "o2.fq.gz")
    if case == "malformed":
        bad = tmp_path / "bad_1.fq"
        bad.write_text("@r0\nACGT\n+\nIIII\nr1\nACGT\n+\nIIII\n")
        args = [str(bad), str(good2), "-o", o1, "-p", o2]
    elif case == "names":
        other = write_fastq(tmp_path / "x_2.fq", ["ACGTACGT"] * 3, prefix="other")
        args = [str(good1), str(other), "-o", o1, "-p", o2]
    elif case == "counts":
        more = write_fastq(tmp_path / "m_2.fq", ["ACGTACGT"] * 4)
        args = [str(good1), str(more), "-o", o1, "-p", o2]
    elif case == "adapter":
        args = ["-a", "ACGXT", str(good1), "-o", o1]
    else:
        args = [str(good1), str(good2), "-o", o1]
    proc = cli(*args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("biometal trim: error: ") and message in lines[0], lines[0]
    assert not any(p.name.startswith(("o1", "o2", ".o1", ".o2")) for p in tmp_path.iterdir())


def _peak_rss_kb(args: list[str]) -> int:
    """Peak RSS (kB) of ``python -m biometal trim ARGS`` in its own process."""
    code = (
        "import resource, sys\nfrom biometal.cli import main\n"
        f"rc = main(['trim', *{args!r}])\n"
        "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.strip())


@pytest.mark.slow
def test_memory_flat_in_input_size(tmp_path: Path) -> None:
    """Streaming: 4x more pairs, same peak memory (chunks of 2000 pairs; both inputs larger
    than the reader's and writer's buffers)."""
    rng = np.random.default_rng(11)
    peaks = []
    for n in (20000, 80000):
        pairs = [make_pair(rng, int(k), 150) for k in rng.integers(50, 400, 500)]
        pairs = (pairs * (n // 500))[:n]
        f1 = write_fastq(tmp_path / f"{n}_1.fq.gz", [p[0] for p in pairs])
        f2 = write_fastq(tmp_path / f"{n}_2.fq.gz", [p[1] for p in pairs])
        args = [str(f1), str(f2), "-o", str(tmp_path / "o1.fq.gz"), "-p", str(tmp_path / "o2.fq")]
        peaks.append(_peak_rss_kb([*args, "--chunk-reads", "2000", "-t", "1"]))
    assert peaks[1] - peaks[0] < 10_000, peaks  # kB; 60000 more pairs: 2 x 20 MB of FASTQ


# ------------------------------------------------------------------ text-block trimming path
# trim_single / trim_pairs read FASTQ text blocks and write records by slicing them
# (biometal.readqc._trim_io); the reference below is the chunk path: ReadChunk arrays from
# biometal.io (read_fastq_chunks / mate_chunks), the same cut functions, FastqWriter.


def _cut_chunk(c: ReadChunk, keep: np.ndarray) -> ReadChunk:
    parts = [slice(int(c.offsets[i]), int(c.offsets[i]) + int(k)) for i, k in enumerate(keep)]
    codes = np.concatenate([c.codes[p] for p in parts] or [np.empty(0, np.uint8)])
    qual = np.concatenate([c.qual[p] for p in parts] or [np.empty(0, np.uint8)])
    off = np.zeros(len(keep) + 1, np.int64)
    np.cumsum(keep, out=off[1:])
    return ReadChunk(codes, qual, off, c.names)


def ref_trim_pairs(f1: Path, f2: Path, o1: Path, o2: Path, poly_g: int = 0) -> None:
    from biometal.io.fastx import FastqWriter
    from biometal.io.mates import mate_chunks

    with FastqWriter(o1) as w1, FastqWriter(o2) as w2:
        for c1, c2 in mate_chunks(f1, f2, 1000, with_names=True):
            k1, k2, _ = A.pair_cut(c1, c2)
            for c, k, w in ((c1, k1, w1), (c2, k2, w2)):
                if poly_g:
                    K.poly_g_trim(c.codes, c.offsets, k, poly_g)
                w.write_chunk(_cut_chunk(c, k))


def ref_trim_single(f: Path, o: Path, adapter: str = AD1) -> None:
    from biometal.io.fastx import FastqWriter, read_fastq_chunks

    with FastqWriter(o) as w:
        for c in read_fastq_chunks(f, 1000, with_names=True):
            w.write_chunk(_cut_chunk(c, A.single_cut(c, adapter)))


def test_unpack_codes_every_byte() -> None:
    """The compare-and-select decoding equals ENCODE_LUT (and byte - 33) on all 256 bytes;
    the written base is DECODE_LUT[ENCODE_LUT[byte]], the quality min(byte, '~')."""
    from biometal.io.encoding import DECODE_LUT, ENCODE_LUT

    body = np.arange(256, dtype=np.uint8)
    arr = np.concatenate([np.frombuffer(b"@h\n", np.uint8), body, [10, 43, 10], body, [10]])
    arr = arr.astype(np.uint8)
    starts = np.array([0, 3, 260, 262], np.int64)
    ends = np.array([2, 259, 261, 518], np.int64)
    codes, qual, off = np.empty(256, np.uint8), np.empty(256, np.uint8), np.empty(2, np.int64)
    assert K.unpack(arr, starts, ends, 0, 1, codes, qual, off, True) == 256
    assert (codes == ENCODE_LUT).all() and (qual == (body - 33).astype(np.uint8)).all()
    out = np.empty(arr.size, np.uint8)
    n = K.emit(arr, starts, ends, 0, 1, np.array([256], np.int32), out)
    text = out[:n].tobytes()
    assert (
        text
        == b"@h\n"
        + DECODE_LUT[ENCODE_LUT].tobytes()
        + b"\n+\n"
        + bytes(min(b, 126) for b in range(256))
        + b"\n"
    )


_SEQ_CHARS = "ACGTACGTACGTNacgtnRYKM"


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 200),  # insert length
            st.text(alphabet=_SEQ_CHARS, min_size=0, max_size=30),  # noise at the read end
            st.text(alphabet="abc XYZ\t:=", max_size=12),  # header description
            st.integers(33, 127),  # top quality byte
        ),
        min_size=1,
        max_size=40,
    ),
    chunk=st.integers(1, 50),
    seed=st.integers(0, 2**16),
)
def test_text_path_equals_chunk_path(tmp_path_factory, data, chunk, seed) -> None:
    """trim_pairs / trim_single write the same bytes as the chunk path (lower case, IUPAC,
    qualities above '~', descriptions, /1 /2 suffixes, any chunk size)."""
    tmp = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(seed)
    recs1, recs2 = [], []
    for i, (ins, noise, desc, qtop) in enumerate(data):
        r1, r2 = make_pair(rng, ins, 100)
        r1 = (r1[: 100 - len(noise)] + noise)[:100]
        r2 = r2.lower() if i % 3 == 0 else r2
        q1 = bytes(rng.integers(33, qtop + 1, len(r1)).astype(np.uint8)).decode()
        q2 = bytes(rng.integers(33, qtop + 1, len(r2)).astype(np.uint8)).decode()
        recs1.append(f"@p{i}/1 {desc}\n{r1}\n+\n{q1}\n")
        recs2.append(f"@p{i}/2\t{desc[:3]}\n{r2}\n+p{i}\n{q2}\n")
    f1, f2 = tmp / "a_1.fq", tmp / "a_2.fq"
    f1.write_text("".join(recs1))
    f2.write_text("".join(recs2))
    A.trim_pairs(f1, f2, tmp / "o1.fq", tmp / "o2.fq", chunk_reads=chunk, poly_g=8)
    ref_trim_pairs(f1, f2, tmp / "r1.fq", tmp / "r2.fq", poly_g=8)
    assert (tmp / "o1.fq").read_bytes() == (tmp / "r1.fq").read_bytes()
    assert (tmp / "o2.fq").read_bytes() == (tmp / "r2.fq").read_bytes()
    A.trim_single(f1, tmp / "s.fq.gz", chunk_reads=chunk)
    ref_trim_single(f1, tmp / "rs.fq.gz")
    assert gzip.decompress((tmp / "s.fq.gz").read_bytes()) == gzip.decompress(
        (tmp / "rs.fq.gz").read_bytes()
    )


def _mates(tmp: Path, n: int, r2_drop: int | None = None, r2_rename: int | None = None):
    """Mates of ``n`` pairs whose headers differ in length (R1's blocks hold fewer records
    than R2's, so windows cross block ends at different records); > 1 MB each."""
    rng = np.random.default_rng(21)
    pairs = [make_pair(rng, int(k), 100) for k in rng.integers(20, 300, n)]
    with open(tmp / "m_1.fq", "w") as a, open(tmp / "m_2.fq", "w") as b:
        for i, (r1, r2) in enumerate(pairs):
            a.write(f"@pair{i}/1 {'x' * 60}\n{r1}\n+\n{'F' * len(r1)}\n")
            if i == r2_drop:
                continue
            name = f"other{i}" if i == r2_rename else f"pair{i}"
            b.write(f"@{name}/2\n{r2}\n+\n{'F' * len(r2)}\n")
    return tmp / "m_1.fq", tmp / "m_2.fq"


def test_text_path_mates_across_blocks(tmp_path: Path) -> None:
    """Mates in lock-step over several 1 MB blocks of different record counts: output as
    the chunk path; an ID mismatch or a missing read deep in the files is a MateError with
    the record and both IDs / both counts, and leaves no output."""
    from biometal.io.mates import MateError

    f1, f2 = _mates(tmp_path, 12000)
    assert f1.stat().st_size > 2 << 20
    stats = A.trim_pairs(f1, f2, tmp_path / "o1.fq", tmp_path / "o2.fq", threads=1)
    ref_trim_pairs(f1, f2, tmp_path / "r1.fq", tmp_path / "r2.fq")
    assert (tmp_path / "o1.fq").read_bytes() == (tmp_path / "r1.fq").read_bytes()
    assert (tmp_path / "o2.fq").read_bytes() == (tmp_path / "r2.fq").read_bytes()
    assert stats["reads"] == 24000 and stats["with_adapter"] > 0
    out = tmp_path / "out"
    out.mkdir()
    f1, f2 = _mates(tmp_path, 12000, r2_rename=9876)
    with pytest.raises(MateError, match=r"read 9877 .*\('pair9876' vs 'other9876'\)"):
        A.trim_pairs(f1, f2, out / "o1.fq", out / "o2.fq")
    f1, f2 = _mates(tmp_path, 12000, r2_drop=11999)
    with pytest.raises(MateError, match="has 12000 reads but its mate file .* has 11999"):
        A.trim_pairs(f1, f2, out / "o1.fq", out / "o2.fq")
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ 3' quality trimming


def naive_quality_stop(qual: list[int], cutoff: int) -> int:
    """cutadapt's quality_trim_index (3' end only), written out in Python."""
    stop, s, best = len(qual), 0, 0
    for i in reversed(range(len(qual))):
        s += cutoff - qual[i]
        if s < 0:
            break
        if s > best:
            best, stop = s, i
    return stop


@settings(max_examples=200, deadline=None)
@given(
    quals=st.lists(st.lists(st.integers(0, 60), max_size=40), min_size=1, max_size=20),
    cutoff=st.integers(0, 45),
)
def test_quality_trim_kernel_matches_naive(quals, cutoff) -> None:
    from biometal.readqc import _qualtrim_kernels as QK

    rng = np.random.default_rng(len(quals))
    seqs = [rand_seq(rng, len(q)) for q in quals]
    c = chunk_of(seqs, quals)
    codes, qual, off = c.codes.copy(), c.qual.copy(), c.offsets.copy()
    kept = np.empty(len(seqs), np.int32)
    total = QK.quality_trim_compact(codes, qual, off, cutoff, kept)
    want = [naive_quality_stop(q, cutoff) for q in quals]
    assert kept.tolist() == want and total == sum(want)
    for i, (s, q) in enumerate(zip(seqs, quals, strict=True)):
        a, b = int(off[i]), int(off[i + 1])
        assert b - a == want[i]
        assert (codes[a:b] == encode(s[: want[i]])).all() and qual[a:b].tolist() == q[: want[i]]


ECOLI = Path("/usr/share/spades/test_dataset")  # Debian spades: real Illumina reads


@pytest.mark.skipif(shutil.which("cutadapt") is None, reason="cutadapt not installed")
@pytest.mark.skipif(not (ECOLI / "ecoli_1K_1.fq.gz").exists(), reason="spades test data missing")
def test_quality_cutoff_equals_cutadapt_on_real_reads(tmp_path: Path) -> None:
    """`biometal trim -q C` cuts real reads (2x1027 E. coli reads, Debian spades' test data,
    their own instrument's qualities) to the same lengths as `cutadapt -q C`; -O 30 keeps
    adapter matches out of it in both tools."""
    for mate in (1, 2):
        fq = ECOLI / f"ecoli_1K_{mate}.fq.gz"
        for cutoff in ("10", "20", "30"):
            theirs, ours = tmp_path / "c.fq", tmp_path / "b.fq"
            cmd = ["cutadapt", "-j", "1", "-q", cutoff, "-O", "30", "-a", AD1]
            subprocess.run([*cmd, "-o", str(theirs), str(fq)], check=True, capture_output=True)
            proc = cli("-q", cutoff, "-O", "30", str(fq), "-o", str(ours))
            assert proc.returncode == 0, proc.stderr
            a = [(r.name, r.seq, r.qual) for r in read_fastq(theirs)]
            b = [(r.name, r.seq.upper(), r.qual) for r in read_fastq(ours)]
            assert len(a) == len(b) > 1000
            assert sum(len(x[1]) for x in a) < sum(len(x[1]) for x in read_fastq(fq))
            assert [(x[0], x[1].upper(), x[2]) for x in a] == b


def test_quality_cutoff_pairs(tmp_path: Path) -> None:
    """Pairs: each mate is quality-trimmed before the adapter search; good reads are left as
    without ``-q``, trimmed ones end at the quality cut or at their adapter before it (an
    adapter of a base or two left in a trimmed read may go unseen: >= 95% as without -q)."""
    rng = np.random.default_rng(5)
    pairs = [make_pair(rng, int(k), 100) for k in rng.integers(20, 300, 300)]
    quals = [[30] * 100 for _ in pairs]
    for q in quals[::2]:
        q[70:] = [2] * 30  # a low-quality tail on every other pair
    f1, f2 = tmp_path / "q_1.fq", tmp_path / "q_2.fq"
    for path, mate in ((f1, 0), (f2, 1)):
        path.write_text(
            "".join(
                f"@p{i}\n{p[mate]}\n+\n{''.join(chr(33 + x) for x in q)}\n"
                for i, (p, q) in enumerate(zip(pairs, quals, strict=True))
            )
        )
    stats = A.trim_pairs(f1, f2, tmp_path / "o1.fq", tmp_path / "o2.fq", quality_cutoff=20)
    plain = A.trim_pairs(f1, f2, tmp_path / "p1.fq", tmp_path / "p2.fq")
    assert stats["quality_trimmed"] == 2 * 150 and plain["quality_trimmed"] == 0
    for out, ref in (("o1.fq", "p1.fq"), ("o2.fq", "p2.fq")):
        got = [len(r.seq) for r in read_fastq(tmp_path / out)]
        base = [len(r.seq) for r in read_fastq(tmp_path / ref)]
        assert got[1::2] == base[1::2]  # good qualities: no change
        assert max(got[::2]) <= 70  # the adapter search ran on the trimmed reads
        same = np.mean([g == min(b, 70) for g, b in zip(got[::2], base[::2], strict=True)])
        assert same >= 0.95, same
