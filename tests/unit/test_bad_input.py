"""User mistakes and unusual-but-valid files: every mistake is one line that names the file
(and line, record or key), no traceback-worthy exception, no output left behind, no silent
wrong answer. Real files in tmp_path, read by the real libraries (cyvcf2, pysam, mappy,
htslib's faidx); kallisto as the oracle for transcripts without k-mers where installed."""

from __future__ import annotations

import gzip
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from biometal.errors import BiometalError, InputFormatError, is_user_error

needs_kallisto = pytest.mark.skipif(shutil.which("kallisto") is None, reason="kallisto not on PATH")
COMP = str.maketrans("ACGTN", "TGCAN")


def user_error(exc_info, path, line: int | None = None, *fragments: str) -> str:
    """Assert the error is a one-line user error naming ``path`` (and ``line``)."""
    exc = exc_info.value
    assert is_user_error(exc), repr(exc)
    msg = str(exc)
    assert "\n" not in msg and "\r" not in msg, msg
    assert str(path) in msg, msg
    if line is not None:
        assert f"{path}:{line}:" in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


def _random(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=n))


def _fasta(path: Path, records: dict[str, str], width: int = 60, eol: str = "\n") -> Path:
    text = "".join(
        f">{name}\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
        for name, seq in records.items()
    )
    path.write_bytes(text.replace("\n", eol).encode())
    return path


def _pairs(seq: str, n: int, seed: int, names=None) -> tuple[str, str]:
    rng = np.random.default_rng(seed)
    r1, r2 = [], []
    for i in range(n):
        a = int(rng.integers(0, len(seq) - 300))
        f = seq[a : a + 300]
        name = names[i] if names else f"p{i}"
        r1.append(f"@{name}/1\n{f[:100]}\n+\n{'I' * 100}\n")
        r2.append(f"@{name}/2\n{f[-100:].translate(COMP)[::-1]}\n+\n{'I' * 100}\n")
    return "".join(r1), "".join(r2)


# ----------------------------------------------------------------------------- truth VCFs

REF = {"chr1": _random(3000, 1), "chr2": _random(800, 2)}
HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=3000>\n##contig=<ID=chr2,length=800>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)


def _rec(chrom: str, pos: int, ref: str | None = None) -> str:
    r = ref if ref is not None else REF[chrom][pos - 1]
    alt = "A" if r[0].upper() != "A" else "C"
    return f"{chrom}\t{pos}\t.\t{r}\t{alt}\t50\tPASS\t.\tGT\t0/1\n"


GOOD = HEADER + _rec("chr1", 10) + _rec("chr1", 200) + _rec("chr2", 5)


@pytest.fixture(scope="module")
def ref_fa(tmp_path_factory) -> Path:
    return _fasta(tmp_path_factory.mktemp("ref") / "ref.fa", REF)


def _load(vcf: Path, ref: Path):
    from biometal.variants.evaluate import load_alleles

    return load_alleles(vcf, ref, pass_only=False)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (HEADER.replace("#CHROM\tPOS\tID", "#CHROM POS ID"), 5, "tab-separated columns"),
        (HEADER + _rec("chr1", 10) + "chr1\tabc\t.\tA\tC\t50\tPASS\t.\tGT\t0/1\n", 7, "POS 'abc'"),
        (HEADER + _rec("chr1", 10) + "chr1\t20\t.\tA\n", 7, "at least 8 tab-separated fields"),
        ("@read1\nACGT\n+\nIIII\n", 1, "not a VCF"),
        (_rec("chr1", 10), 1, "not a VCF"),
        (HEADER.split("#CHROM")[0], None, "no #CHROM line"),
        ("", None, "empty file"),
        (HEADER + _rec("chrX", 5, "A"), 6, "contig 'chrX' is not in the reference"),
        (HEADER + _rec("chr2", 900, "A"), 6, "past the end of contig 'chr2' (800 bp"),
        (HEADER + _rec("chr1", 10, "ACGTACGT"), 6, "disagrees with the reference"),
        (HEADER.replace("length=3000", "length=248956422"), None, "another assembly"),
    ],
)
def test_malformed_truth_vcf_is_one_line(ref_fa, tmp_path, text, line, fragment) -> None:
    vcf = tmp_path / "truth.vcf"
    vcf.write_text(text)
    with pytest.raises(InputFormatError) as exc:
        _load(vcf, ref_fa)
    msg = user_error(exc, vcf, line, fragment)
    if "reference" in fragment or "past the end" in fragment:
        assert str(ref_fa) in msg


