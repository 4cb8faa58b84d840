"""Bad BAM input: one-line errors naming the file and the problem, and no partial VCF.

Cases of the issue: a BAM without index, an unsorted BAM (declared in the header, or
records out of order under a coordinate header), a reference whose contigs do not match,
a truncated BAM (cut inside a block, or missing only the end-of-file marker); plus a file
that is not BAM at all. Each is checked through check_bam / iter_pileup and through
call_variants, which must leave neither the VCF nor its index nor a temporary file.
"""

from __future__ import annotations

import array
import gzip
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from biometal.errors import BiometalError
from biometal.io.bam import check_bam, iter_bam_batches
from biometal.io.bgzf import EOF_BLOCK, BgzfWriter, iter_bgzf
from biometal.pileup import PileupParams, iter_pileup
from biometal.variants.call import call_variants

CONTIGS = {"c1": 3000, "c2": 2000}


def _reference(path: Path, contigs=CONTIGS, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for name, ln in contigs.items():
            fh.write(f">{name}\n{''.join(rng.choice(list('ACGT'), ln))}\n")
    pysam.faidx(str(path))
    return path


def _bam(path: Path, ref: Path, *, sort_order="coordinate", shuffle=False, n=600) -> Path:
    fa = pysam.FastaFile(str(ref))
    rng = np.random.default_rng(1)
    header = {
        "HD": {"VN": "1.6", "SO": sort_order},
        "SQ": [{"SN": k, "LN": v} for k, v in CONTIGS.items()],
    }
    recs = []
    for i in range(n):
        contig = "c1" if i < n * 0.6 else "c2"
        start = int(rng.integers(0, CONTIGS[contig] - 100))
        recs.append((contig, start, fa.fetch(contig, start, start + 100), i))
    recs.sort(key=lambda r: (r[0], r[1]))
    if shuffle:
        recs[10], recs[200] = recs[200], recs[10]
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for contig, start, seq, i in recs:
            rec = pysam.AlignedSegment(out.header)
            rec.query_name = f"r{i}"
            rec.flag = 16 if i % 2 else 0
            rec.reference_id = 0 if contig == "c1" else 1
            rec.reference_start = start
            rec.mapping_quality = 60
            rec.cigarstring = "100M"
            rec.query_sequence = seq
            rec.query_qualities = array.array("B", [30] * 100)
            out.write(rec)
    return path


@pytest.fixture()
def good(tmp_path):
    ref = _reference(tmp_path / "ref.fa")
    bam = _bam(tmp_path / "good.bam", ref)
    pysam.index(str(bam))
    return bam, ref


def _assert_no_vcf(out: Path) -> None:
    left = [p.name for p in out.parent.iterdir() if p.name.startswith((out.name, f".{out.name}"))]
    assert not left, f"partial output left behind: {left}"


def _call_fails(bam: Path, ref: Path, tmp_path: Path, match: str) -> str:
    out = tmp_path / "out" / "calls.vcf.gz"
    out.parent.mkdir(exist_ok=True)
    with pytest.raises(BiometalError, match=match) as info:
        call_variants(bam, ref, out, sample="s")
    _assert_no_vcf(out)
    message = str(info.value)
    assert "\n" not in message and str(bam) in message
    return message


def test_good_bam_is_accepted(good, tmp_path):
    bam, ref = good
    header = check_bam(bam, ref)
    assert header.names == ["c1", "c2"] and header.sort_order == "coordinate"
    out = tmp_path / "ok.vcf.gz"
    call_variants(bam, ref, out, sample="s")
    assert out.exists() and Path(f"{out}.tbi").exists()


def test_missing_index(good, tmp_path):
    bam, ref = good
    lone = tmp_path / "lone.bam"
    shutil.copy(bam, lone)
    with pytest.raises(BiometalError, match="BAM index not found"):
        check_bam(lone, ref)
    _call_fails(lone, ref, tmp_path, "index not found")


def test_unsorted_header(tmp_path):
    ref = _reference(tmp_path / "ref.fa")
    bam = _bam(tmp_path / "u.bam", ref, sort_order="unsorted")
    _call_fails(bam, ref, tmp_path, r"not coordinate-sorted \(header @HD SO:unsorted\)")


def test_nonstandard_sort_order_of_a_sorted_bam_is_read(good, tmp_path):
    """@HD SO:sorted (old TopHat; not a SAM value) on sorted records: read, as htslib and
    bcftools read it (it was refused as not coordinate-sorted; Bioconductor's
    sm_treated1.bam); the records' order is checked as they are read."""
    bam_sorted, ref = good
    bam = _bam(tmp_path / "s.bam", ref, sort_order="sorted")
    shutil.copy(f"{bam_sorted}.bai", f"{bam}.bai")
    assert check_bam(bam, ref).sort_order == "sorted"
    out = tmp_path / "ok.vcf.gz"
    call_variants(bam, ref, out, sample="s")
    assert out.exists()


def test_unsorted_records_under_a_coordinate_header(good, tmp_path):
    bam_sorted, ref = good
    bam = _bam(tmp_path / "liar.bam", ref, shuffle=True)
    shutil.copy(f"{bam_sorted}.bai", f"{bam}.bai")  # samtools index would refuse it
    with pytest.raises(
        BiometalError, match=r"not coordinate-sorted: record \d+ at c1:\d+ comes after c1:\d+"
    ):
        for _ in iter_pileup(bam, PileupParams(), reference=ref):
            pass
    _call_fails(bam, ref, tmp_path, "not coordinate-sorted")


@pytest.mark.parametrize(
    ("contigs", "match"),
    [
        ({"c1": 3000, "chrX": 2000}, "contig 'c2' of the BAM is not in the reference"),
        ({"c1": 3000, "c2": 2500}, "contig 'c2' has length 2000 in the BAM but 2500"),
    ],
)
def test_reference_does_not_match(good, tmp_path, contigs, match):
    bam, _ = good
    other = _reference(tmp_path / "other.fa", contigs)
    _call_fails(bam, other, tmp_path, match)


def test_truncated_inside_a_block(good, tmp_path):
    bam, ref = good
    cut = tmp_path / "cut.bam"
    data = bam.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    shutil.copy(f"{bam}.bai", f"{cut}.bai")
    _call_fails(cut, ref, tmp_path, "truncated")
    with pytest.raises(BiometalError, match="truncated BGZF file: it ends inside a block"):
        for _ in iter_bam_batches(cut):
            pass


def test_truncated_at_a_block_boundary(good, tmp_path):
    bam, ref = good
    cut = tmp_path / "noeof.bam"
    data = bam.read_bytes()
    assert data.endswith(EOF_BLOCK)
    cut.write_bytes(data[: -len(EOF_BLOCK)])
    shutil.copy(f"{bam}.bai", f"{cut}.bai")
    _call_fails(cut, ref, tmp_path, "end-of-file marker is missing")


def test_not_a_bam(tmp_path, good):
    _, ref = good
    fake = tmp_path / "fake.bam"
    fake.write_text("this is not a BAM file\n" * 10)
    _call_fails(fake, ref, tmp_path, "not a readable BAM file")
    plain_gz = tmp_path / "plain.bam"
    plain_gz.write_bytes(gzip.compress(b"x" * 1000))
    _call_fails(plain_gz, ref, tmp_path, "not a readable BAM file")


def test_missing_file(tmp_path, good):
    _, ref = good
    _call_fails(tmp_path / "nope.bam", ref, tmp_path, "BAM file not found")


# ----------------------------------------------------------------------------- BGZF


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("level", [1, 6])
def test_bgzf_writer_round_trip(tmp_path, threads, level):
    rng = np.random.default_rng(threads)
    chunks = [
        rng.integers(0, 256, int(n)).astype(np.uint8).tobytes()
        for n in rng.integers(0, 200_000, 20)
    ]
    out = tmp_path / "x.gz"
    with BgzfWriter(out, level=level, threads=threads, batch_bytes=100_000) as w:
        for c in chunks:
            w.write(c)
    data = out.read_bytes()
    assert data.endswith(EOF_BLOCK)
    assert gzip.decompress(data) == b"".join(chunks)
    assert b"".join(iter_bgzf(out, read_bytes=50_000, threads=threads, check_crc=True)) == b"".join(
        chunks
    )
    if shutil.which("bgzip"):
        import subprocess

        assert subprocess.run(["bgzip", "-t", str(out)], capture_output=True).returncode == 0


def test_bgzf_writer_is_deterministic_and_atomic(tmp_path):
    payload = b"line\t1\n" * 100_000
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"{threads}.gz"
        with BgzfWriter(out, threads=threads) as w:
            w.write(payload)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    failing = tmp_path / "fail.gz"
    with pytest.raises(RuntimeError), BgzfWriter(failing) as w:
        w.write(payload)
        raise RuntimeError("boom")
    assert not failing.exists() and not list(tmp_path.glob(".fail.gz*"))


def test_bgzf_corrupt_block(tmp_path):
    out = tmp_path / "c.gz"
    with BgzfWriter(out) as w:
        w.write(bytes(range(256)) * 1000)
    data = bytearray(out.read_bytes())
    data[40] ^= 0xFF
    out.write_bytes(bytes(data))
    with pytest.raises(BiometalError, match="corrupt BGZF block at byte 0"):
        b"".join(iter_bgzf(out, check_crc=True))


def test_block_cache_serves_a_second_pass_within_its_budget(tmp_path, monkeypatch):
    """A BlockCache filled by one pass over a BGZF file gives a second pass (from a block
    offset, as the indel windows read) the same bytes, inflating only the blocks it does
    not hold; it keeps no more than its budget."""
    from biometal.io import bgzf
    from biometal.io.bgzf import BlockCache

    rng = np.random.default_rng(3)
    data = rng.integers(65, 70, 3_000_000, dtype=np.uint8).tobytes()
    out = tmp_path / "c.gz"
    with BgzfWriter(out, level=1) as w:
        w.write(data)
    cache = BlockCache(max_bytes=1_000_000)
    assert b"".join(iter_bgzf(out, read_bytes=100_000, cache=cache)) == data
    assert 900_000 < cache.size <= 1_000_000
    start = w.block_sizes[0] + w.block_sizes[1]  # the third block's file offset
    hits = len(cache._blocks)
    inflated = []
    real = bgzf._inflate
    monkeypatch.setattr(bgzf, "_inflate", lambda b, crc: inflated.append(1) or real(b, crc))
    again = b"".join(iter_bgzf(out, read_bytes=70_000, start=start, cache=cache))
    assert again == data[2 * 65280 :] and len(cache._blocks) == hits
    blocks_after_start = len(w.block_sizes) - 2 + 1  # the EOF marker is inflated too
    assert len(inflated) == blocks_after_start - (hits - 2)
