"""Interval operations: bedtools 2.30 as the oracle on random (hypothesis) and edge-case
interval sets, and naive Python references for the core kernels."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.errors import BiometalError
from biometal.regions import intervals as ops
from biometal.regions import read_bed, read_genome

BEDTOOLS = shutil.which("bedtools")
needs_bedtools = pytest.mark.skipif(BEDTOOLS is None, reason="bedtools not installed")
GENOME = {"2": 400, "chrX": 300, "1": 500, "MT": 50}

record = st.tuples(
    st.sampled_from(list(GENOME)),
    st.integers(0, 250),
    st.integers(1, 60),
    st.sampled_from("+-."),
    st.integers(0, 9),
)
records = st.lists(record, min_size=0, max_size=40)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _write(path: Path, recs, sort: bool = False) -> Path:
    rows = [(c, s, min(s + ln, GENOME[c]), st_, sc) for c, s, ln, st_, sc in recs]
    rows = [r for r in rows if r[2] > r[1]]
    if sort:
        order = {c: (i if sort == "genome" else c) for i, c in enumerate(GENOME)}
        rows.sort(key=lambda r: (order[r[0]], r[1]))  # genome order or `sort -k1,1 -k2,2n`
    path.write_text(
        "".join(f"{c}\t{s}\t{e}\tn{i}\t{sc}\t{t}\n" for i, (c, s, e, t, sc) in enumerate(rows))
    )
    return path


def _bt(*args) -> list[str]:
    out = subprocess.run([BEDTOOLS, *map(str, args)], capture_output=True, text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line)


def _ours(iv) -> list[str]:
    return sorted(iv.lines())


def _pair(tmp_path, ra, rb, sort=False):
    a = _write(tmp_path / "a.bed", ra, sort)
    b = _write(tmp_path / "b.bed", rb, sort)
    return a, b, read_bed(a), read_bed(b)


@needs_bedtools
@SETTINGS
@given(ra=records, rb=records, strand=st.sampled_from([None, "same", "opposite"]))
def test_intersect_equals_bedtools(tmp_path, ra, rb, strand):
    a, b, ia, ib = _pair(tmp_path, ra, rb)
    flag = {None: [], "same": ["-s"], "opposite": ["-S"]}[strand]
    for mode, args in {
        "default": [],
        "wa": ["-wa"],
        "wb": ["-wb"],
        "wawb": ["-wa", "-wb"],
        "u": ["-u"],
        "v": ["-v"],
        "c": ["-c"],
    }.items():
        got = _ours(ops.intersect(ia, ib, mode=mode, strand=strand))
        assert got == _bt("intersect", "-a", a, "-b", b, *args, *flag), mode


@needs_bedtools
@SETTINGS
@given(ra=records, d=st.sampled_from([0, 1, 5]), strand=st.booleans())
def test_merge_equals_bedtools(tmp_path, ra, d, strand):
    a = _write(tmp_path / "a.bed", ra, sort=True)
    if not a.read_text():
        return
    iv = read_bed(a)
    got = _ours(
        ops.merge(
            iv,
            distance=d,
            strand=strand,
            columns=(5, 5, 4, 5, 5, 4, 5),
            ops=("count", "sum", "collapse", "min", "max", "distinct", "mean"),
        )
    )
    flag = ["-s"] if strand else []
    ref = _bt(
        "merge",
        "-i",
        a,
        "-d",
        d,
        *flag,
        "-c",
        "5,5,4,5,5,4,5",
        "-o",
        "count,sum,collapse,min,max,distinct,mean",
    )
    # bedtools lists the names of intervals with equal coordinates in no fixed order (seen:
    # n1,n3,n2,n4 for four identical records); ours keep the input order: compare as sets
    assert [_unordered(line, 5) for line in got] == [_unordered(line, 5) for line in ref]


def _unordered(line: str, field: int) -> str:
    cols = line.split("\t")
    cols[field] = ",".join(sorted(cols[field].split(",")))
    return "\t".join(cols)


@needs_bedtools
@SETTINGS
@given(
    ra=records, rb=records, strand=st.sampled_from([None, "same", "opposite"]), whole=st.booleans()
)
def test_subtract_equals_bedtools(tmp_path, ra, rb, strand, whole):
    a, b, ia, ib = _pair(tmp_path, ra, rb)
    flag = {None: [], "same": ["-s"], "opposite": ["-S"]}[strand] + (["-A"] if whole else [])
    assert _ours(ops.subtract(ia, ib, strand=strand, whole=whole)) == _bt(
        "subtract", "-a", a, "-b", b, *flag
    )


@needs_bedtools
@SETTINGS
@given(ra=records)
def test_complement_equals_bedtools(tmp_path, ra):
    a = _write(tmp_path / "a.bed", ra, sort="genome")
    if not a.read_text():
        return
    g = tmp_path / "g.txt"
    g.write_text("".join(f"{c}\t{n}\n" for c, n in GENOME.items()))
    got = _ours(ops.complement(read_bed(a), read_genome(g)))
    assert got == _bt("complement", "-i", a, "-g", g)


@needs_bedtools
@SETTINGS
@given(
    ra=records,
    rb=records,
    ties=st.sampled_from(["all", "first", "last"]),
    strand=st.sampled_from([None, "same"]),
)
def test_closest_equals_bedtools(tmp_path, ra, rb, ties, strand):
    a, b, ia, ib = _pair(tmp_path, ra, rb, sort=True)
    if not a.read_text() or not b.read_text():
        return
    flag = ["-s"] if strand else []
    got = _ours(ops.closest(ia, ib, ties=ties, strand=strand))
    assert got == _bt("closest", "-a", a, "-b", b, "-d", "-t", ties, *flag)


@needs_bedtools
@pytest.mark.parametrize(
    "b_fields",
    [
        "",
        "x",
        "x\t5",
        "x\tfoo",  # a score that is no number: bedtools types the file BED-plus
        "x\t5\t+",
        "x\t5\tq",  # a column 6 that is no strand: BED-plus
        "x\t5\t+\textra",
        "x\t5\t+\t30\t40\t0,0,0\t1\t10,\t0,",  # BED12
        "x\t5\t+\t30\t40\t0,0,0\t1\t10,\t0,\textra",
    ],
)
def test_closest_without_b_on_the_chromosome_equals_bedtools(tmp_path, b_fields):
    """The null B record's fields (. -1 -1, then per BED type) as bedtools prints them."""
    a = tmp_path / "a.bed"
    a.write_text("chr1\t10\t20\ta\nchr2\t5\t8\tb\n")
    b = tmp_path / "b.bed"
    b.write_text("\t".join(["chr1", "30", "40", *([b_fields] if b_fields else [])]) + "\n")
    got = _ours(ops.closest(read_bed(a), read_bed(b)))
    assert got == _bt("closest", "-a", a, "-b", b, "-d")


