"""biometal.io.vcf.read_vcf against `bcftools query` (the oracle) on VCF, VCF.gz and BCF.

Data: records written here (hypothesis: multi-allelic, missing values, phased/unphased,
haploid and mixed ploidy, flags, multiple FILTERs) and real third-party VCFs shipped by
Debian packages (htslib-test, python-pysam-tests, vcftools, freebayes), each also
converted to VCF.gz (bgzip + tabix) and BCF (bcftools view -Ob + index).
"""

from __future__ import annotations

import glob
import gzip
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.io.vcf import (
    INT_END,
    INT_MISSING,
    VcfError,
    hts_float_text,
    read_vcf,
    read_vcf_all,
)

BCFTOOLS = shutil.which("bcftools")
needs_bcftools = pytest.mark.skipif(BCFTOOLS is None, reason="bcftools not installed")
MISSING_BITS, END_BITS = 0x7F800001, 0x7F800002

#: Debian packages whose VCFs are used (apt-get install htslib-test python-pysam-tests
#: vcftools freebayes).
DEBIAN_GLOBS = (
    "/usr/share/htslib-test/test/**/*.vcf",
    "/usr/share/doc/python-pysam/tests/**/*.vcf",
    "/usr/share/doc/python-pysam/tests/**/*.vcf.gz",
    "/usr/share/doc/vcftools/examples/testdata/*.vcf",
    "/usr/share/doc/freebayes/examples/**/*.vcf*",
)
#: htslib's own "does not round-trip" case: a FORMAT column naming GT twice ("GT:GT" with
#: "2,4:."), which bcftools reads as 0/1; we reject that GT as malformed instead.
#: longrefs/index.vcf has positions past 2**31, which bcftools 1.16 query prints modulo 2**32.
EXCLUDE = {
    "/usr/share/htslib-test/test/noroundtrip.vcf",
    "/usr/share/htslib-test/test/longrefs/index.vcf",
}


def _fmt_value(v, typ: str) -> str:
    if typ == "Flag":
        return "1" if v else "."
    if typ == "Integer":
        vals = np.atleast_1d(v)
        out = []
        for x in vals:
            if x == INT_END:
                break
            out.append("." if x == INT_MISSING else str(int(x)))
        return ",".join(out) or "."
    if typ == "Float":
        vals = np.atleast_1d(np.asarray(v, np.float32))
        out = []
        for x in vals:
            b = int(x.view(np.uint32))
            if b == END_BITS:
                break
            out.append("." if b == MISSING_BITS else hts_float_text(float(x)))
        return ",".join(out) or "."
    return str(v)


def _fmt_gt(alleles, phased) -> str:
    a = [int(x) for x in alleles if x != -2]
    return ("|" if phased else "/").join("." if x == -1 else str(x) for x in a)


def _ours(path, info, fmt, types, region=None, samples=None, chunk_records=7) -> list[str]:
    lines = []
    for c in read_vcf(
        path, info=info, format=fmt, region=region, samples=samples, chunk_records=chunk_records
    ):
        for i in range(len(c)):
            cols = [c.chrom[i], str(c.pos[i]), c.id[i], c.ref[i], c.alt[i]]
            cols.append(_fmt_value(c.qual[i], "Float"))
            cols.append(c.filter[i])
            cols += [_fmt_value(c.info[k][i], types["info"][k]) for k in info]
            for s in range(len(c.samples)):
                if types.get("gt", True):
                    cols.append(_fmt_gt(c.gt[i, s], c.phased[i, s]))
                cols += [_fmt_value(c.fmt[k][i, s], types["fmt"][k]) for k in fmt]
            lines.append("\t".join(cols))
    return lines