def test_missing_truncated_and_plain_gzip_vcf(ref_fa, tmp_path) -> None:
    with pytest.raises(InputFormatError) as exc:
        _load(tmp_path / "nope.vcf", ref_fa)
    user_error(exc, tmp_path / "nope.vcf", None, "not found")
    body = HEADER + "".join(_rec("chr1", p) for p in range(1, 3001)) * 20
    plain = tmp_path / "big.vcf"
    plain.write_text(body)
    bgz = tmp_path / "big.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgz))
    data = bgz.read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError) as exc:
        _load(cut, ref_fa)
    user_error(exc, cut, None, "BGZF end-of-file marker is missing")
    gz = gzip.compress(body.encode())
    cut_gz = tmp_path / "cut_plain.vcf.gz"
    cut_gz.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(InputFormatError) as exc:
        _load(cut_gz, ref_fa)
    user_error(exc, cut_gz, None, "truncated .gz")
    # an uncut plain gzip (not bgzip) is fine: no index is needed to read it
    whole = tmp_path / "plain.vcf.gz"
    whole.write_bytes(gzip.compress(GOOD.encode()))
    assert _load(whole, ref_fa) == _load(_write(tmp_path / "good.vcf", GOOD), ref_fa)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_crlf_and_lower_case_vcf_give_the_same_alleles(ref_fa, tmp_path) -> None:
    good = _load(_write(tmp_path / "good.vcf", GOOD), ref_fa)
    assert sum(len(v) for v in good.values()) == 3
    crlf = tmp_path / "crlf.vcf"
    crlf.write_bytes(GOOD.replace("\n", "\r\n").encode())
    assert _load(crlf, ref_fa) == good
    lines = GOOD.splitlines(keepends=True)
    lower = "".join(lines[:5]) + "".join(
        "\t".join(f.lower() if i in (3, 4) else f for i, f in enumerate(ln.split("\t")))
        for ln in lines[5:]
    )
    assert _load(_write(tmp_path / "lower.vcf", lower), ref_fa) == good


def test_evaluate_callers_names_the_truth_vcf(ref_fa, tmp_path) -> None:
    from biometal.variants.report import evaluate_callers

    truth = _write(tmp_path / "truth.vcf", HEADER + _rec("1", 10, "A"))
    calls = _write(tmp_path / "calls.vcf", GOOD)
    with pytest.raises(InputFormatError) as exc:
        evaluate_callers("S1", truth, ref_fa, {"biometal": calls}, {})
    user_error(exc, truth, 6, "contig '1' is not in the reference", "'chr1' vs '1'")


# ----------------------------------------------------------------------------- references