@needs_bedtools
@SETTINGS
@given(ra=records, rb=records, strand=st.sampled_from([None, "same"]))
def test_coverage_equals_bedtools(tmp_path, ra, rb, strand):
    a, b, ia, ib = _pair(tmp_path, ra, rb)
    flag = ["-s"] if strand else []
    assert _ours(ops.coverage(ia, ib, strand=strand)) == _bt("coverage", "-a", a, "-b", b, *flag)
    assert _ours(ops.coverage(ia, ib, strand=strand, counts_only=True)) == _bt(
        "coverage", "-a", a, "-b", b, "-counts", *flag
    )


def _iv(rows, tmp_path, name="x.bed"):
    p = tmp_path / name
    p.write_text("".join(f"{c}\t{s}\t{e}\tr{i}\t0\t{t}\n" for i, (c, s, e, t) in enumerate(rows)))
    return read_bed(p)


ivrow = st.tuples(
    st.sampled_from(["1", "2", "chrUn_KI270302v1"]),
    st.integers(0, 2**35),
    st.integers(0, 40),
    st.sampled_from("+-."),
)


@SETTINGS
@given(
    ra=st.lists(ivrow, max_size=30),
    rb=st.lists(ivrow, max_size=30),
    near=st.booleans(),
    strand=st.sampled_from([None, "same", "opposite"]),
)
def test_overlap_pairs_naive(tmp_path, ra, rb, near, strand):
    """Unsorted input, zero-length, nested, touching, large coordinates vs a brute force."""
    fix = (
        (lambda r: (r[0], r[1] % 60, r[1] % 60 + r[2], r[3]))
        if near
        else (lambda r: (r[0], r[1], r[1] + r[2], r[3]))
    )
    ra, rb = [fix(r) for r in ra], [fix(r) for r in rb]
    a, b = _iv(ra, tmp_path, "a.bed"), _iv(rb, tmp_path, "b.bed")

    def ok(x, y):
        if x[0] != y[0] or not (x[1] < y[2] and y[1] < x[2]):
            return False
        if strand is None:
            return True
        if "." in (x[3], y[3]):
            return False
        return (x[3] == y[3]) == (strand == "same")

    want = sorted((i, j) for i, x in enumerate(ra) for j, y in enumerate(rb) if ok(x, y))
    ia, ib = ops.overlap_pairs(a, b, strand=strand)
    assert sorted(zip(ia.tolist(), ib.tolist(), strict=True)) == want
    assert ops.overlap_counts(a, b, strand).tolist() == [
        sum(1 for p in want if p[0] == i) for i in range(len(ra))
    ]
    # merge: the union of bases equals the naive union, pieces disjoint and not touching
    m = ops.merge(a)
    for c in {r[0] for r in ra}:
        got = [(s, e) for cc, s, e in zip(m.chrom_str(), m.start, m.end, strict=True) if cc == c]
        assert all(e1 < s2 for (_, e1), (s2, _) in zip(got, got[1:], strict=False))


