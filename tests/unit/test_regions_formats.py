"""BED / bedGraph / GFF3 / GTF readers: real third-party files shipped by Debian packages,
header/CRLF/BOM conventions, one-line errors naming file:line, and bedtools on real files."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from biometal.errors import BiometalError, InputFormatError
from biometal.regions import intervals as ops
from biometal.regions import read_bed, read_bedgraph, read_gff3, read_gtf, write_bed
from biometal.regions.gff import gtf_to_bed

BEDTOOLS = shutil.which("bedtools")
PYSAM = Path("/usr/share/doc/python-pysam/tests/tabix_data")  # Debian python-pysam-tests
COVTOBED = Path("/usr/share/doc/covtobed-examples/examples")  # Debian covtobed-examples
UMAYDIS = Path("/usr/share/doc/maffilter/examples/Umaydis/Umaydis.gff3.gz")  # maffilter-examples


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not installed")
    return path


def _bt(*args) -> list[str]:
    out = subprocess.run([BEDTOOLS, *map(str, args)], capture_output=True, text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line)


def test_bed_conventions_crlf_bom_headers(tmp_path):
    p = tmp_path / "x.bed"
    p.write_bytes(
        b"\xef\xbb\xbftrack name=x\r\nbrowser position 1:1-10\r\n# c\r\n\r\n"
        b"1\t5\t10\tn1\t0\t+\r\nMT\t0\t3\tn2\t7\t-\r\n"
    )
    iv = read_bed(p)
    assert iv.lines() == ["1\t5\t10\tn1\t0\t+", "MT\t0\t3\tn2\t7\t-"]
    assert iv.strand.tolist() == [1, -1]
    assert iv.lineno.tolist() == [5, 6]
    assert iv.is_sorted


def test_fast_and_checked_readers_agree(tmp_path):
    p = tmp_path / "x.bed"
    p.write_text("c2\t5\t10\tn1\t007\t+\t1.50\nc1\t1\t3\tn2\t0\t.\t2\n")
    fast, slow = read_bed(p), read_bed(p, line_numbers=True)
    assert fast.lineno is None and slow.lineno.tolist() == [1, 2]
    assert fast.lines() == slow.lines() == p.read_text().splitlines()
    assert not fast.is_sorted or fast.chrom_names == ["c2", "c1"]
    out = tmp_path / "o.bed"
    write_bed(fast, out)
    assert out.read_text() == p.read_text()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("c1\t1\t5\nc1\t1\n", 2, "expected at least 3"),
        ("c1\t1\t5\nc1\tx\t5\n", 2, "integers"),
        ("c1\t9\t5\n", 1, "0 <= start <= end"),
        ("c1\t-1\t5\n", 1, "0 <= start <= end"),
    ],
)
def test_bad_bed_names_file_and_line(tmp_path, text, line, what):
    p = tmp_path / "bad.bed"
    p.write_text(text)
    with pytest.raises(InputFormatError) as exc:
        read_bed(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:{line}: ") and what in msg and "\n" not in msg


def test_bedgraph_values_and_error(tmp_path):
    p = tmp_path / "x.bedGraph"
    p.write_text("track type=bedGraph\nc1\t0\t5\t1.5\nc1\t5\t9\t-2\n")
    iv, v = read_bedgraph(p)
    assert v.tolist() == [1.5, -2.0] and iv.end.tolist() == [5, 9]
    p.write_text("c1\t0\t5\t1.5\nc1\t5\t9\tabc\n")
    with pytest.raises(InputFormatError, match=r":2: bedGraph value"):
        read_bedgraph(p)


def test_missing_file_is_one_line_error(tmp_path):
    with pytest.raises(BiometalError):
        read_bed(tmp_path / "none.bed")


def test_gff3_hierarchy_escapes_multiparent(tmp_path):
    p = tmp_path / "x.gff3"
    p.write_text(
        "##gff-version 3\n"
        "1\tsrc\tgene\t1\t100\t.\t+\t.\tID=g%3B1;Name=a%2Cb\n"
        "1\tsrc\tmRNA\t1\t100\t.\t+\t.\tID=t1;Parent=g%3B1\n"
        "1\tsrc\tmRNA\t1\t90\t.\t+\t.\tID=t2;Parent=g%3B1\n"
        "1\tsrc\texon\t1\t50\t.\t+\t.\tParent=t1,t2\n"
        "##FASTA\n>x\nACGT\n"
    )
    df = read_gff3(p)
    assert df["id"].tolist()[:3] == ["g;1", "t1", "t2"]
    assert df["parents"].tolist()[3] == ("t1", "t2")
    assert df["attributes"][0]["Name"] == "a,b"
    assert df["start"].tolist()[3] == 0 and df["end"].tolist()[3] == 50
    p.write_text("1\tsrc\texon\t1\t50\t.\t+\t.\tParent=nope\n")
    with pytest.raises(InputFormatError, match=r"x.gff3:1: Parent 'nope'"):
        read_gff3(p)
    p.write_text("1\tsrc\texon\t1\t50\t.\t+\n")
    with pytest.raises(InputFormatError, match=r"x.gff3:1: expected 9"):
        read_gff3(p)


def test_gtf_errors_name_line(tmp_path):
    p = tmp_path / "x.gtf"
    good = '1\ts\texon\t1\t10\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    p.write_text(good + '1\ts\texon\t20\t30\t.\t+\t.\tgene_id "g2"; transcript_id "t1";\n')
    with pytest.raises(InputFormatError, match=r"x.gtf:2: transcript 't1' is in genes"):
        read_gtf(p)
    p.write_text(good + '1\ts\texon\t20\t30\t.\t+\t.\ttranscript_id "t1";\n')
    with pytest.raises(InputFormatError, match=r"x.gtf:2: GTF record has no gene_id"):
        read_gtf(p)
    p.write_text(good + '1\ts\texon\tx\t30\t.\t+\t.\tgene_id "g1";\n')
    with pytest.raises(InputFormatError, match=r"x.gtf:2: start/end"):
        read_gtf(p)


def test_real_gtf_pysam_gencode():
    gtf = _need(PYSAM / "example.gtf.gz")
    df = read_gtf(gtf)
    n = sum(1 for line in gzip.open(gtf, "rt") if line.strip() and not line.startswith("#"))
    assert len(df) == n
    # one implementation check: same tx -> gene map as the rnaseq annotation reader
    from biometal.rnaseq.matrices import read_annotation

    tx = df.dropna(subset=["transcript_id"])
    assert (
        dict(zip(tx["transcript_id"], tx["gene_id"], strict=True)) == read_annotation(gtf).tx2gene
    )
    # hierarchy: every exon lies inside its transcript line
    tr = df[df["type"] == "transcript"].set_index("transcript_id")
    ex = df[df["type"] == "exon"]
    assert len(ex) and len(tr)
    for t, s, e in zip(ex["transcript_id"], ex["start"], ex["end"], strict=True):
        if t in tr.index:
            assert tr.loc[t, "start"] <= s and e <= tr.loc[t, "end"]
    assert df["attributes"][0]["gene_name"] == "RP11-34P13.1"


@pytest.mark.parametrize("name", ["example.gff3.gz", "UMAYDIS"])
def test_real_gff3(name):
    path = _need(UMAYDIS if name == "UMAYDIS" else PYSAM / name)
    df = read_gff3(path)
    assert len(df) > 0
    ids = set(df["id"].dropna())
    assert all(p in ids for ps in df["parents"] for p in ps)
    if name == "UMAYDIS":  # Parent before its ID line; '+' kept literal (not a space)
        assert df["parents"].map(len).max() >= 1
        assert "+putative+protein" in set(df["attributes"].map(lambda a: a.get("Note")))


@pytest.mark.skipif(BEDTOOLS is None, reason="bedtools not installed")
def test_real_bed_files_against_bedtools(tmp_path):
    a = _need(COVTOBED / "target.bed")
    b = _need(COVTOBED / "output.bed")
    c = _need(PYSAM / "example_comments.bed.gz")
    ia, ib = read_bed(a), read_bed(b)
    assert sorted(ops.merge(ia).lines()) == _bt("merge", "-i", a)
    assert sorted(ops.intersect(ia, ib, mode="wawb").lines()) == _bt(
        "intersect", "-a", a, "-b", b, "-wa", "-wb"
    )
    assert sorted(ops.subtract(ib, ia).lines()) == _bt("subtract", "-a", b, "-b", a)
    assert sorted(ops.coverage(ia, ib).lines()) == _bt("coverage", "-a", a, "-b", b)
    ic = read_bed(c)
    assert len(ic) > 0 and ic.is_sorted
    assert sorted(ops.merge(ic).lines()) == _bt("merge", "-i", c)
    # GTF exons (real GENCODE) against the pysam BED: intersect and closest
    exons = gtf_to_bed(read_gtf(_need(PYSAM / "example.gtf.gz")))
    ex = tmp_path / "exons.bed"
    write_bed(exons, ex)
    bed = _need(PYSAM / "example.bed")
    ibed = read_bed(bed)
    assert sorted(ops.intersect(ibed, exons, mode="wawb").lines()) == _bt(
        "intersect", "-a", bed, "-b", ex, "-wa", "-wb"
    )
    assert sorted(ops.intersect(exons, ibed, mode="c", strand=None).lines()) == _bt(
        "intersect", "-a", ex, "-b", bed, "-c"
    )
    assert np.all(exons.end > exons.start)