def test_duplicate_contig_names_are_named(tmp_path) -> None:
    from biometal.io.bam import reference_contigs

    records = {"chr1": REF["chr1"], "chr2": REF["chr2"]}
    fa = _fasta(tmp_path / "dup.fa", records)
    with fa.open("a") as fh:  # a second chr1: htslib's faidx keeps the first, silently
        fh.write(">chr1 again\n" + REF["chr2"][:120] + "\n")
    first_dup_line = 1 + 1 + 50 + 1 + 14  # chr1 header + 50 lines, chr2 header + 14 lines
    with pytest.raises(InputFormatError) as exc:
        reference_contigs(fa)
    user_error(exc, fa, first_dup_line, "duplicate contig name 'chr1'", "first on line 1")
    bgz = tmp_path / "dup.fa.gz"
    pysam.tabix_compress(str(fa), str(bgz))
    with pytest.raises(InputFormatError) as exc:
        reference_contigs(bgz)
    user_error(exc, bgz, first_dup_line, "duplicate contig name 'chr1'")
    # CRLF and blank lines between records are fine and keep their names
    ok = _fasta(tmp_path / "ok.fa", records, eol="\r\n")
    assert reference_contigs(ok) == {"chr1": 3000, "chr2": 800}


def test_large_bgzipped_reference_is_checked_through_its_block_index(tmp_path) -> None:
    """Many BGZF blocks: the gaps between contigs are read through the .gzi."""
    from biometal.io.bam import reference_contigs

    records = {f"c{i}": _random(150_000 + 7_000 * i, 20 + i) for i in range(6)}
    ok = _fasta(tmp_path / "ok.fa", records, width=70)
    with ok.open("a") as fh:
        fh.write("\n")  # a trailing blank line is fine
    pysam.tabix_compress(str(ok), str(tmp_path / "ok.fa.gz"))
    assert reference_contigs(tmp_path / "ok.fa.gz") == {k: len(v) for k, v in records.items()}
    assert Path(f"{tmp_path / 'ok.fa.gz'}.gzi").stat().st_size > 16 * 10  # > 10 blocks
    dup = dict(list(records.items())[:3])
    dup["c1 copy"] = records["c4"]  # named c1 again, deep in the file
    dup.update(dict(list(records.items())[3:]))
    plain = tmp_path / "dup.fa"
    text = "".join(
        f">{name}\n" + "".join(seq[i : i + 70] + "\n" for i in range(0, len(seq), 70))
        for name, seq in dup.items()
    )
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(tmp_path / "dup.fa.gz"))
    line = 1 + text[: text.index(">c1 copy")].count("\n")
    for path in (plain, tmp_path / "dup.fa.gz"):
        with pytest.raises(InputFormatError) as exc:
            reference_contigs(path)
        first = 1 + text[: text.index(">c1\n")].count("\n")
        user_error(exc, path, line, "duplicate contig name 'c1'", f"first on line {first}")


def test_duplicate_contigs_stop_mapping_calling_and_fm_index(tmp_path) -> None:
    from biometal.align.smem import build_fm_index
    from biometal.pileup.tsv import write_pileup_tsv
    from biometal.variants.call import call_variants
    from biometal.variants.mapping import map_reads

    ref = _fasta(tmp_path / "ref.fa", {"chr1": REF["chr1"]})
    dup = _fasta(tmp_path / "dup.fa", {"chr1": REF["chr1"], "chr1 ": REF["chr2"]})
    assert dup.read_text().count(">chr1") == 2
    r1, r2 = _pairs(REF["chr1"], 300, 3)
    (tmp_path / "a_1.fq").write_text(r1)
    (tmp_path / "a_2.fq").write_text(r2)
    out = tmp_path / "out"
    with pytest.raises(InputFormatError) as exc:
        map_reads(dup, tmp_path / "a_1.fq", tmp_path / "a_2.fq", out / "a.bam", sample="a")
    user_error(exc, dup, 52, "duplicate contig name 'chr1'")
    assert not out.exists() or not any(out.iterdir())
    # a BAM of the good reference, then calling and pileup against the bad one
    bam = tmp_path / "S.1.bam"  # dots in the name: the sorted BAM must still appear
    map_reads(ref, tmp_path / "a_1.fq", tmp_path / "a_2.fq", bam, sample="S.1")
    assert bam.is_file() and Path(f"{bam}.bai").is_file()
    for run in (
        lambda: call_variants(bam, dup, out / "c.vcf.gz"),
        lambda: write_pileup_tsv(bam, out / "p.tsv.gz", reference=dup),
    ):
        with pytest.raises(InputFormatError) as exc:
            run()
        user_error(exc, dup, 52, "duplicate contig name 'chr1'")
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(InputFormatError) as exc:
        build_fm_index(dup)
    user_error(exc, dup, None, "duplicate contig name 'chr1' (records 1 and 2)")


