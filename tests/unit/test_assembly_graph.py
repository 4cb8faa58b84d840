"""biometal.assembly: k-mer counting, solid threshold, compacted de Bruijn graph, tips,
bubbles, chaining, GFA. Oracles: plain-Python counting and unitig construction (hypothesis)
and BCALM2's unitigs where ``bcalm`` is installed."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections import Counter

import numpy as np
import pytest
from biometal.kernels.kmer_count import canonical_kmers
from hypothesis import given, settings
from hypothesis import strategies as st

from biometal.assembly import _kernels as K
from biometal.assembly.graph import Graph, n50, read_gfa, revcomp
from biometal.assembly.kmers import KmerTable, count_sequences, solid_threshold
from biometal.errors import ConfigError
from biometal.io.encoding import encode


def canon(kmer: str) -> str:
    return min(kmer, revcomp(kmer))


def to_int(kmer: str) -> int:
    return sum("ACGT".index(c) << (2 * (len(kmer) - 1 - i)) for i, c in enumerate(kmer))


def naive_counts(seqs: list[str], k: int) -> Counter:
    c: Counter = Counter()
    for s in seqs:
        for i in range(len(s) - k + 1):
            kmer = s[i : i + k]
            if set(kmer) <= set("ACGT"):
                c[canon(kmer)] += 1
    return c


def naive_unitigs(kmers: set[str], k: int) -> set[frozenset[str]]:
    """Unitigs as sets of canonical k-mers: components of the relation x -> y merged when x
    has exactly one successor y, y exactly one predecessor, and they differ canonically."""

    def succ(x: str) -> list[str]:
        return [x[1:] + b for b in "ACGT" if canon(x[1:] + b) in kmers]

    def pred(x: str) -> list[str]:
        return [revcomp(y) for y in succ(revcomp(x))]

    parent = {x: x for x in kmers}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in kmers:
        for x in (c, revcomp(c)):
            s = succ(x)
            if len(s) == 1 and len(pred(s[0])) == 1 and canon(s[0]) != c:
                parent[find(c)] = find(canon(s[0]))
    groups: dict[str, set[str]] = {}
    for c in kmers:
        groups.setdefault(find(c), set()).add(c)
    return {frozenset(g) for g in groups.values()}


def graph_partition(g: Graph) -> set[frozenset[str]]:
    k = g.k
    return {frozenset(canon(s[i : i + k]) for i in range(len(s) - k + 1)) for s in g.seq.values()}


def check_graph(g: Graph, counts: Counter) -> None:
    k = g.k
    for u, s in g.seq.items():
        kmers = [canon(s[i : i + k]) for i in range(len(s) - k + 1)]
        assert len(set(kmers)) == len(kmers)  # a unitig visits each k-mer once
        assert g.cov[u] == pytest.approx(np.mean([counts[x] for x in kmers]))
    for (u, su), ends in g.links.items():
        a = g.oriented((u, su))
        for v, sv in ends:
            b = g.oriented((v, sv))
            assert a[-(k - 1) :] == b[: k - 1]
            assert canon(a[-(k - 1) :] + b[k - 1]) in counts


def random_genome(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


@pytest.mark.parametrize("k", [5, 21, 31, 32, 33, 63])
def test_counts_equal_naive(k):
    rng = random.Random(k)
    g = random_genome(rng, 400)
    seqs = [g[i : i + rng.randint(0, 150)] for i in range(0, 380, 7)]
    seqs += [revcomp(s) for s in seqs[::3]] + ["ACGTNNACGTAC" * 9]
    table = count_sequences(seqs, k, backend="cpu")
    hi, lo, cnt = table.items()
    got = {(int(h) << 64) | int(x): int(c) for h, x, c in zip(hi, lo, cnt, strict=True)}
    assert got == {to_int(x): c for x, c in naive_counts(seqs, k).items()}
    assert table.n == len(got)


def test_table_grows_past_its_first_capacity():
    rng = random.Random(2)
    seqs = [random_genome(rng, 1000) for _ in range(120)]  # ~118k distinct 25-mers
    table = count_sequences(seqs, 25, backend="cpu")
    assert table.capacity > 1 << 16 and table.n == len(naive_counts(seqs, 25))


def _reference_grow(table: KmerTable) -> KmerTable:
    """The table a fresh insertion of the k-mers in slot order gives at twice the capacity
    (the copying rehash the in-place growth replaces)."""
    bigger = KmerTable(table.k, np.zeros(2 * table.capacity if table.k > 32 else 1, np.uint64),
                       np.zeros(2 * table.capacity, np.uint64),
                       np.zeros(2 * table.capacity, np.uint32), table.n)  # fmt: skip
    K.table_put(bigger.keys_hi, bigger.keys_lo, bigger.counts, *table.items())
    return bigger


@pytest.mark.parametrize("seed", range(4))
def test_in_place_growth_equals_a_fresh_rehash(seed):
    # small tables up to nearly full: clusters wrap around the end, the hard case in place
    rng = np.random.default_rng(seed)
    for _ in range(400):
        k = int(rng.choice([21, 32, 33, 63]))
        cap = 1 << int(rng.integers(3, 11))
        n = int(rng.integers(0, cap))
        hi = rng.integers(0, 1 << 62, n, dtype=np.uint64) if k > 32 else np.zeros(n, np.uint64)
        lo = rng.integers(0, 1 << 63, n, dtype=np.uint64)
        reps = rng.integers(1, 4, n)
        order = rng.permutation(int(reps.sum()))
        t = KmerTable(k, np.zeros(cap if k > 32 else 1, np.uint64), np.zeros(cap, np.uint64),
                      np.zeros(cap, np.uint32))  # fmt: skip
        t.add_words(np.repeat(hi, reps)[order], np.repeat(lo, reps)[order])
        assert t.capacity == cap or n > 3 * cap // 4
        for _ in range(2):  # from plain arrays, then within the reserved room
            want = _reference_grow(t)
            t._grow()
            for a, b in ((t.keys_hi, want.keys_hi), (t.keys_lo, want.keys_lo),
                         (t.counts, want.counts)):  # fmt: skip
                np.testing.assert_array_equal(a, b)


def test_growth_within_the_reserved_room_moves_nothing():
    t = KmerTable.empty(63)
    t.add_words(np.arange(1, 60_000, dtype=np.uint64), np.arange(1, 60_000, dtype=np.uint64))
    cap = t.capacity  # grown once already
    t._grow()
    where = [a.ctypes.data for a in (t.keys_hi, t.keys_lo, t.counts)]
    t._grow()
    assert [a.ctypes.data for a in (t.keys_hi, t.keys_lo, t.counts)] == where
    assert t.capacity == 4 * cap and t.n == 59_999
    assert (t.lookup(np.array([5], np.uint64), np.array([5], np.uint64)) == 1).all()


@pytest.mark.parametrize("k", [15, 31, 32, 33, 63])
def test_counting_from_bases_equals_the_kernel_words(k):
    # the CPU path counts straight from the bases; the words of the kmer_count kernel
    # inserted in order must give the same table, slot for slot, through every growth
    rng = random.Random(k)
    g = random_genome(rng, 120_000)  # ~120k distinct k-mers: the table grows
    seqs = [g[i : i + rng.randint(k - 2, 300)] for i in range(0, 119_700, 29)]
    seqs = [s[:50] + "N" + s[51:] if i % 7 == 0 else s for i, s in enumerate(seqs)]
    codes = [encode(s) for s in seqs]
    offsets = np.zeros(len(codes) + 1, np.int64)
    np.cumsum([len(c) for c in codes], out=offsets[1:])
    flat = np.concatenate(codes).astype(np.uint8)
    fused = KmerTable.empty(k)
    fused.add_reads(flat, offsets, backend="cpu")
    words = canonical_kmers(flat, offsets, k, backend="cpu")
    plain = KmerTable.empty(k)
    plain.add_words(words.hi, words.lo)
    assert fused.capacity == plain.capacity > 1 << 16 and fused.n == plain.n
    for a, b in ((fused.keys_hi, plain.keys_hi), (fused.keys_lo, plain.keys_lo),
                 (fused.counts, plain.counts)):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    hi, lo, cnt = plain.items()
    hist = np.bincount(np.minimum(cnt, 50), minlength=51)
    np.testing.assert_array_equal(fused.histogram(50), hist)
    solid = fused.solid(2)
    keep = cnt >= 2
    want = KmerTable.empty(k, 2 * int(keep.sum()) + 2)
    K.table_put(want.keys_hi, want.keys_lo, want.counts, hi[keep], lo[keep], cnt[keep])
    assert solid.n == int(keep.sum())
    np.testing.assert_array_equal(solid.counts, want.counts)
    np.testing.assert_array_equal(solid.keys_lo, want.keys_lo)
    with pytest.raises(ValueError, match="codes must be"):
        fused.add_reads(flat.astype(np.int64), offsets, backend="cpu")
    with pytest.raises(ValueError, match="offsets must"):
        fused.add_reads(flat, offsets[::-1].copy(), backend="cpu")


def test_solid_threshold_is_the_first_valley():
    assert solid_threshold([0, 900, 100, 40, 12, 15, 60, 80, 50, 10]) == 4
    # a small bump (adapters, multi-copy k-mers) above a low-coverage genome is no valley
    assert solid_threshold([0, 5000, 800, 300, 100, 40, 20, 25, 10, 0]) == 2
    assert solid_threshold([0, 500, 100, 200]) == 2
    assert solid_threshold([0, 10, 5, 2, 1]) == 2  # never rises: the floor
    with pytest.raises(ConfigError, match="k: expected"):
        count_sequences(["ACGT"], 64)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(alphabet="ACGT", min_size=0, max_size=40), min_size=1, max_size=6),
    st.sampled_from([3, 5, 7, 9]),  # a graph's k is odd (check_graph_k)
    st.randoms(use_true_random=False),
)
def test_unitigs_equal_naive_construction(pieces, k, rnd):
    # shared pieces in several reads make branches, repeats and cycles
    seqs = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 5))) for _ in range(5)]
    counts = naive_counts(seqs, k)
    g = Graph.from_table(count_sequences(seqs, k, backend="cpu"))
    assert graph_partition(g) == naive_unitigs(set(counts), k)
    check_graph(g, counts)


@pytest.mark.parametrize("k", [31, 41])
def test_unitigs_equal_naive_on_repeats(k):
    rng = random.Random(k)
    rep = random_genome(rng, 80)
    genome = rep.join(random_genome(rng, 300) for _ in range(4)) + revcomp(rep)
    reads = [genome[i : i + 100] for i in range(0, len(genome) - 100, 5)]
    counts = naive_counts(reads, k)
    g = Graph.from_table(count_sequences(reads, k, backend="cpu"))
    assert graph_partition(g) == naive_unitigs(set(counts), k)
    check_graph(g, counts)
    assert len(g) > 4  # the repeat splits the genome


@pytest.mark.skipif(shutil.which("bcalm") is None, reason="bcalm (BCALM2) not installed")
def test_unitigs_equal_bcalm(tmp_path):
    rng = random.Random(7)
    rep = random_genome(rng, 120)
    genome = rep.join(random_genome(rng, 2000) for _ in range(5))
    reads = []
    for _ in range(1500):  # reads with 1% substitution errors, both strands
        i = rng.randrange(0, len(genome) - 100)
        r = list(genome[i : i + 100])
        for j in range(100):
            if rng.random() < 0.01:
                r[j] = rng.choice("ACGT")
        r = "".join(r)
        reads.append(r if rng.random() < 0.5 else revcomp(r))
    fa = tmp_path / "reads.fa"
    fa.write_text("".join(f">r{i}\n{r}\n" for i, r in enumerate(reads)))
    k, min_count = 31, 3
    subprocess.run(
        ["bcalm", "-in", str(fa), "-kmer-size", str(k), "-abundance-min", str(min_count),
         "-nb-cores", "1", "-out", str(tmp_path / "b"), "-out-tmp", str(tmp_path)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    bcalm = {
        frozenset(canon(s[i : i + k]) for i in range(len(s) - k + 1))
        for s in (tmp_path / "b.unitigs.fa").read_text().split("\n")
        if s and not s.startswith(">")
    }
    table = count_sequences(reads, k, backend="cpu").solid(min_count)
    g = Graph.from_table(table)
    assert len(bcalm) > 20
    assert graph_partition(g) == bcalm


def test_tips_bubbles_and_chaining_repair_the_graph(tmp_path):
    rng = random.Random(11)
    k = 21
    genome = random_genome(rng, 3000)
    reads = [genome[i : i + 100] for i in [*range(0, 2900, 3), 2900]] * 3
    snp = genome[1000:1100]
    snp = snp[:50] + ("A" if snp[50] != "A" else "C") + snp[51:]
    tip = genome[2000:2060] + ("G" if genome[2060] != "G" else "T") + genome[2061:2070]
    reads += [snp, tip]
    g = Graph.from_table(count_sequences(reads, k, backend="cpu"))
    assert len(g) >= 5
    assert g.clip_tips() == 1
    assert g.pop_bubbles() == 1
    assert len(g) == 1 and g.seq[next(iter(g.seq))] in (genome, revcomp(genome))
    gfa = tmp_path / "g.gfa"
    g.write_gfa(gfa)
    back = read_gfa(gfa)
    assert list(back.seq.values()) == list(g.seq.values()) and back.k == k


def test_gfa_round_trip_keeps_links(tmp_path):
    rng = random.Random(5)
    rep = random_genome(rng, 60)
    genome = rep.join(random_genome(rng, 200) for _ in range(3))
    g = Graph.from_table(count_sequences([genome], 25, backend="cpu"))
    g.write_gfa(tmp_path / "x.gfa")
    text = (tmp_path / "x.gfa").read_text()
    assert text.count("\nL\t") == g.n_links() and g.n_links() > 0
    back = read_gfa(tmp_path / "x.gfa")
    assert sorted(back.seq.values()) == sorted(g.seq.values()) and back.n_links() == g.n_links()


def test_n50():
    assert n50([10, 5, 3, 2]) == 10 and n50([4, 4, 1, 1]) == 4
    assert n50([10, 5], genome=40) == 0 and n50([30, 5], genome=40) == 30


def test_even_k_is_refused_before_the_graph(tmp_path):
    """An even k has k-mers that are their own reverse complement, which the graph kernels
    do not handle: `biometal assemble -k 4` corrupted the heap (glibc abort; third-party
    sweep on Rsamtools' ex1 reads). Now a one-line error, for the API and the command."""
    import subprocess
    import sys

    from biometal.assembly.kmers import check_graph_k
    from biometal.errors import ConfigError

    assert check_graph_k(31) == 31
    for k in (2, 4, 6, 32):
        with pytest.raises(ConfigError, match="odd k"):
            check_graph_k(k)
    fq = tmp_path / "r.fq"
    fq.write_text("".join(f"@r{i}\nACGTTGCAACGGTACCATGGTTAA\n+\n{'I' * 24}\n" for i in range(20)))
    cmd = [sys.executable, "-m", "biometal", "assemble", str(fq), "-o", str(tmp_path / "a")]
    proc = subprocess.run([*cmd, "-k", "4"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "odd k" in proc.stderr and proc.stderr.count("\n") == 1
