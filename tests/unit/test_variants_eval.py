"""Normalisation (== bcftools norm), scoring, and the VCF writer (accepted by bcftools, cyvcf2)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from biometal.variants.evaluate import Score, load_alleles, score
from biometal.variants.normalize import normalize, variant_type
from biometal.variants.vcf import VcfRecord, VcfWriter, header_lines

BCFTOOLS = shutil.which("bcftools")
needs_bcftools = pytest.mark.skipif(
    BCFTOOLS is None, reason="bcftools not installed (apt-get install bcftools)"
)

# homopolymers, di- and tri-nucleotide repeats: where indels can be written many ways
REF = "ACGTTTTTTGCACACACACAGTCAGCAGCAGGATTACAAAAAGCGCGCGTTAGCATCCCCCCAT" * 3


@pytest.fixture(scope="module")
def ref_fa(tmp_path_factory):
    path = tmp_path_factory.mktemp("norm") / "ref.fa"
    path.write_text(f">c\n{REF}\n")
    pysam.faidx(str(path))
    return path


def test_normalize_examples():
    fetch = REF.__getitem__
    # deleting one T of TTTTTT (REF[3:9]) anywhere: left-aligned to the base before it
    assert normalize(6, "TT", "T", fetch) == (2, "GT", "G")
    # inserting CA inside CACACACA shifts to the start of the repeat
    assert normalize(16, "C", "CAC", fetch) == (9, "G", "GCA")
    # shared prefix and suffix trimmed, SNP stays
    assert normalize(0, "ACG", "ATG", fetch) == (1, "C", "T")
    assert variant_type("A", "T") == "SNP" and variant_type("A", "AT") == "INDEL"
    assert variant_type("AC", "GT") == "MNP"


def _random_indels(n: int, seed: int = 0) -> list[tuple[int, str, str]]:
    rng = np.random.default_rng(seed)
    out = set()
    while len(out) < n:
        pos = int(rng.integers(1, len(REF) - 12))
        ln = int(rng.integers(1, 5))
        if rng.random() < 0.5:  # deletion of REF[pos+1 : pos+1+ln]
            out.add((pos, REF[pos : pos + 1 + ln], REF[pos]))
        else:  # insertion: a copy of the next bases (repeat-like) or random bases
            ins = (
                REF[pos + 1 : pos + 1 + ln]
                if rng.random() < 0.7
                else "".join(rng.choice(list("ACGT"), ln))
            )
            out.add((pos, REF[pos], REF[pos] + ins))
    return sorted(out)


@needs_bcftools
def test_normalize_equals_bcftools_norm(ref_fa, tmp_path):
    variants = _random_indels(150)
    vcf = tmp_path / "in.vcf"
    lines = [
        "##fileformat=VCFv4.3",
        f"##contig=<ID=c,length={len(REF)}>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [f"c\t{p + 1}\t{i}\t{r}\t{a}\t.\t.\t." for i, (p, r, a) in enumerate(variants)]
    vcf.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        [BCFTOOLS, "norm", "-f", str(ref_fa), "-m", "-any", str(vcf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = {}
    for line in out.splitlines():
        if not line.startswith("#"):
            f = line.split("\t")
            expected[int(f[2])] = (int(f[1]) - 1, f[3], f[4])
    for i, (p, r, a) in enumerate(variants):
        assert normalize(p, r, a, REF.__getitem__) == expected[i], (p, r, a)


def _write_vcf(path: Path, body: list[str], sample: bool = True) -> Path:
    head = [
        "##fileformat=VCFv4.3",
        f"##contig=<ID=c,length={len(REF)}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
    ]
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO" + ("\tFORMAT\tS" if sample else "")
    path.write_text("\n".join([*head, cols, *body]) + "\n")
    return path


def test_load_alleles_normalises_splits_and_filters(ref_fa, tmp_path):
    # one record per rule: multi-allelic split, right-shifted indel, MNP split, FILTER,
    # genotype without the ALT, symbolic ALT (REF alleles as in the reference: a mismatch
    # is an error, tests/unit/test_bad_input.py)
    body = [
        "c\t2\t.\tC\tT,G\t50\tPASS\t.\tGT\t1/2",
        "c\t7\t.\tTT\tT\t50\tPASS\t.\tGT\t0/1",
        "c\t29\t.\tCAG\tTAC\t50\tPASS\t.\tGT\t1/1",
        "c\t40\t.\tA\tG\t50\tLowQual\t.\tGT\t0/1",
        "c\t44\t.\tC\tA,G\t50\tPASS\t.\tGT\t0/2",
        "c\t50\t.\tT\t<DEL>\t50\tPASS\t.\tGT\t0/1",
    ]
    vcf = _write_vcf(tmp_path / "a.vcf", body)
    got = load_alleles(vcf, ref_fa)
    assert got["SNP"] == {
        ("c", 1, "C", "T"),
        ("c", 1, "C", "G"),
        ("c", 28, "C", "T"),
        ("c", 30, "G", "C"),
        ("c", 43, "C", "G"),
    }
    assert got["INDEL"] == {("c", 2, "GT", "G")}
    all_records = load_alleles(vcf, ref_fa, pass_only=False)
    assert ("c", 39, "A", "G") in all_records["SNP"]


def test_score():
    truth = {"SNP": {1, 2, 3, 4}, "INDEL": {10, 11}}
    calls = {"SNP": {1, 2, 3, 9}, "INDEL": set()}
    s = score(calls, truth)
    assert (s["SNP"].tp, s["SNP"].fp, s["SNP"].fn) == (3, 1, 1)
    assert s["SNP"].precision == 0.75 and s["SNP"].recall == 0.75 and s["SNP"].f1 == 0.75
    assert (s["INDEL"].tp, s["INDEL"].fp, s["INDEL"].fn) == (0, 0, 2)
    assert s["INDEL"].f1 == 0.0 and Score(0, 0, 0).precision == 0.0


def _records() -> list[VcfRecord]:
    info = {
        "DP": 20,
        "AF": 0.5,
        "TYPE": "SNP",
        "MQ": 60.0,
        "SB": (5, 5, 5, 5),
        "BINOMQ": 100.0,
        "BBQ": 40.0,
    }
    return [
        VcfRecord("c", 1, "C", "T", 99.5, (), info, "0/1", 99, 20, (10, 10), (120, 0, 150)),
        VcfRecord(
            "c",
            2,
            "GT",
            "G",
            12.0,
            ("LowQual",),
            {**info, "TYPE": "DEL"},
            "0/1",
            12,
            20,
            (15, 5),
            (12, 0, 300),
        ),
        VcfRecord(
            "c",
            9,
            "G",
            "GCA",
            300.0,
            ("LowQual", "ErrorLike"),
            {**info, "TYPE": "INS"},
            "1/1",
            60,
            20,
            (0, 20),
            (300, 60, 0),
        ),
    ]


def test_vcf_writer_bcftools_and_cyvcf2(ref_fa, tmp_path):
    from cyvcf2 import VCF

    from biometal.variants.call import FILTERS

    out = tmp_path / "calls.vcf.gz"
    lines = header_lines("S1", [("c", len(REF))], ref_fa, FILTERS, ["biometal_test=1"])
    with VcfWriter(out, lines) as w:
        for rec in _records():
            w.write(rec)
    assert Path(f"{out}.tbi").exists()
    v = VCF(str(out))
    assert v.samples == ["S1"]
    recs = list(v)
    assert [r.POS for r in recs] == [2, 3, 10]
    assert recs[0].FILTER is None and recs[1].FILTER == "LowQual"
    assert recs[0].format("AD").tolist() == [[10, 10]]
    assert recs[2].gt_types.tolist() == [v.HOM_ALT]
    assert recs[0].INFO["SB"] == (5, 5, 5, 5)
    for tag in ("DP", "AF", "TYPE", "MQ", "SB", "BINOMQ", "BBQ"):
        assert v.get_header_type(tag)["ID"] == tag
    if BCFTOOLS:
        view = subprocess.run(
            [BCFTOOLS, "view", "-H", "-r", "c:1-5", str(out)], capture_output=True, text=True
        )
        assert view.returncode == 0, view.stderr
        assert len(view.stdout.splitlines()) == 2
        header = subprocess.run(
            [BCFTOOLS, "view", "-h", str(out)], capture_output=True, text=True
        ).stdout
        assert "##fileformat=VCFv4.3" in header and "##contig=<ID=c,length=" in header
        assert "##FILTER=<ID=ErrorLike" in header and "##FORMAT=<ID=PL" in header


def test_vcf_writer_leaves_nothing_on_error(ref_fa, tmp_path):
    out = tmp_path / "bad.vcf.gz"
    with (
        pytest.raises(RuntimeError),
        VcfWriter(out, header_lines("S", [("c", len(REF))], ref_fa, [])) as w,
    ):
        w.write(_records()[0])
        raise RuntimeError("fails half way")
    assert list(tmp_path.iterdir()) == []


def test_vcf_writer_leaves_nothing_when_indexing_fails(ref_fa, tmp_path):
    """Records out of order: tabix refuses them at close; neither VCF nor index remains."""
    out = tmp_path / "unsorted.vcf.gz"
    recs = _records()
    with pytest.raises(Exception, match="(?i)unsorted|sort|order"):
        with VcfWriter(out, header_lines("S", [("c", len(REF))], ref_fa, [])) as w:
            for rec in reversed(recs):
                w.write(rec)
    assert not out.exists() and not Path(f"{out}.tbi").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []
