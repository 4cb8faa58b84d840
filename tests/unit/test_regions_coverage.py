"""Region coverage equals mosdepth 0.3.3 (``--by BED``, with and without ``-x``) and
``samtools bedcov`` (default, ``-j``, ``-d``) on simulated and third-party BAMs.

BAMs: the simulated 25x pairs (most mates overlap: mosdepth's mate correction matters) as
mapped by biometal's mappy mapper and by the real minimap2 / bwa; third-party BAMs shipped by
Debian (covtobed's examples: deletions, nanopore, amplicon panel, mate pairs, strands;
samtools' ex1 and the SAM-spec toy; freebayes' NA12878 chr22 slice; htslib's mpileup test
BAM). BEDs: random regions near the reads and far from them (no reads), 1 bp and zero-length
regions, whole small contigs, regions ending at the contig end, shuffled (unsorted), CRLF
line ends, BED4 names. Also: a naive per-read reference (hypothesis, random regions), the
per-base depth against mosdepth's per-base bedgraph, base counts against the pileup engine,
every read-through-the-index path agreeing, and bad input.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from variant_data import aligner_bam, dataset, third_party_bams

from biometal.cli import main
from biometal.errors import BiometalError
from biometal.pileup import PileupParams, pileup_arrays
from biometal.regions.coverage import depth_arrays, region_coverage, write_coverage_tsv

SAMTOOLS = shutil.which("samtools")


def _mosdepth() -> str | None:
    exe = shutil.which("mosdepth")
    if exe is None:
        return None
    # Debian's mosdepth dlopens libhts.so (package libhts-dev): it must start
    ok = subprocess.run([exe, "--version"], capture_output=True, check=False).returncode == 0
    return exe if ok else None


MOSDEPTH = _mosdepth()
need_mosdepth = pytest.mark.skipif(
    MOSDEPTH is None, reason="mosdepth not installed or not runnable (needs libhts-dev)"
)
need_samtools = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not installed")

COVTOBED = Path("/usr/share/doc/covtobed-examples/examples")
OTHER = {
    "na12878": Path("/usr/share/doc/freebayes/examples/tiny/NA12878.chr22.tiny.bam"),
    "htslib_small": Path("/usr/share/htslib-test/test/mpileup/small.bam"),
}


def _sorted_copy(src: Path, root: Path, name: str) -> Path:
    out = root / f"{name}.bam"
    if not out.exists():
        subprocess.run(
            [SAMTOOLS, "sort", "-o", str(out), str(src)], check=True, capture_output=True
        )
        subprocess.run([SAMTOOLS, "index", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("coverage")


@pytest.fixture(scope="module")
def sim(root: Path):
    return dataset(root / "sim")


def _bams(root: Path, sim) -> dict[str, Path]:
    out = {"sim_mappy": sim.bam}
    for tool in ("minimap2", "bwa"):
        bam = aligner_bam(sim, tool)
        if bam is not None:
            out[f"sim_{tool}"] = bam
    if SAMTOOLS is None:
        return out
    for name in ("demo", "del", "nano", "panel_01", "mp", "stranded"):
        src = COVTOBED / f"{name}.bam"
        if src.exists():
            out[f"covtobed_{name}"] = _sorted_copy(src, root, f"covtobed_{name}")
    for name, src in OTHER.items():
        if src.exists():
            out[name] = _sorted_copy(src, root, name)
    for name, (bam, _ref) in third_party_bams(root / "tp").items():
        if name in ("toy", "ex1"):
            out[f"samtools_{name}"] = bam
    return out


@pytest.fixture(scope="module")
def bams(root: Path, sim) -> dict[str, Path]:
    return _bams(root, sim)


BAM_NAMES = [
    "sim_mappy",
    "sim_minimap2",
    "sim_bwa",
    "covtobed_demo",
    "covtobed_del",
    "covtobed_nano",
    "covtobed_panel_01",
    "covtobed_mp",
    "covtobed_stranded",
    "na12878",
    "htslib_small",
    "samtools_toy",
    "samtools_ex1",
]


def _bam(bams: dict[str, Path], name: str) -> Path:
    if name not in bams:
        pytest.skip(f"{name}: tool or Debian example package not installed")
    return bams[name]


def make_bed(bam: Path, path: Path, *, n: int = 40, seed: int = 3) -> Path:
    """Regions near the reads and away from them, in random order, CRLF, BED4."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, int]] = []
    with pysam.AlignmentFile(str(bam)) as fh:
        for name, length in zip(fh.references, fh.lengths, strict=True):
            starts = [r.reference_start for r in fh.fetch(name) if not r.is_unmapped][::50]
            if not starts:
                # mosdepth 0.3.3 reads a stale array for a contig without reads and can
                # crash on a region that reaches its end (IndexDefect): stay inside
                rows += [(name, 0, length // 2), (name, length // 4, length // 3)]
                continue
            if length < 1_000_000:
                rows += [(name, 0, length), (name, max(0, length - 300), length)]
            lo, hi = min(starts), max(starts)
            for _ in range(n):
                s = int(rng.integers(max(0, lo - 2000), min(length, hi + 2000) + 1))
                e = min(length, s + int(rng.choice([1, 35, 200, 1500])))
                rows.append((name, s, e))
            for s in starts[:5]:
                if s > 0:  # mosdepth 0.3.3 crashes on an empty region at 0 (IndexDefect)
                    rows.append((name, s, s))  # zero length
                rows.append((name, s, min(length, s + 1)))
            far = min(length - 100, hi + 100_000)
            if far > hi:
                rows.append((name, far, far + 100))  # no reads there
    order = rng.permutation(len(rows))
    with open(path, "w", newline="") as fh:
        for k, i in enumerate(order):
            c, s, e = rows[i]
            fh.write(f"{c}\t{s}\t{e}\tr{k}\r\n")
    return path


def run_mosdepth(bam: Path, bed: Path, prefix: Path, *, fast: bool, thresholds=(1, 5, 10)):
    cmd = [MOSDEPTH, "-n", "-T", ",".join(map(str, thresholds)), "--by", str(bed)]
    cmd += ["-x"] if fast else []
    subprocess.run([*cmd, str(prefix), str(bam)], check=True, capture_output=True)
    reg = pd.read_csv(
        f"{prefix}.regions.bed.gz",
        sep="\t",
        header=None,
        names=["chrom", "start", "end", "name", "mean"],
        dtype={"chrom": str, "mean": str},
    )
    thr = pd.read_csv(f"{prefix}.thresholds.bed.gz", sep="\t", dtype={"#chrom": str})
    return reg, thr


def run_bedcov(bam: Path, bed: Path, *args: str) -> list[list[str]]:
    out = subprocess.run(
        [SAMTOOLS, "bedcov", *args, str(bed), str(bam)], check=True, capture_output=True, text=True
    ).stdout
    return [line.rstrip("\r").split("\t") for line in out.splitlines()]


# ------------------------------------------------------------------ oracles


@need_mosdepth
@pytest.mark.parametrize("fast", [False, True], ids=["default", "fast_x"])
# covtobed's panel_01 is left to samtools here: mosdepth walks each whole human chromosome
# of its header (~60 s a run); bench/region_coverage.py compares it with mosdepth
@pytest.mark.parametrize("name", [n for n in BAM_NAMES if n != "covtobed_panel_01"])
def test_equals_mosdepth(bams, root: Path, name: str, fast: bool) -> None:
    """Mean (as mosdepth prints it, 2 decimals) and -T counts of every region are mosdepth's."""
    bam = _bam(bams, name)
    bed = make_bed(bam, root / f"{name}.bed")
    reg, thr = run_mosdepth(bam, bed, root / f"md_{name}_{fast}", fast=fast)
    df = region_coverage(bam, bed, mode="mosdepth", fast=fast, thresholds=(1, 5, 10))
    key = ["chrom", "start", "end", "name"]
    m = df.merge(reg, on=key, suffixes=("", "_md"), validate="one_to_one")
    assert len(m) == len(df) == len(reg)
    ours = [f"{x:.2f}" for x in m["mean"]]
    assert ours == m["mean_md"].tolist()
    t = df.merge(thr, left_on=key, right_on=["#chrom", "start", "end", "region"])
    assert len(t) == len(df)
    for k in (1, 5, 10):
        assert (t[f"ge_{k}"] == t[f"{k}X"]).all(), k
    assert df["sum"].sum() > 0


@need_samtools
@pytest.mark.parametrize("name", BAM_NAMES)
def test_equals_samtools_bedcov(bams, root: Path, name: str) -> None:
    """sum = bedcov (D and N counted); -j = bedcov_no_del; -d 5 (which in samtools 1.16 also
    drops D/N from the sum) = bedcov_no_del with a threshold of 5; -Q 20 = min_mapq."""
    bam = _bam(bams, name)
    bed = make_bed(bam, root / f"bc_{name}.bed", seed=5)
    df = region_coverage(bam, bed, mode="bedcov")
    assert [int(r[4]) for r in run_bedcov(bam, bed)] == df["sum"].tolist()
    nd = region_coverage(bam, bed, mode="bedcov", bedcov_no_del=True, thresholds=(5,))
    assert [int(r[4]) for r in run_bedcov(bam, bed, "-j")] == nd["sum"].tolist()
    rows = run_bedcov(bam, bed, "-d", "5")
    assert [int(r[4]) for r in rows] == nd["sum"].tolist()
    assert [int(r[5]) for r in rows] == nd["ge_5"].tolist()
    q = region_coverage(bam, bed, mode="bedcov", min_mapq=20)
    assert [int(r[4]) for r in run_bedcov(bam, bed, "-Q", "20")] == q["sum"].tolist()


@need_mosdepth
@pytest.mark.parametrize("fast", [False, True], ids=["default", "fast_x"])
def test_depth_arrays_equal_mosdepth_per_base(sim, bams, root: Path, fast: bool) -> None:
    """Per-base depth of whole contigs and of windows = mosdepth's per-base bedgraph."""
    bam = _bam(bams, "sim_bwa") if "sim_bwa" in bams else sim.bam
    prefix = root / f"pb_{fast}"
    cmd = [MOSDEPTH, *(["-x"] if fast else []), str(prefix), str(bam)]
    subprocess.run(cmd, check=True, capture_output=True)
    with gzip.open(f"{prefix}.per-base.bed.gz", "rt") as fh:
        pb = pd.read_csv(fh, sep="\t", header=None, names=["c", "s", "e", "d"], dtype={"c": str})
    with pysam.AlignmentFile(str(bam)) as fh:
        contigs = dict(zip(fh.references, fh.lengths, strict=True))
    for contig, length in contigs.items():
        ref = np.zeros(length, np.int64)
        for s, e, d in pb[pb.c == contig][["s", "e", "d"]].itertuples(index=False):
            ref[s:e] = d
        assert np.array_equal(depth_arrays(bam, contig, 0, length, fast=fast), ref)
        for s in (0, 777, length - 500):
            win = depth_arrays(bam, contig, s, s + 1000, fast=fast)
            want = np.zeros(1000, np.int64)
            want[: max(0, min(1000, length - s))] = ref[s : s + 1000]
            assert np.array_equal(win, want)


# ------------------------------------------------------------------ references


def naive_depth(bam: Path, contig: str, length: int, *, span: bool, min_mapq: int = 0):
    """Per-read CIGAR walk with pysam: +1 over M/=/X (and D/N when ``span``)."""
    depth = np.zeros(length, np.int64)
    with pysam.AlignmentFile(str(bam)) as fh:
        for r in fh.fetch(contig):
            if r.flag & 1796 or r.mapping_quality < min_mapq:
                continue
            pos = r.reference_start
            for op, n in r.cigartuples:
                if op in (0, 7, 8) or (span and op in (2, 3)):
                    depth[pos : pos + n] += 1
                if op in (0, 2, 3, 7, 8):
                    pos += n
    return depth


@pytest.fixture(scope="module")
def naive(sim):
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        contigs = dict(zip(fh.references, fh.lengths, strict=True))
    return contigs, {
        (c, span): naive_depth(sim.bam, c, n, span=span)
        for c, n in contigs.items()
        for span in (False, True)
    }


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_regions_equal_naive_reference(sim, naive, tmp_path_factory, data) -> None:
    """bedcov sums / -j sums / thresholds of random regions (overlapping, nested, sparse) equal
    a naive per-read reference, whatever the seek gap (every region read through the index on
    its own, or all in one sweep)."""
    contigs, depth = naive
    names = list(contigs)
    n = data.draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        c = data.draw(st.sampled_from(names))
        s = data.draw(st.integers(0, contigs[c]))
        e = data.draw(st.integers(s, min(contigs[c], s + 5000)))
        rows.append((c, s, e))
    bed = tmp_path_factory.mktemp("hyp") / "r.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
    gap = data.draw(st.sampled_from([0, 500, 65_536]))
    no_del = data.draw(st.booleans())
    df = region_coverage(
        sim.bam, bed, mode="bedcov", bedcov_no_del=no_del, thresholds=(3, 20), gap=gap
    )
    for k, (c, s, e) in enumerate(rows):
        d = depth[(c, not no_del)][s:e]
        assert df["sum"][k] == d.sum()
        assert df["ge_3"][k] == (d >= 3).sum() and df["ge_20"][k] == (d >= 20).sum()


def test_base_counts_equal_pileup(sim) -> None:
    """A/C/G/T/N/del per region = the pileup engine's counts (tested against samtools mpileup)
    summed over the region, under the same filters."""
    params = PileupParams(min_baseq=0, count_orphans=True)
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        contig, length = fh.references[0], fh.lengths[0]
    counts, _ = pileup_arrays(sim.bam, contig, params)
    iv = [(0, length), (100, 350), (5000, 5001), (length - 700, length)]
    bed = sim.root / "bases.bed"
    bed.write_text("".join(f"{contig}\t{s}\t{e}\n" for s, e in iv))
    df = region_coverage(sim.bam, bed)
    for k, (s, e) in enumerate(iv):
        c = counts[s:e].astype(np.int64).sum(axis=0)
        want = [c[0] + c[5], c[1] + c[6], c[2] + c[7], c[3] + c[8], c[4] + c[9], c[10] + c[11]]
        assert df.loc[k, ["A", "C", "G", "T", "N", "del"]].tolist() == want


def test_gap_and_order_do_not_change_results(sim) -> None:
    """Many small sparse regions read region by region (gap 0) or in one sweep give the same
    table, in the BED's order (unsorted input)."""
    rng = np.random.default_rng(1)
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        contigs = dict(zip(fh.references, fh.lengths, strict=True))
    lines = []
    for _ in range(300):
        c = str(rng.choice(list(contigs)))
        s = int(rng.integers(0, contigs[c] - 200))
        lines.append(f"{c}\t{s}\t{s + int(rng.integers(0, 200))}\n")
    bed = sim.root / "sparse.bed"
    bed.write_text("".join(lines))
    a = region_coverage(sim.bam, bed, gap=0, thresholds=(1, 30))
    b = region_coverage(sim.bam, bed, gap=10**9, thresholds=(1, 30))
    pd.testing.assert_frame_equal(a, b)
    assert a["start"].tolist() == [int(ln.split("\t")[1]) for ln in lines]


# ------------------------------------------------------------------ bad input and CLI


def test_bad_regions_are_one_line_errors(sim, tmp_path: Path) -> None:
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        contig, length = fh.references[0], fh.lengths[0]
    past = tmp_path / "past.bed"
    past.write_text(f"# header\n{contig}\t10\t20\n{contig}\t{length - 10}\t{length + 5}\n")
    with pytest.raises(BiometalError, match=r"past.bed:3: region .* ends past the end"):
        region_coverage(sim.bam, past)
    clipped = region_coverage(sim.bam, past, clip=True, mode="bedcov")
    bedcov_like = region_coverage(sim.bam, past, clip=True, mode="bedcov", gap=0)
    pd.testing.assert_frame_equal(clipped, bedcov_like)
    assert clipped["sum"][1] == naive_depth(sim.bam, contig, length, span=True)[-10:].sum()
    other = tmp_path / "other.bed"
    other.write_text(f"{contig}\t1\t5\nchrUn_x\t1\t5\n")
    with pytest.raises(BiometalError, match=r"other.bed:2: contig 'chrUn_x' is not in the BAM"):
        region_coverage(sim.bam, other)
    with pytest.raises(BiometalError, match="mode must be one of"):
        region_coverage(sim.bam, other, mode="depth")
    with pytest.raises(BiometalError, match="thresholds must be >= 1"):
        region_coverage(sim.bam, past, clip=True, thresholds=(0,))
    noindex = tmp_path / "noindex.bam"
    shutil.copy(sim.bam, noindex)
    with pytest.raises(BiometalError, match="index"):
        region_coverage(noindex, past, clip=True)


def test_cli_writes_table_or_one_line_error(sim, tmp_path: Path, capsys) -> None:
    bed = tmp_path / "a.bed"
    bed.write_text("chr1\t10\t50\tx\r\nchr1\t40\t90\ty\r\nchr2\t5\t15\tz\r\n")
    out = tmp_path / "a.tsv"
    assert main(["coverage", str(sim.bam), str(bed), str(out), "-T", "1,10"]) == 0
    got = pd.read_csv(out, sep="\t")
    want = region_coverage(sim.bam, bed, thresholds=(1, 10))
    assert got.columns[0] == "#chrom" and got["sum"].tolist() == want["sum"].tolist()
    assert got["mean"].map("{:.2f}".format).tolist() == [f"{x:.2f}" for x in want["mean"]]
    capsys.readouterr()
    # '-': the same table on standard output, no file named '-' (there was one)
    assert main(["coverage", str(sim.bam), str(bed), "-", "-T", "1,10"]) == 0
    assert capsys.readouterr().out == out.read_text() and not Path("-").exists()
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t10\t50\nchr9\t1\t2\n")
    out2 = tmp_path / "b.tsv"
    assert main(["coverage", str(sim.bam), str(bad), str(out2), "--mode", "bedcov"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.bed:2: contig 'chr9'" in err, err
    assert not out2.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.bed",
        "a.tsv",
        "bad.bed",
    ]


def test_write_tsv_is_atomic(sim, tmp_path: Path) -> None:
    df = region_coverage(sim.bam, _one_region(sim, tmp_path))
    out = tmp_path / "x.tsv"
    write_coverage_tsv(df, out)
    assert out.read_text().splitlines()[0].startswith("#chrom\tstart\tend\tlength\tsum\tmean")


def _one_region(sim, tmp_path: Path) -> Path:
    bed = tmp_path / "one.bed"
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        bed.write_text(f"{fh.references[0]}\t0\t1000\n")
    return bed


# ------------------------------------------------------------------ memory


_RSS = """
import resource, sys
from biometal.regions.coverage import region_coverage
df = region_coverage(sys.argv[1], sys.argv[2])
assert len(df) == int(sys.argv[3])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_peak_rss_flat_in_number_of_regions(sim, tmp_path: Path) -> None:
    """Peak RSS with 2,000 and 40,000 regions differs by the output table only (< 300 B per
    extra region), not by the regions' bases or reads."""
    with pysam.AlignmentFile(str(sim.bam)) as fh:
        contigs = dict(zip(fh.references, fh.lengths, strict=True))
    rng = np.random.default_rng(2)
    rss = {}
    for n in (2_000, 40_000):
        bed = tmp_path / f"{n}.bed"
        cs = rng.choice(list(contigs), n)
        with open(bed, "w") as fh:
            for c in cs:
                s = int(rng.integers(0, contigs[c] - 200))
                fh.write(f"{c}\t{s}\t{s + 200}\n")
        proc = subprocess.run(
            [sys.executable, "-c", _RSS, str(sim.bam), str(bed), str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        rss[n] = int(proc.stdout.split()[-1]) * 1024
    assert rss[40_000] - rss[2_000] < 300 * 38_000, rss


@need_mosdepth
@pytest.mark.parametrize("fast", [False, True], ids=["default", "fast_x"])
def test_reads_without_aligned_bases_as_mosdepth(tmp_path: Path, fast: bool) -> None:
    """A read whose CIGAR has no reference operation (``2S40I33S``, as in htslib's test BAM)
    counts 1 at its position under mosdepth -x (htslib's end is pos + 1) and nothing
    otherwise: alone, twice at one position, and inside other reads' coverage."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 1000}]}
    sam = tmp_path / "noref.bam"
    with pysam.AlignmentFile(str(sam), "wb", header=header) as out:
        for k, (pos, cigar, n) in enumerate(
            [(100, "2S40I33S", 75), (100, "5S10I", 15), (500, "50M", 50), (520, "3I", 3)]
        ):
            r = pysam.AlignedSegment(out.header)
            r.query_name, r.reference_id, r.reference_start = f"r{k}", 0, pos
            r.cigarstring, r.mapping_quality = cigar, 60
            r.query_sequence, r.query_qualities = "A" * n, pysam.qualitystring_to_array("I" * n)
            out.write(r)
    pysam.index(str(sam))
    bed = tmp_path / "r.bed"
    bed.write_text("c1\t0\t1000\ta\nc1\t90\t110\tb\nc1\t100\t101\tc\nc1\t515\t525\td\n")
    reg, thr = run_mosdepth(sam, bed, tmp_path / "md", fast=fast, thresholds=(1, 2))
    df = region_coverage(sam, bed, fast=fast, thresholds=(1, 2))
    assert [f"{x:.2f}" for x in df["mean"]] == reg["mean"].tolist()
    assert df["ge_2"].tolist() == thr["2X"].tolist() and df["ge_1"].tolist() == thr["1X"].tolist()
    want = np.zeros(1000, np.int64)
    want[500:550] = 1
    if fast:
        want[100] += 2
        want[520] += 1
    assert np.array_equal(depth_arrays(sam, "c1", 0, 1000, fast=fast), want)


@need_samtools
def test_csi_index_same_as_bai(sim, tmp_path: Path) -> None:
    """The regions' reads are found through a CSI index (``samtools index -c``) as through
    the BAI: same table, regions read one by one."""
    bam = tmp_path / "csi.bam"
    shutil.copy(sim.bam, bam)
    subprocess.run([SAMTOOLS, "index", "-c", "-m", "12", str(bam)], check=True)
    assert Path(f"{bam}.csi").exists() and not Path(f"{bam}.bai").exists()
    bed = make_bed(sim.bam, tmp_path / "r.bed", n=60)
    want = region_coverage(sim.bam, bed, gap=0, thresholds=(1, 10))
    pd.testing.assert_frame_equal(region_coverage(bam, bed, gap=0, thresholds=(1, 10)), want)