def test_edge_cases_touching_nested_unsorted(tmp_path):
    a = _iv(
        [("2", 50, 60, "+"), ("1", 10, 20, "+"), ("1", 0, 100, "-"), ("1", 20, 30, "+")], tmp_path
    )
    assert not a.is_sorted
    assert ops.merge(a).lines() == ["2\t50\t60", "1\t0\t100"]  # first-appearance order
    assert sorted(ops.merge(a, strand=True).lines()) == ["1\t0\t100", "1\t10\t30", "2\t50\t60"]
    b = _iv([("1", 20, 25, "+")], tmp_path, "b.bed")
    # touching (10-20 vs 20-25) is no overlap; nested 0-100 contains it
    assert ops.overlap_counts(a, b).tolist() == [0, 0, 1, 1]
    assert ops.subtract(a, b).lines()[1:4] == [
        "1\t10\t20\tr1\t0\t+",
        "1\t0\t20\tr2\t0\t-",
        "1\t25\t100\tr2\t0\t-",
    ]
    ia, ib, d = ops.closest_pairs(a, b)
    assert d.tolist() == [-1, 1, 0, 0] and ib.tolist() == [-1, 0, 0, 0]


def test_bad_options_are_user_errors(tmp_path):
    a = _iv([("1", 1, 5, "+")], tmp_path)
    with pytest.raises(BiometalError, match="strand"):
        ops.intersect(a, a, strand="both")
    with pytest.raises(BiometalError, match="mode"):
        ops.intersect(a, a, mode="wx")
    with pytest.raises(BiometalError, match="unknown op"):
        ops.merge(a, columns=(5,), ops=("median2",))
    with pytest.raises(BiometalError, match="not in the genome"):
        ops.complement(a, {"2": 10})
    with pytest.raises(BiometalError, match="not numeric"):
        ops.merge(a, columns=(4,), ops=("sum",))


def test_merge_column_outside_the_records_is_an_error(tmp_path: Path) -> None:
    """-c 0, -c -1 (an IndexError traceback before) and a column past the last field (it
    printed '.') are errors naming the file and its columns, as bedtools refuses them."""
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t1\t5\tx\t3\nchr1\t4\t9\ty\t7\n")
    a = read_bed(bed)
    for col in (0, -1, 6, 9):
        with pytest.raises(BiometalError, match=r"merge -c .*: the records have columns 1-5 only"):
            ops.merge(a, columns=(col,), ops=("collapse",))
    assert ops.merge(a, columns=(5,), ops=("sum",)).lines() == ["chr1\t1\t9\t10"]


def test_column_6_that_is_no_strand_and_strand_rules_without_strands(tmp_path: Path) -> None:
    """BED-plus whose column 6 is no strand (a Bismark coverage file: %, methylated,
    unmethylated) reads as bedtools reads it, unstranded with the text kept (it was an
    error); a strand rule on records without a strand column is an error, as bedtools'
    (an empty result before)."""
    cov = tmp_path / "bismark.bed"
    cov.write_text("chr1\t100\t101\t75.0\t3\t1\nchr1\t150\t151\t0.0\t0\t4\n")
    b = tmp_path / "b.bed"
    b.write_text("chr1\t140\t160\n")
    a = read_bed(cov)
    assert a.strand.tolist() == [0, 0]
    assert ops.intersect(a, read_bed(b), mode="u").lines() == ["chr1\t150\t151\t0.0\t0\t4"]
    assert ops.merge(a, distance=100, columns=(6,), ops=("sum",)).lines() == ["chr1\t100\t151\t5"]
    bed5 = tmp_path / "r5.bed"
    bed5.write_text("chr1\t1\t5\tx\t3\n")
    for run in (
        lambda: ops.merge(read_bed(bed5), strand=True),
        lambda: ops.intersect(read_bed(cov), read_bed(bed5), mode="c", strand="same"),
    ):
        with pytest.raises(BiometalError, match="r5.bed: a strand rule .* needs a strand column"):
            run()