@pytest.mark.parametrize(
    ("name", "content", "line", "fragment"),
    [
        ("reads.fq", b"@r1\nACGT\n+\nIIII\n", 1, "a FASTQ file"),
        ("notes.fa", b"\nhello\n", 2, "not FASTA"),
        ("empty.fa", b"", None, "empty file"),
        ("plain.fa.gz", gzip.compress(b">a\nACGT\n"), None, "not bgzip"),
        ("ragged.fa", b">a\nACGTACGT\nACG\nACGTACGT\n>b\nACGT\n", 4, "different lengths"),
        ("blank.fa", b">a\nACGTACGT\n\nACGTACGT\n", 4, "blank line 3 inside record 'a'"),
        ("nothing.fa", b">a\nACGT\n>b\n", 3, "record 'b' has no sequence"),
        ("hole.fa", b">a\n>b\nACGT\n", 1, "record 'a' has no sequence"),
    ],
)
def test_unusable_reference_is_one_line(tmp_path, name, content, line, fragment) -> None:
    from biometal.io.bam import reference_contigs

    fa = tmp_path / name
    fa.write_bytes(content)
    with pytest.raises(InputFormatError) as exc:
        reference_contigs(fa)
    user_error(exc, fa, line, fragment)


def test_soft_masked_multi_line_reference_is_read_upper_case(tmp_path) -> None:
    from biometal.variants.evaluate import load_alleles

    seq = REF["chr1"]
    soft = _fasta(tmp_path / "soft.fa", {"chr1 dna:chromosome": seq[:500].lower() + seq[500:]})
    vcf = _write(tmp_path / "t.vcf", HEADER + _rec("chr1", 10) + _rec("chr1", 600))
    alleles = load_alleles(vcf, soft, pass_only=False)
    assert {a[1] for a in alleles["SNP"]} == {9, 599}


# ----------------------------------------------------------------------------- transcripts


def _tx_data(tmp_path: Path):
    tx = {
        "ENST00000001.3": _random(900, 11),
        "ENST00000002.1": "N" * 600,  # only N: no k-mer
        "ENST00000003.2": _random(700, 12),
        "ENST00000004.1": _random(20, 13),  # shorter than k
        "ENST00000005.1": _random(250, 14) + "N" * 300 + _random(250, 15),
    }
    fa = _fasta(tmp_path / "tx.fa", tx)
    rng = np.random.default_rng(5)
    r1, r2 = [], []
    for i in range(600):
        name = ("ENST00000001.3", "ENST00000003.2", "ENST00000005.1")[i % 3]
        s = tx[name]
        a = int(rng.integers(0, len(s) - 250))
        f = s[a : a + 250]
        r1.append(f"@q{i} 1:N:0\n{f[:100]}\n+\n{'I' * 100}\n")
        r2.append(f"@q{i} 2:N:0\n{f[-100:].translate(COMP)[::-1]}\n+\n{'I' * 100}\n")
    (tmp_path / "r1.fq").write_text("".join(r1))
    (tmp_path / "r2.fq").write_text("".join(r2))
    return fa, tmp_path / "r1.fq", tmp_path / "r2.fq", tx


