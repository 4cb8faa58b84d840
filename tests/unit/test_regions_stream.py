"""Streaming BED / bedGraph / GTF / GFF3 readers: chunks of any size concatenate to the
whole-file reader (itself checked against bedtools in test_regions_formats.py), chromosome
codes stay stable across chunks, and errors name the true file:line wherever the chunk
boundaries fall."""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biometal.errors import BiometalError, InputFormatError
from biometal.regions import (
    iter_bed,
    iter_bedgraph,
    iter_gff3_chunks,
    iter_gtf_chunks,
    read_bed,
    read_bedgraph,
    read_gff3,
    read_gtf,
    write_bed,
)
from biometal.regions.bed import Intervals

PYSAM = Path("/usr/share/doc/python-pysam/tests/tabix_data")  # Debian python-pysam-tests
COVTOBED = Path("/usr/share/doc/covtobed-examples/examples")  # Debian covtobed-examples
UMAYDIS = Path("/usr/share/doc/maffilter/examples/Umaydis/Umaydis.gff3.gz")  # maffilter-examples


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not installed")
    return path


def _records(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every BED record: an independent reading of the file."""
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        lines = fh.read().decode().removeprefix("\ufeff").split("\n")
    out = []
    for i, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if line.strip() and not line.startswith(("#", "track", "browser")):
            out.append((i, line))
    return out


def _check_chunks(path: Path, chunk_size: int, min_cols: int = 3) -> list[Intervals]:
    chunks = list(iter_bed(path, chunk_size, min_cols=min_cols))
    whole = read_bed(path, min_cols=min_cols, line_numbers=True)
    recs = _records(path)
    assert sum(map(len, chunks)) == len(whole) == len(recs)
    assert all(len(c) == chunk_size for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_size
    lines, linenos = [], []
    for i, c in enumerate(chunks):
        # stable coding: each chunk's names extend the previous chunk's
        assert c.chrom_names == whole.chrom_names[: len(c.chrom_names)]
        if i:
            assert c.chrom_names[: len(chunks[i - 1].chrom_names)] == chunks[i - 1].chrom_names
        lines += c.lines()
        linenos += c.lineno.tolist()
    assert lines == [t for _, t in recs] == whole.lines()
    assert linenos == [n for n, _ in recs] == whole.lineno.tolist()
    for k in ("chrom", "start", "end", "strand"):
        assert np.array_equal(np.concatenate([getattr(c, k) for c in chunks]), getattr(whole, k))
    assert chunks[-1].ncols == whole.ncols
    return chunks


REAL_BEDS = [
    COVTOBED / "target.bed",
    COVTOBED / "output.bed",
    COVTOBED / "mock.bed",
    PYSAM / "example.bed",
    PYSAM / "example_comments.bed.gz",
    PYSAM / "fivecolumns.bed",
]


@pytest.mark.parametrize("path", REAL_BEDS, ids=lambda p: p.name)
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_real_bed_chunks_equal_whole(path, chunk_size):
    _check_chunks(_need(path), chunk_size)


def test_real_large_bed_gzip_chunks():
    path = _need(PYSAM / "example_large.bed.gz")  # 100,000 BED3 records, gzip
    chunks = _check_chunks(path, 30_000)
    assert [len(c) for c in chunks] == [30_000, 30_000, 30_000, 10_000]


def _random_bed(rng: random.Random, n: int, ncols: int, crlf: bool = False) -> bytes:
    out = ["track name=r", "# comment"]
    for i in range(n):
        r = rng.random()
        if r < 0.02:
            out.append(rng.choice(["", "# mid-file comment", "browser position chr1:1-9"]))
        s = rng.randrange(0, 10**6)
        f = [rng.choice(["chr1", "chr2", "chrX", "chrUn_KI270742v1"][: 1 + i // 50])]
        f += [str(s), str(s + rng.randrange(0, 5000))]
        f += [f"r{i}", str(rng.randrange(1000)), rng.choice("+-."), "0", "1"][: ncols - 3]
        out.append("\t".join(f))
    eol = "\r\n" if crlf else "\n"
    return ("\ufeff" if crlf else "").encode() + (eol.join(out) + eol).encode()


@pytest.mark.parametrize("ncols", [3, 6, 8])
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_random_bed_chunks_equal_whole(tmp_path, ncols, chunk_size):
    rng = random.Random(ncols * 100 + chunk_size)
    for k, crlf in enumerate((False, True)):
        p = tmp_path / f"r{k}.bed"
        p.write_bytes(_random_bed(rng, 2500, ncols, crlf))  # blocks of 1000: pandas' path
        _check_chunks(p, chunk_size)
        g = tmp_path / f"r{k}.bed.gz"
        g.write_bytes(gzip.compress(p.read_bytes()))
        assert [c.lines() for c in iter_bed(g, chunk_size)] == [
            c.lines() for c in iter_bed(p, chunk_size)
        ]


def test_plain_file_fast_and_checked_paths_agree(tmp_path):
    """Blocks of 1000 lines go through pandas' tokenizer, blocks of 7 line by line."""
    p = tmp_path / "plain.bed"
    rng = random.Random(3)
    text = _random_bed(rng, 5000, 6).split(b"\n", 2)[2]  # no header lines
    text = b"".join(x for x in text.splitlines(True) if x.count(b"\t") == 5)
    p.write_bytes(text)
    whole = read_bed(p)
    assert whole.lineno is None  # record i on line i + 1
    a, b = list(iter_bed(p, 1000)), list(iter_bed(p, 7))
    assert sum((c.lines() for c in a), []) == sum((c.lines() for c in b), []) == whole.lines()
    out = tmp_path / "o.bed"
    write_bed(whole, out)
    assert out.read_bytes() == text


def test_short_line_is_not_padded(tmp_path):
    """A BED3 line among BED5 lines stays BED3 (pandas pads short rows with empty fields,
    which the tab count catches: the block goes to the line reader). bedtools refuses
    such a file, so the oracle is the file's own text."""
    p = tmp_path / "mixed.bed"
    lines = [f"c\t{i}\t{i + 5}\tn{i}\t7" if i != 150 else f"c\t{i}\t{i + 5}" for i in range(300)]
    p.write_text("\n".join(lines) + "\n")
    iv = read_bed(p)
    assert iv.lines() == lines and iv.ncols == 5


@pytest.mark.parametrize("fast", [True, False])
def test_error_in_third_chunk_names_true_line(tmp_path, fast):
    rng = random.Random(7)
    body = _random_bed(rng, 4000, 6).decode().splitlines()  # 2 header lines, a few mid-file
    chunk = 1000 if fast else 7
    recs = [i for i, line in enumerate(body) if line.count("\t") == 5]
    bad = recs[2 * chunk + chunk // 2]  # a record in the third chunk
    body[bad] = body[bad].replace("\t", "\tx", 1)  # start 'x123'
    p = tmp_path / "bad.bed"
    p.write_text("\n".join(body) + "\n")
    it = iter_bed(p, chunk)
    assert len(next(it)) == chunk and len(next(it)) == chunk
    with pytest.raises(InputFormatError) as exc:
        next(it)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:{bad + 1}: start/end must be integers") and "\n" not in msg
    with pytest.raises(InputFormatError, match=rf"^{p}:{bad + 1}: start/end"):
        read_bed(p)


def test_bedgraph_chunks(tmp_path):
    p = tmp_path / "x.bedGraph"
    lines = ["track type=bedGraph"] + [f"chr{i % 3}\t{i}\t{i + 1}\t{i / 4}" for i in range(2100)]
    p.write_text("\n".join(lines) + "\n")
    iv, v = read_bedgraph(p)
    assert v.tolist() == [i / 4 for i in range(2100)]
    for size in (1, 7, 1000):
        parts = list(iter_bedgraph(p, size))
        assert np.array_equal(np.concatenate([x for _, x in parts]), v)
        assert sum((c.lines() for c, _ in parts), []) == iv.lines() == lines[1:]
    lines[1 + 2 * 1000 + 17] = lines[1 + 2 * 1000 + 17].rsplit("\t", 1)[0] + "\tNA?"
    p.write_text("\n".join(lines) + "\n")
    it = iter_bedgraph(p, 1000)
    next(it), next(it)
    with pytest.raises(InputFormatError, match=rf"^{p}:{2 + 2000 + 17}: bedGraph value"):
        next(it)


def test_stdin_stream(tmp_path):
    p = tmp_path / "s.bed.gz"
    p.write_bytes(gzip.compress(_random_bed(random.Random(5), 300, 6)))
    code = (
        "from biometal.regions import iter_bed\n"
        "for c in iter_bed('-', 100):\n"
        "    print(len(c), c.lineno[0], c.lineno[-1], len(c.chrom_names))\n"
    )
    with open(p, "rb") as fh:
        out = subprocess.run(
            [sys.executable, "-c", code], stdin=fh, capture_output=True, text=True, check=True
        )
    want = [f"{len(c)} {c.lineno[0]} {c.lineno[-1]} {len(c.chrom_names)}" for c in iter_bed(p, 100)]
    assert out.stdout.splitlines() == want and len(want) == 3


def test_chunk_size_must_be_positive(tmp_path):
    p = tmp_path / "x.bed"
    p.write_text("c\t1\t2\n")
    with pytest.raises(BiometalError, match="chunk_size"):
        next(iter_bed(p, 0))
    assert list(iter_bed(tmp_path / "x.bed", 5))[0].lines() == ["c\t1\t2"]


def test_empty_bed_yields_nothing(tmp_path):
    p = tmp_path / "e.bed"
    p.write_text("track name=x\n# only headers\n")
    assert list(iter_bed(p)) == [] and len(read_bed(p)) == 0


# ---- GTF / GFF3 -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example.gtf.gz", "example_comments.gtf.gz"])
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_real_gtf_chunks_equal_whole(name, chunk_size):
    path = _need(PYSAM / name)
    whole = read_gtf(path)
    chunks = list(iter_gtf_chunks(path, chunk_size))
    assert all(len(c) == chunk_size for c in chunks[:-1])
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    n = sum(1 for line in gzip.open(path, "rt") if line.strip() and not line.startswith("#"))
    assert len(whole) == n


@pytest.mark.parametrize("path", [PYSAM / "example.gff3.gz", UMAYDIS], ids=lambda p: p.name)
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_real_gff3_chunks_equal_whole(path, chunk_size):
    path = _need(path)
    if chunk_size == 1 and path == UMAYDIS:
        chunk_size = 997  # 16k rows: one DataFrame per row would only be slow
    whole = read_gff3(path)
    chunks = list(iter_gff3_chunks(path, chunk_size))
    assert all(len(c) == chunk_size for c in chunks[:-1])
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


def test_gtf_error_across_chunks_names_line(tmp_path):
    p = tmp_path / "x.gtf"
    rows = [
        f'c\tsrc\texon\t{10 * i + 1}\t{10 * i + 5}\t.\t+\t.\tgene_id "g{i // 4}"; '
        f'transcript_id "t{i // 2}";'
        for i in range(40)
    ]
    rows[33] = rows[33].replace('gene_id "g8"', 'gene_id "g1"')  # t16 also in g8 (line 33)
    p.write_text("#!genome-build x\n" + "\n".join(rows) + "\n")
    it = iter_gtf_chunks(p, 10)
    for _ in range(3):
        next(it)
    with pytest.raises(InputFormatError, match=rf"^{p}:35: transcript 't16' is in genes"):
        next(it)


def test_gff3_parent_forward_reference_and_missing_parent(tmp_path):
    p = tmp_path / "x.gff3"
    rows = ["##gff-version 3"]
    for g in range(6):  # children first, their gene after: legal in GFF3
        rows.append(f"c\t.\texon\t{g * 100 + 1}\t{g * 100 + 50}\t.\t+\t.\tParent=g{g}")
        rows.append(f"c\t.\tgene\t{g * 100 + 1}\t{g * 100 + 90}\t.\t+\t.\tID=g{g}")
    p.write_text("\n".join(rows) + "\n")
    chunks = list(iter_gff3_chunks(p, 3))
    pd.testing.assert_frame_equal(pd.concat(chunks), read_gff3(p))
    assert pd.concat(chunks)["parents"].tolist()[::2] == [(f"g{g}",) for g in range(6)]
    rows[7] = rows[7].replace("Parent=g3", "Parent=nope")  # line 8, chunk 3
    p.write_text("\n".join(rows) + "\n")
    it = iter_gff3_chunks(p, 3)
    assert len(list(zip(range(4), it, strict=False))) == 4  # every chunk comes first
    with pytest.raises(InputFormatError, match=rf"^{p}:8: Parent 'nope' is not the ID"):
        next(it)
    with pytest.raises(InputFormatError, match=rf"^{p}:8: Parent 'nope'"):
        read_gff3(p)
