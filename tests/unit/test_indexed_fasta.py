"""biometal.io.reference.IndexedFasta: reference stretches read from the .fai offsets equal
pysam.FastaFile's, on awkward files (line widths, CRLF, soft-masking, a last partial line,
ranges off either end) and on a reference nobody here made; bgzipped or unindexed FASTAs
go to pysam."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from biometal.io.reference import IndexedFasta

LAMBDA = Path("/usr/share/nanolyse/reference/lambda.fasta.gz")


def _write(path: Path, records: list[tuple[str, str]], width: int, eol: str) -> None:
    with open(path, "w", newline="") as fh:
        for name, seq in records:
            fh.write(f">{name} some description{eol}")
            for i in range(0, len(seq), width):
                fh.write(seq[i : i + width] + eol)


def _compare(path: Path, rng: np.random.Generator, n: int = 400) -> None:
    want = pysam.FastaFile(str(path))
    with IndexedFasta(path) as got:
        assert got.references == tuple(want.references)
        assert got.lengths == tuple(want.lengths)
        for name, length in zip(want.references, want.lengths, strict=True):
            assert got.get_reference_length(name) == length
            assert got.fetch(name) == want.fetch(name)
            for _ in range(n):
                a = int(rng.integers(-5, length + 5))
                b = int(rng.integers(max(a, 0), length + 10))
                assert got.fetch(name, a, b) == want.fetch(name, max(a, 0), b), (name, a, b)
        with pytest.raises(KeyError):
            got.fetch("no_such_contig", 0, 10)


@pytest.mark.parametrize(("width", "eol"), [(60, "\n"), (61, "\r\n"), (7, "\n"), (1, "\n")])
def test_fetch_is_pysams(tmp_path, width, eol):
    rng = np.random.default_rng(width)
    records = []
    for k, length in enumerate([1, width, width + 1, 5 * width, 3 * width - 1, 1000]):
        seq = "".join(rng.choice(list("ACGTNacgtn"), length))
        records.append((f"c{k}", seq))
    path = tmp_path / "ref.fa"
    _write(path, records, width, eol)
    pysam.faidx(str(path))
    _compare(path, rng)


def test_third_party_reference(tmp_path):
    """Phage lambda as Debian's nanolyse ships it (bgzip it is not: plain gzip, unpacked)."""
    if not LAMBDA.is_file():
        pytest.skip("nanolyse's lambda.fasta.gz is not installed")
    path = tmp_path / "lambda.fa"
    path.write_bytes(gzip.decompress(LAMBDA.read_bytes()))
    pysam.faidx(str(path))
    _compare(path, np.random.default_rng(1), n=2000)


def test_bgzipped_and_unindexed_go_to_pysam(tmp_path):
    rng = np.random.default_rng(3)
    records = [("a", "".join(rng.choice(list("ACGT"), 500))), ("b", "ACGT" * 30)]
    plain = tmp_path / "ref.fa"
    _write(plain, records, 50, "\n")
    with IndexedFasta(plain) as fa:  # no .fai: htslib builds it
        assert fa._fa is not None and fa.fetch("a", 10, 20) == records[0][1][10:20]
    assert IndexedFasta(plain)._fa is None  # now indexed
    os.utime(plain, (1e10, 1e10))  # the FASTA newer than its index: pysam again
    assert IndexedFasta(plain)._fa is not None
    if shutil.which("bgzip") is None:
        pytest.skip("bgzip not installed")
    gz = tmp_path / "ref2.fa"
    shutil.copy(plain, gz)
    subprocess.run(["bgzip", "-f", str(gz)], check=True)
    pysam.faidx(f"{gz}.gz")
    with IndexedFasta(f"{gz}.gz") as fa:
        assert fa._fa is not None and fa.fetch("b", 4, 12) == "ACGTACGT"


def test_reference_with_a_bom_is_a_one_line_error(tmp_path):
    """A reference FASTA that starts with a UTF-8 byte-order mark cannot be indexed by
    samtools faidx nor fetched by offsets: the error says so and how to remove it."""
    import sys

    ref = tmp_path / "bom.fa"
    ref.write_bytes(b"\xef\xbb\xbf>c1\nACGTACGTAC\n")
    bam = tmp_path / "a.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 10}]}
    with pysam.AlignmentFile(str(bam), "wb", header=header) as fh:
        a = pysam.AlignedSegment(fh.header)
        a.query_name, a.reference_id, a.reference_start, a.cigarstring = "r", 0, 0, "4M"
        a.query_sequence, a.query_qualities, a.mapping_quality = "ACGT", [30] * 4, 60
        fh.write(a)
    pysam.index(str(bam))
    out = tmp_path / "j.vcf.gz"
    proc = subprocess.run(
        [sys.executable, "-m", "biometal", "joint", str(ref), str(out), str(bam)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "bom.fa:1: starts with a UTF-8 byte-order mark (BOM)" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists()