def _bcftools(path, info, fmt, region=None, samples=None, gt=True) -> list[str]:
    f = "%CHROM\t%POS\t%ID\t%REF\t%ALT\t%QUAL\t%FILTER"
    f += "".join(f"\t%INFO/{k}" for k in info)
    f += "[" + ("\t%GT" if gt else "") + "".join(f"\t%{k}" for k in fmt) + "]\n"
    cmd = [BCFTOOLS, "query", "-f", f, str(path)]
    if region:
        cmd += ["-r", region]
    if samples is not None:
        cmd += ["-s", ",".join(samples)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def _header_types(path) -> dict:
    """INFO/FORMAT key -> Type, from bcftools' view of the header."""
    text = subprocess.run(
        [BCFTOOLS, "view", "-h", str(path)], check=True, capture_output=True, text=True
    ).stdout
    from biometal.io.vcf import _parse_header

    h = _parse_header(text, str(path))
    return {
        "info": {k: t for k, (_n, t) in h.info.items()},
        "fmt": {k: t for k, (_n, t) in h.fmt.items() if k != "GT"},
        "gt": "GT" in h.fmt,
        "samples": h.samples,
    }


def _variants(src: Path, tmp: Path) -> list[Path]:
    """src's own text as plain VCF, VCF.gz (bgzip + tabix) and, where htslib can write it
    (every contig in the header, every value representable), BCF (+ CSI index)."""
    raw = src.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    plain = tmp / "x.vcf"
    plain.write_bytes(raw)
    gz = tmp / "x.vcf.gz"
    with open(gz, "wb") as out:
        subprocess.run([shutil.which("bgzip") or "bgzip", "-c", str(plain)], check=True, stdout=out)
    subprocess.run([BCFTOOLS, "index", "-t", "-f", str(gz)], check=False, capture_output=True)
    made = [plain, gz]
    bcf = tmp / "x.bcf"
    r = subprocess.run([BCFTOOLS, "view", "-Ob", "-o", str(bcf), str(plain)], capture_output=True)
    if r.returncode == 0 and b"[E::" not in r.stderr:
        subprocess.run([BCFTOOLS, "index", "-f", str(bcf)], check=False, capture_output=True)
        made.append(bcf)
    return made


def _debian_vcfs() -> list[str]:
    """Debian's VCFs that bcftools reads without an error (warnings allowed)."""
    found = []
    for pat in DEBIAN_GLOBS:
        for f in sorted(glob.glob(pat, recursive=True)):
            if BCFTOOLS is None or f in EXCLUDE or f.endswith(".tbi"):
                continue
            r = subprocess.run([BCFTOOLS, "view", "-Ov", "-o", "/dev/null", f], capture_output=True)
            if r.returncode == 0 and b"[E::" not in r.stderr:
                found.append(f)
    return found


DEBIAN = _debian_vcfs()


def _check_equal(path, tmp: Path, regions=()) -> None:
    types = _header_types(path)
    ok = re.compile(r"[A-Za-z0-9_.]+")  # what a bcftools query format can name
    info = [k for k in types["info"] if ok.fullmatch(k)]
    fmt = [k for k in types["fmt"] if ok.fullmatch(k)]
    for v in _variants(Path(path), tmp):
        gt = types["gt"]
        assert _ours(v, info, fmt, types) == _bcftools(v, info, fmt, gt=gt), v
        if v.suffix == ".vcf":
            continue
        for reg in regions:
            if not Path(str(v) + ".tbi").exists() and not Path(str(v) + ".csi").exists():
                continue
            want = _bcftools(v, info, fmt, reg, gt=gt)
            assert _ours(v, info, fmt, types, region=reg) == want, (v, reg)


@needs_bcftools
@pytest.mark.skipif(not DEBIAN, reason="no Debian VCFs (apt-get install htslib-test ...)")
@pytest.mark.parametrize("src", DEBIAN, ids=lambda p: p.split("/usr/share/")[-1])
def test_debian_vcfs_equal_bcftools_query(src, tmp_path):
    lines = _bcftools(src, [], [], gt=False)
    regions = []
    if lines and ":" not in lines[0].split("\t")[0]:  # bcftools -r cannot name such contigs
        chrom, pos = lines[len(lines) // 2].split("\t")[:2]
        regions = [chrom, f"{chrom}:{pos}", f"{chrom}:{max(1, int(pos) - 1000)}-{int(pos) + 50}"]
    _check_equal(src, tmp_path, regions)


# ------------------------------------------------------------------ generated records

HEADER = """##fileformat=VCFv4.2
##contig=<ID=1,length=100000>
##contig=<ID=chrX,length=100000>
##FILTER=<ID=q10,Description="q">
##FILTER=<ID=s50,Description="s">
##INFO=<ID=DP,Number=1,Type=Integer,Description="d">
##INFO=<ID=AF,Number=A,Type=Float,Description="a">
##INFO=<ID=AC,Number=R,Type=Integer,Description="c">
##INFO=<ID=DB,Number=0,Type=Flag,Description="f">
##INFO=<ID=NOTE,Number=1,Type=String,Description="n">
##FORMAT=<ID=GT,Number=1,Type=String,Description="g">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="q">
##FORMAT=<ID=HQ,Number=2,Type=Float,Description="h">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3
"""
TYPES = {
    "info": {"DP": "Integer", "AF": "Float", "AC": "Integer", "DB": "Flag", "NOTE": "String"},
    "fmt": {"GQ": "Integer", "HQ": "Float"},
}

_base = st.sampled_from("ACGT")
_allele = st.text(alphabet="ACGT", min_size=1, max_size=4)
_num = st.one_of(st.just("."), st.integers(-5, 10**6).map(str))
_flt = st.one_of(
    st.just("."), st.floats(-1e6, 1e6, allow_nan=False, width=32).map(lambda x: f"{x:.6g}")
)


@st.composite
def _record(draw, pos):
    n_alt = draw(st.integers(0, 3))
    alts = draw(st.lists(_allele, min_size=n_alt, max_size=n_alt, unique=True))
    ref = draw(_base)
    alts = [a for a in alts if a != ref]
    info = []
    if draw(st.booleans()):
        info.append(f"DP={draw(st.integers(0, 10**6))}")
    if alts and draw(st.booleans()):
        info.append("AF=" + ",".join(draw(_flt) for _ in alts))
    if draw(st.booleans()):
        info.append("AC=" + ",".join(draw(_num) for _ in range(len(alts) + 1)))
    if draw(st.booleans()):
        info.append("DB")
    if draw(st.booleans()):
        info.append("NOTE=" + draw(st.text(alphabet="abcXYZ_-", min_size=1, max_size=6)))
    draw(st.randoms()).shuffle(info)
    samples = []
    for _ in range(3):
        ploidy = draw(st.integers(1, 3))
        al = [
            draw(st.one_of(st.just("."), st.integers(0, len(alts)).map(str))) for _ in range(ploidy)
        ]
        sep = draw(st.sampled_from("/|"))
        gq = draw(_num)
        hq = ",".join(draw(_flt) for _ in range(2))
        samples.append(f"{sep.join(al)}:{gq}:{hq}")
    qual = draw(st.one_of(st.just("."), st.integers(0, 5000).map(str), _flt))
    filt = draw(st.sampled_from(["PASS", ".", "q10", "q10;s50"]))
    chrom = "1"
    return "\t".join(
        [chrom, str(pos), ".", ref, ",".join(alts) or ".", qual, filt, ";".join(info) or "."]
        + ["GT:GQ:HQ"]
        + samples
    )


@st.composite
def _vcf_text(draw):
    n = draw(st.integers(0, 25))
    starts = sorted(draw(st.lists(st.integers(1, 90000), min_size=n, max_size=n)))
    return HEADER + "".join(draw(_record(p)) + "\n" for p in starts)


@needs_bcftools
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_vcf_text())
def test_random_records_equal_bcftools(text, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rnd")
    src = tmp / "in.vcf"
    src.write_text(text)
    info, fmt = list(TYPES["info"]), list(TYPES["fmt"])
    for v in _variants(src, tmp):
        assert _ours(v, info, fmt, TYPES) == _bcftools(v, info, fmt), (v, text)
        assert _ours(v, info, fmt, TYPES, samples=["s3", "s1"]) == _bcftools(
            v, info, fmt, samples=["s3", "s1"]
        )
        if v.suffix != ".vcf":
            for reg in ("1:20000-60000", "1:50000", "chrX", "2"):
                assert _ours(v, info, fmt, TYPES, region=reg) == _bcftools(v, info, fmt, reg)
            two = ["1:1-30000", "1:60000-90000"]
            assert _ours(v, info, fmt, TYPES, region=two) == _bcftools(v, info, fmt, ",".join(two))


@needs_bcftools
def test_pysam_written_file(tmp_path):
    pysam = pytest.importorskip("pysam")
    hdr = pysam.VariantHeader()
    hdr.add_line("##contig=<ID=chr1,length=1000>")
    hdr.add_line('##INFO=<ID=DP,Number=1,Type=Integer,Description="d">')
    hdr.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="g">')
    hdr.add_samples("a", "b")
    path = tmp_path / "p.vcf.gz"
    with pysam.VariantFile(str(path), "wz", header=hdr) as out:
        for i in range(50):
            r = out.new_record(contig="chr1", start=i * 10, alleles=("A", "C", "G")[: 2 + i % 2])
            r.info["DP"] = i
            r.samples["a"]["GT"] = (0, 1)
            r.samples["a"].phased = i % 2 == 0
            r.samples["b"]["GT"] = (1,) if i % 3 else (None, None)
            out.write(r)
    types = {"info": {"DP": "Integer"}, "fmt": {}}
    assert _ours(path, ["DP"], [], types) == _bcftools(path, ["DP"], [])
    c = read_vcf_all(path, info=["DP"])
    assert c.gt.shape == (50, 2, 2) and c.gt.dtype == np.int8
    assert c.info["DP"].dtype == np.int32 and c.pos.dtype == np.int64


def test_chunks_bounded(tmp_path):
    body = "".join(f"1\t{i + 1}\t.\tA\tC\t10\tPASS\tDP={i}\tGT\t0/1\t1|1\t.\n" for i in range(100))
    path = tmp_path / "c.vcf"
    path.write_text(HEADER + body)
    chunks = list(read_vcf(path, info=["DP"], chunk_records=16))
    assert [len(c) for c in chunks] == [16] * 6 + [4]
    assert np.array_equal(np.concatenate([c.info["DP"] for c in chunks]), np.arange(100))
    c = chunks[0]
    assert c.gt[0].tolist() == [[0, 1], [1, 1], [-1, -2]]
    assert c.phased[0].tolist() == [False, True, False]


# ------------------------------------------------------------------------ bad input


def _bad(tmp_path, text: str, name="bad.vcf") -> str:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(VcfError) as e:
        list(read_vcf(p, chunk_records=7))
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg
    return msg


def test_bad_pos(tmp_path):
    msg = _bad(
        tmp_path,
        HEADER + "1\t10\t.\tA\tC\t1\t.\t.\tGT\t0\t0\t0\n1\tx1\t.\tA\tC\t1\t.\t.\tGT\t0\t0\t0\n",
    )
    assert f":{HEADER.count(chr(10)) + 2}:" in msg and "POS" in msg


def test_wrong_column_count(tmp_path):
    msg = _bad(tmp_path, HEADER + "1\t10\t.\tA\tC\t1\t.\t.\tGT\t0\t0\n")
    assert f":{HEADER.count(chr(10)) + 1}:" in msg and "columns" in msg


def test_bad_gt_and_qual(tmp_path):
    assert "GT" in _bad(tmp_path, HEADER + "1\t10\t.\tA\tC\t1\t.\t.\tGT\t0/x\t0\t0\n")
    assert "QUAL" in _bad(tmp_path, HEADER + "1\t10\t.\tA\tC\tq\t.\t.\tGT\t0\t0\t0\n")


def test_not_a_vcf_and_missing(tmp_path):
    assert "fileformat" in _bad(tmp_path, "hello\n")
    with pytest.raises(VcfError):
        list(read_vcf(tmp_path / "nope.vcf"))


@needs_bcftools
def test_truncated_bgzf_and_bcf(tmp_path):
    src = tmp_path / "in.vcf"
    body = "".join(f"1\t{i + 1}\t.\tA\tC\t10\tPASS\tDP={i}\tGT\t0/1\t1|1\t.\n" for i in range(3000))
    src.write_text(HEADER + body)
    for fmt_, ext in (("-Oz", "vcf.gz"), ("-Ob", "bcf")):
        full = tmp_path / f"f.{ext}"
        subprocess.run([BCFTOOLS, "view", fmt_, "-o", str(full), str(src)], check=True)
        data = full.read_bytes()
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(data[: len(data) * 2 // 3])
        with pytest.raises(VcfError) as e:
            list(read_vcf(cut))
        assert "\n" not in str(e.value) and str(cut) in str(e.value)
    plain_gz = tmp_path / "p.vcf.gz"
    plain_gz.write_bytes(gzip.compress(src.read_bytes())[:-100])
    with pytest.raises(VcfError):
        list(read_vcf(plain_gz))


def test_unknown_field(tmp_path):
    p = tmp_path / "u.vcf"
    p.write_text(HEADER)
    with pytest.raises(VcfError, match="INFO/XX"):
        list(read_vcf(p, info=["XX"]))


@needs_bcftools
def test_region_uses_info_end(tmp_path):
    hdr = HEADER.replace(
        "##FORMAT=<ID=GT", '##INFO=<ID=END,Number=1,Type=Integer,Description="e">\n##FORMAT=<ID=GT'
    )
    recs = [
        "1\t100\t.\tA\t<DEL>\t.\tPASS\tEND=5000\tGT\t0/1\t0\t.",
        "1\t200\t.\tACGT\tA\t.\tPASS\t.\tGT\t0/1\t0\t.",
        "1\t4000\t.\tA\tC\t.\tPASS\tEND=4000\tGT\t0/1\t0\t.",
        "1\t6000\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0\t.",
    ]
    src = tmp_path / "e.vcf"
    src.write_text(hdr + "\n".join(recs) + "\n")
    types = {"info": {"END": "Integer"}, "fmt": {}}
    gz, bcf = _variants(src, tmp_path)[1:]
    for v, index in ((gz, "-t"), (gz, "-c"), (bcf, "-c")):  # .csi is read first when both exist
        subprocess.run([BCFTOOLS, "index", index, "-f", str(v)], check=True)
        for reg in ("1:3000-4500", "1:202-203", "1:150", "1:5001-6000"):
            assert _ours(v, [], [], types, region=reg) == _bcftools(v, [], [], reg), (v, reg)
            assert _ours(v, ["END"], [], types, region=reg) == _bcftools(v, ["END"], [], reg)


_RSS = """
import resource, sys
from biometal.io.vcf import read_vcf
n = sum(len(c) for c in read_vcf(sys.argv[1], info=["DP"], format=["GQ"], chunk_records=2048))
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.parametrize("ext", ["vcf", "vcf.gz"])
def test_memory_is_flat(tmp_path, ext):
    """Peak RSS reading 4,000 vs 40,000 records (about 10x the bytes) differs by < 25 MB."""
    import sys

    rss = []
    for n in (4000, 40000):
        body = "".join(
            f"1\t{i + 1}\t.\tA\tC,G\t{i % 97}.5\tPASS\tDP={i};AF=0.1,0.2\tGT:GQ:HQ"
            f"\t0/1:{i % 50}:1,2\t1|2:3:.,.\t./.:.:1,1\n"
            for i in range(n)
        )
        p = tmp_path / f"m{n}.vcf"
        p.write_text(HEADER + body)
        if ext == "vcf.gz":
            from biometal.io.bgzf import BgzfWriter

            with BgzfWriter(tmp_path / f"m{n}.vcf.gz") as w:
                w.write(p.read_bytes())
            p = tmp_path / f"m{n}.vcf.gz"
        out = subprocess.run(
            [sys.executable, "-c", _RSS, str(p)], check=True, capture_output=True, text=True
        ).stdout.split()
        assert int(out[0]) == n
        rss.append(int(out[1]))
    assert rss[1] - rss[0] < 25_000, rss  # KiB


def test_error_line_in_a_later_chunk(tmp_path):
    good = "".join(f"1\t{i + 1}\t.\tA\tC\t1\t.\t.\tGT\t0\t0\t0\n" for i in range(50))
    msg = _bad(tmp_path, HEADER + good + "1\t99\t.\tA\tC\t1\t.\t.\tGT\t0\t0\n")
    assert f":{HEADER.count(chr(10)) + 51}:" in msg


@needs_bcftools
def test_records_without_gt_and_empty_values(tmp_path):
    recs = [
        "1\t5\t.\tA\tC\t1\t.\tDP\tGQ\t3\t4\t5",
        "1\t6\t.\tA\tC\t1\t.\tDP=3.5;AC=1,x\tGT:GQ\t0/1:3\t1\t.:.",
        "1\t7\t.\tA\tC\t1\t.\tNOTE\tGT:GQ:HQ\t0/1:3\t.:.\t1:2:,1",
    ]
    src = tmp_path / "g.vcf"
    src.write_text(HEADER + "\n".join(recs) + "\n")
    info, fmt = list(TYPES["info"]), list(TYPES["fmt"])
    for v in _variants(src, tmp_path):
        assert _ours(v, info, fmt, TYPES) == _bcftools(v, info, fmt), v


@needs_bcftools
def test_empty_elements_as_htslib(tmp_path):
    recs = [
        "1\t5\t.\tA\tC\t1\t.\tAC=1,,2;AF=,1\tGT:HQ\t0:,1\t1:.\t0:1,",
        "1\t6\t.\tA\tC\t1\t.\tAC=;AF=;DP;NOTE=\tGT\t0\t1\t0",
    ]
    src = tmp_path / "k.vcf"
    src.write_text(HEADER + "\n".join(recs) + "\n")
    info, fmt = list(TYPES["info"]), list(TYPES["fmt"])
    for v in _variants(src, tmp_path):
        assert _ours(v, info, fmt, TYPES) == _bcftools(v, info, fmt), v


@needs_bcftools
def test_regions_on_a_many_block_file(tmp_path):
    """Regions deep inside a file of many BGZF blocks (index offsets past the first block)."""
    rng = np.random.default_rng(3)
    lines = []
    for chrom in ("1", "chrX"):
        for p in np.sort(rng.choice(99000, 6000, replace=False)) + 1:
            ref = "ACGT"[p % 4] * (1 + p % 3)
            lines.append(f"{chrom}\t{p}\t.\t{ref}\tT\t{p % 50}\tPASS\tDP={p % 77}\tGT\t0/1\t1|1\t.")
    src = tmp_path / "big.vcf"
    src.write_text(HEADER + "\n".join(lines) + "\n")
    types = {"info": {"DP": "Integer"}, "fmt": {}}
    for v in _variants(src, tmp_path)[1:]:
        for reg in ("1:50000-50200", "chrX:98000-99999", "1:1-100", "chrX:31337"):
            assert _ours(v, ["DP"], [], types, region=reg) == _bcftools(v, ["DP"], [], reg)


@needs_bcftools
def test_cli_vcf_equals_bcftools_query(tmp_path):
    import sys

    src = tmp_path / "c.vcf"
    src.write_text(
        HEADER
        + "1\t5\t.\tA\tC,G\t3.5\tq10;s50\tDP=4;AF=0.5,.;DB\tGT:GQ:HQ\t0|1:3:1,2\t1\t./.:.:.\n"
        + "1\t9\trs9\tA\t.\t.\t.\t.\tGT:GQ:HQ\t0/0:1:.\t.\t0:2:3,4\n"
    )
    gz = _variants(src, tmp_path)[1]
    cmd = [sys.executable, "-m", "biometal", "vcf", str(gz), "-i", "DP,AF,DB", "-F", "GQ,HQ"]
    out = tmp_path / "out.tsv"
    proc = subprocess.run([*cmd, "-s", "s2,s3", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    want = _bcftools(gz, ["DP", "AF", "DB"], ["GQ", "HQ"], samples=["s2", "s3"])
    assert out.read_text().splitlines() == want
    bad = subprocess.run([*cmd, "-r", "1:1-5", "-i", "NOPE"], capture_output=True, text=True)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "INFO/NOPE" in bad.stderr and "Traceback" not in bad.stderr


def _libhts_kputd():
    """htslib's ``kputd`` (what bcftools query prints floats with), through ctypes."""
    import ctypes
    import ctypes.util

    class KString(ctypes.Structure):
        _fields_ = [("l", ctypes.c_size_t), ("m", ctypes.c_size_t), ("s", ctypes.c_void_p)]

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("hts") or "libhts.so.3")
        fn = lib.kputd
    except (OSError, AttributeError):
        pytest.skip("libhts (htslib's shared library) not found")
    fn.argtypes = [ctypes.c_double, ctypes.POINTER(KString)]
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]

    def kputd(d: float) -> str:
        ks = KString(0, 0, None)
        fn(d, ctypes.byref(ks))
        text = ctypes.string_at(ks.s, ks.l).decode()
        libc.free(ks.s)
        return text

    return kputd


def test_float_text_is_htslib_kputd():
    """Floats are printed as htslib's kputd prints them (six significant digits, halves
    up), not as %g: on ties (29450.25, 269842.5), float32 values, magnitudes from 1e-6 to
    1e7 (the %g range outside [1e-4, 999999]) and both signs."""
    import random
    import struct

    kputd = _libhts_kputd()
    rng = random.Random(7)
    values = [0.0, -0.0, 29450.25, 269842.5, 0.5, 9.999995, 99999.95, 999999.0, 999999.4]
    values += [1e-4, 9.999e-5, 1e6, float("inf"), -3.25, 0.30000001192092896]
    for _ in range(20000):
        v = 10 ** rng.uniform(-6, 7)
        if rng.random() < 0.3:
            v = round(v, rng.randint(0, 6))
        if rng.random() < 0.3:
            v = struct.unpack("f", struct.pack("f", v))[0]
        values += [v if rng.random() < 0.9 else -v, rng.randint(0, 10**6) / 4]
    bad = [(v, kputd(v), hts_float_text(v)) for v in values if kputd(v) != hts_float_text(v)]
    assert not bad, bad[:5]
    assert hts_float_text(29450.25) == "29450.3" and f"{29450.25:g}" == "29450.2"


@needs_bcftools
def test_cli_vcf_string_fields_and_tied_floats(tmp_path):
    """String INFO / FORMAT values of every Number (1, A, .), missing ones, and QUALs on a
    rounding tie print as bcftools query prints them (a String field was a traceback)."""
    import sys

    src = tmp_path / "s.vcf"
    src.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
        '##INFO=<ID=S1,Number=1,Type=String,Description="x">\n'
        '##INFO=<ID=SA,Number=A,Type=String,Description="x">\n'
        '##INFO=<ID=SD,Number=.,Type=String,Description="x">\n'
        '##INFO=<ID=AF,Number=A,Type=Float,Description="x">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="x">\n'
        '##FORMAT=<ID=FS,Number=1,Type=String,Description="x">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n"
        "1\t10\t.\tA\tG\t29450.25\tPASS\tS1=foo;SA=bar;SD=a,b;AF=0.1234565\tGT:FS\t0/1:xyz\n"
        "1\t20\t.\tC\tT,G\t269842.5\tPASS\tS1=q;SA=u,v;SD=c\tGT:FS\t1/2:.\n"
        "1\t30\t.\tG\tA\t.\tPASS\tAF=1e-05\tGT\t1/1\n"
    )
    out = tmp_path / "out.tsv"
    cmd = [sys.executable, "-m", "biometal", "vcf", str(src), "-i", "S1,SA,SD,AF", "-F", "FS"]
    proc = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    want = _bcftools(src, ["S1", "SA", "SD", "AF"], ["FS"])
    assert out.read_text().splitlines() == want
    assert want[0].split("\t")[5] == "29450.3" and want[1].split("\t")[5] == "269843"


def test_header_only_file_gives_empty_chunk(tmp_path):
    p = tmp_path / "h.vcf"
    p.write_text(HEADER)
    assert list(read_vcf(p)) == []
    c = read_vcf_all(p, info=["DP", "AF"], format=["HQ"])
    assert len(c) == 0 and c.gt.shape == (0, 3, 2) and c.info["AF"].shape == (0, 1)
    assert c.fmt["HQ"].dtype == np.float32 and c.fmt["HQ"].shape == (0, 3, 1)