def test_transcripts_without_kmers_are_kept_with_zero_counts(tmp_path, caplog) -> None:
    from biometal.rnaseq.index import index_transcriptome
    from biometal.rnaseq.quant import quantify_sample

    fa, fq1, fq2, tx = _tx_data(tmp_path)
    caplog.set_level(logging.WARNING)
    stats = index_transcriptome(fa, tmp_path / "idx.npz")
    assert stats["transcripts"] == 5 and stats["transcripts_without_kmers"] == 2
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ENST00000002.1" in w and "ENST00000004.1" in w for w in warning), warning
    quantify_sample(tmp_path / "idx.npz", fq1, fq2, tmp_path / "quant.tsv")
    import pandas as pd

    table = pd.read_csv(tmp_path / "quant.tsv", sep="\t").set_index("transcript_id")
    assert list(table.index) == list(tx)
    assert table.loc["ENST00000002.1", "est_counts"] == 0.0
    assert table.loc["ENST00000004.1", "est_counts"] == 0.0
    assert table.loc["ENST00000001.3", "est_counts"] > 150
    assert np.isfinite(table["tpm"]).all() and abs(table["tpm"].sum() - 1e6) < 1


@needs_kallisto
def test_transcripts_without_kmers_as_kallisto(tmp_path) -> None:
    fa, fq1, fq2, tx = _tx_data(tmp_path)
    idx = tmp_path / "k.idx"
    subprocess.run(["kallisto", "index", "-i", str(idx), str(fa)], check=True, capture_output=True)
    out = tmp_path / "kq"
    subprocess.run(
        ["kallisto", "quant", "-i", str(idx), "-o", str(out), str(fq1), str(fq2)],
        check=True,
        capture_output=True,
    )
    import pandas as pd

    kal = pd.read_csv(out / "abundance.tsv", sep="\t").set_index("target_id")
    assert set(tx) <= set(kal.index)
    assert kal.loc["ENST00000002.1", "est_counts"] == 0.0
    assert kal.loc["ENST00000004.1", "est_counts"] == 0.0


# ----------------------------------------------------------------------------- sample sheets


def _sheet(tmp_path: Path, data: bytes) -> Path:
    for name in ("a_1.fq", "a_2.fq", "b_1.fq", "b_2.fq"):
        (tmp_path / name).write_text("@r\nA\n+\nI\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_bytes(data)
    return sheet


RNA_SHEET = "sample\tcondition\tfq1\tfq2\nA1\tctrl\ta_1.fq\ta_2.fq\nB1\ttreat\tb_1.fq\tb_2.fq\n"


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + RNA_SHEET.encode(),  # UTF-8 with BOM (Excel "UTF-8 CSV")
        RNA_SHEET.replace("\n", "\r\n").encode(),  # CRLF
        b"\xef\xbb\xbf" + RNA_SHEET.replace("\n", "\r\n").encode(),
        RNA_SHEET.encode("utf-16"),  # Excel "Unicode text": UTF-16 with BOM
    ],
)
def test_bom_crlf_and_utf16_sheets_are_read(tmp_path, data) -> None:
    from biometal.rnaseq.samples import read_rnaseq_sheet
    from biometal.variants.samples import read_variant_sheet

    rows = read_rnaseq_sheet(_sheet(tmp_path, data))
    assert [(r["sample"], r["condition"]) for r in rows] == [("A1", "ctrl"), ("B1", "treat")]
    assert rows[1]["fq2"] == str(tmp_path / "b_2.fq")
    var = RNA_SHEET.replace("\tcondition", "").replace("\tctrl", "").replace("\ttreat", "")
    enc = "utf-16" if data.startswith(b"\xff\xfe") else "utf-8-sig"
    assert len(read_variant_sheet(_sheet(tmp_path, var.encode(enc)))) == 2


def test_latin1_sheet_names_line_and_column(tmp_path) -> None:
    from biometal.rnaseq.samples import read_rnaseq_sheet

    data = RNA_SHEET.replace("treat", "trété").encode("latin-1")
    sheet = _sheet(tmp_path, data)
    with pytest.raises(InputFormatError) as exc:
        read_rnaseq_sheet(sheet)
    user_error(exc, sheet, 3, "byte 0xE9 at column 6", "save the sheet as UTF-8")
    bom = _sheet(tmp_path, b"\xef\xbb\xbf" + data)
    with pytest.raises(InputFormatError) as exc:
        read_rnaseq_sheet(bom)
    user_error(exc, bom, 3, "byte 0xE9 at column 6")


# ----------------------------------------------------------------------------- mate files


@pytest.fixture(scope="module")
def rna(tmp_path_factory):
    from biometal.rnaseq.index import index_transcriptome

    d = tmp_path_factory.mktemp("mates")
    tx = {f"ENST{i:05d}.1": _random(1200, 100 + i) for i in range(8)}
    fa = _fasta(d / "tx.fa", tx)
    index_transcriptome(fa, d / "idx.npz")
    r1, r2 = _pairs("".join(tx.values()), 2500, 7)
    (d / "r1.fq").write_text(r1)
    (d / "r2.fq").write_text(r2)
    return d


def _records(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    return ["".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def test_mates_out_of_step_are_named(rna, tmp_path) -> None:
    from biometal.rnaseq.quant import quantify_sample

    r2 = _records((rna / "r2.fq").read_text())
    del r2[1700]  # one read lost in the middle: every later pair is out of step
    bad = tmp_path / "r2.fq"
    bad.write_text("".join(r2))
    out = tmp_path / "quant.tsv"
    with pytest.raises(InputFormatError) as exc:
        quantify_sample(rna / "idx.npz", rna / "r1.fq", bad, out, chunk_reads=500)
    msg = user_error(exc, bad, 4 * 1700 + 1, "read 1701", str(rna / "r1.fq"), "'p1700' vs 'p1701'")
    assert "out of step" in msg
    assert not out.exists()
    # one file shorter at the end: both counts named
    short = tmp_path / "short.fq"
    short.write_text("".join(_records((rna / "r2.fq").read_text())[:2400]))
    with pytest.raises(InputFormatError) as exc:
        quantify_sample(rna / "idx.npz", rna / "r1.fq", short, out)
    user_error(exc, rna / "r1.fq", None, "has 2500 reads", f"{short} has 2400")
    with pytest.raises(InputFormatError) as exc:
        quantify_sample(rna / "idx.npz", rna / "r1.fq", rna / "r1.fq", out)
    user_error(exc, rna / "r1.fq", None, "same file")
    assert not out.exists()


def test_mate_names_as_aligners_compare_them(rna, tmp_path) -> None:
    """``/1`` ``/2`` and comments differ between mates: still the same reads."""
    from biometal.rnaseq.quant import quantify

    text = (rna / "r2.fq").read_text().replace("/2\n", " 2:N:0:ACGT\n")
    (tmp_path / "r2.fq").write_text(text)
    a = quantify(rna / "idx.npz", rna / "r1.fq", rna / "r2.fq")
    b = quantify(rna / "idx.npz", rna / "r1.fq", tmp_path / "r2.fq")
    np.testing.assert_array_equal(a.est_counts, b.est_counts)
    assert a.info["pseudoaligned_fraction"] > 0.7  # some pairs span two transcripts


def test_mapping_and_seed_windows_check_mates(rna, tmp_path) -> None:
    from biometal.ml.seedfilter.windows import read_pairs
    from biometal.rnaseq.scaling import head_reads
    from biometal.variants.mapping import map_reads

    r2 = _records((rna / "r2.fq").read_text())
    r2[10], r2[11] = r2[11], r2[10]
    bad = tmp_path / "r2.fq"
    bad.write_text("".join(r2))
    ref = rna / "tx.fa"
    with pytest.raises(InputFormatError) as exc:
        map_reads(ref, rna / "r1.fq", bad, tmp_path / "o" / "a.bam", sample="a")
    user_error(exc, bad, 41, "read 11", str(rna / "r1.fq"))
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    with pytest.raises(InputFormatError) as exc:
        read_pairs(str(rna / "r1.fq"), str(bad), 100)
    user_error(exc, bad, 41, "read 11", str(rna / "r1.fq"))
    outs = [tmp_path / "h_1.fq.gz", tmp_path / "h_2.fq.gz"]
    with pytest.raises(InputFormatError) as exc:
        head_reads([rna / "r1.fq", bad], outs, 100)
    user_error(exc, bad, 41, "read 11")
    assert not any(p.exists() for p in outs)  # neither mate's head is left behind


def test_empty_fastq_is_an_error_for_mapping_and_quantification(rna, tmp_path) -> None:
    from biometal.rnaseq.quant import quantify_sample
    from biometal.variants.mapping import map_reads

    empty = tmp_path / "empty.fq"
    empty.write_text("")
    with pytest.raises(InputFormatError) as exc:
        quantify_sample(rna / "idx.npz", empty, None, tmp_path / "q.tsv")
    user_error(exc, empty, None, "no reads")
    with pytest.raises(InputFormatError) as exc:
        map_reads(rna / "tx.fa", empty, None, tmp_path / "a.bam", sample="a")
    user_error(exc, empty, None, "no reads")
    assert not (tmp_path / "q.tsv").exists() and not (tmp_path / "a.bam").exists()


# ----------------------------------------------------------------------------- index files


def test_index_files_that_are_not_indexes(rna, tmp_path) -> None:
    from biometal.align.smem import FMIndex
    from biometal.rnaseq.index import load_index

    cut = tmp_path / "cut.npz"
    cut.write_bytes((rna / "idx.npz").read_bytes()[:4000])
    for path in (rna / "r1.fq", cut):
        with pytest.raises(BiometalError) as exc:
            load_index(path)
        user_error(exc, path, None, "not a biometal k-mer index")
        with pytest.raises(InputFormatError) as exc:
            FMIndex.load(path)
        user_error(exc, path, None, "not a biometal FM-index")


# ----------------------------------------------------------------------------- annotation


def test_ensembl_versions_on_one_side_only(tmp_path) -> None:
    """Ensembl's cDNA FASTA has versioned IDs, its GTF keeps the version apart."""
    from biometal.rnaseq.matrices import gene_matrices

    gtf = tmp_path / "ensembl.gtf"
    gtf.write_text(
        "".join(
            f'1\tensembl\ttranscript\t1\t900\t.\t+\t.\tgene_id "ENSG0000{g}"; gene_version "1"; '
            f'transcript_id "ENST0000{t}"; transcript_version "{t + 1}";\r\n'
            for t, g in ((1, 1), (2, 1), (3, 2))
        )
    )
    quants = {}
    for s, counts in (("A1", (10, 20, 30)), ("B1", (5, 5, 90))):
        q = tmp_path / f"{s}.tsv"
        q.write_text(
            "transcript_id\tlength\teffective_length\test_counts\ttpm\n"
            + "".join(
                f"ENST0000{t}.{t + 1}\t900\t700\t{c}\t1\n"
                for t, c in zip((1, 2, 3), counts, strict=True)
            )
        )
        quants[s] = q
    m = gene_matrices(quants, gtf, tmp_path / "c.tsv", tmp_path / "cpm.tsv", tmp_path / "tpm.tsv")
    assert m.loc["ENSG00001"].tolist() == [30, 10] and m.loc["ENSG00002"].tolist() == [30, 90]
    # a transcript the GTF lacks is still one line naming it
    (tmp_path / "other.gtf").write_text(gtf.read_text().replace("ENST00003", "ENST00009"))
    with pytest.raises(BiometalError) as exc:
        gene_matrices(quants, tmp_path / "other.gtf", *(tmp_path / f"x{i}" for i in range(3)))
    user_error(exc, tmp_path / "other.gtf", None, "transcript 'ENST00003.4'")
