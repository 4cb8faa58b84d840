"""The multi-modal region loader (biometal.ml.regions) against naive per-base oracles.

Every channel of every region is compared with a direct computation from the files:
the sequence with pyfaidx, the pileup channels by walking each read's CIGAR with pysam
(base by base, the pileup engine's read/base filters written out in Python), the variant
channels with cyvcf2. Data: the simulated 25x data set of the pileup tests
(tests/unit/variant_data.py), a hand-made BAM with every CIGAR operation and flag, real
third-party files (samtools' ex1 and the SAM specification's toy example; the VCF 4.2
specification's example VCF shipped by python-pysam-tests), a soft-masked reference,
windows past contig ends and contigs absent from the BAM or the VCF.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from variant_data import dataset, third_party_bams

from biometal.errors import BiometalError
from biometal.ml.regions import (
    MultiModalRegionDataset,
    collate_regions,
    iter_region_arrays,
    loader_memory,
    loader_throughput,
    peer_region_arrays,
    region_windows,
)

pyfaidx = pytest.importorskip("pyfaidx", reason="pyfaidx (test extra) is the sequence oracle")
cyvcf2 = pytest.importorskip("cyvcf2")

PYSAM_TESTS = Path("/usr/share/doc/python-pysam/tests")
BINS = (0, 10, 20, 30, 40)

# ---------------------------------------------------------------------------- naive oracles


def naive_sequence(fasta: Path, chrom: str, s: int, e: int) -> np.ndarray:
    fa = pyfaidx.Fasta(str(fasta), sequence_always_upper=False, as_raw=True)
    out = np.zeros((4, e - s), np.float32)
    length = len(fa[chrom])
    for p in range(max(s, 0), min(e, length)):
        j = "ACGT".find(fa[chrom][p].upper())
        if j >= 0:
            out[j, p - s] = 1
    return out


def _read_passes(r, min_mapq: int, count_orphans: bool) -> bool:
    if r.flag & (0x4 | 0x100 | 0x200 | 0x400) or r.reference_id < 0:
        return False
    if r.mapping_quality < min_mapq or r.reference_end is None:
        return False
    if r.reference_end <= r.reference_start:
        return False
    return count_orphans or not (r.flag & 1 and not r.flag & 2)


def naive_pileup(bam: Path, chrom: str, s: int, e: int, *, min_mapq=0, min_baseq=0, orphans=False):
    """(coverage [L], bases [6, L], base_quality [5, L]) by walking every read base by base."""
    L = e - s
    bases = np.zeros((6, L), np.float32)
    hist = np.zeros((len(BINS), L), np.float32)
    with pysam.AlignmentFile(str(bam)) as f:
        if chrom not in f.references:
            return np.zeros(L, np.float32), bases, hist
        length = f.get_reference_length(chrom)
        for r in f.fetch(chrom, max(0, s), max(1, min(e, length))):
            if not _read_passes(r, min_mapq, orphans):
                continue
            seq = r.query_sequence
            quals = r.query_qualities
            n_seq = len(seq) if seq else 0

            def qual(q, seq=seq, quals=quals, n_seq=n_seq):
                if q >= n_seq:
                    return 0
                return 255 if quals is None else quals[q]

            rpos, qpos = r.reference_start, 0
            for op, ln in r.cigartuples:
                if op in (0, 7, 8):
                    for i in range(ln):
                        p, q = rpos + i, qpos + i
                        bq = qual(q)
                        if s <= p < e and bq >= min_baseq:
                            j = "ACGT".find(seq[q]) if q < n_seq else -1
                            bases[j if j >= 0 else 4, p - s] += 1
                            b = max(i for i, lo in enumerate(BINS) if bq >= lo)
                            hist[b, p - s] += 1
                    rpos += ln
                    qpos += ln
                elif op == 2:
                    if qual(qpos) >= min_baseq:
                        for i in range(ln):
                            if s <= rpos + i < e:
                                bases[5, rpos + i - s] += 1
                    rpos += ln
                elif op == 3:
                    rpos += ln
                elif op in (1, 4):
                    qpos += ln
    return bases.sum(axis=0), bases, hist


def naive_variants(vcf: Path, chrom: str, s: int, e: int, sample: int = 0):
    var = np.zeros((3, e - s), np.float32)
    gt = np.full((e - s, 2), -1, np.int8)
    seen: set[int] = set()
    v = cyvcf2.VCF(str(vcf))
    if chrom not in v.seqnames:
        return var, gt
    for rec in v(f"{chrom}:{max(s, 0) + 1}-{max(e, 1)}"):
        p = rec.POS - 1
        if not s <= p < e:
            continue
        j = p - s
        for a in rec.ALT:
            if a and a not in (".", "*") and a.isalpha():
                var[0 if len(a) == len(rec.REF) else 1, j] = 1
        if len(v.samples):
            alleles = [x for x in rec.genotypes[sample][:-1]]
            var[2, j] = max(var[2, j], sum(1 for x in alleles if x > 0))
            if p not in seen:
                for k in range(min(2, len(alleles))):
                    gt[j, k] = alleles[k] if alleles[k] >= 0 else -1
        seen.add(p)
    return var, gt


def check_all(ref, bam, vcf, table, **opts):
    """Every channel of every region of ``table`` equals the oracles; returns the dicts."""
    pile_opts = {
        "min_mapq": opts.get("min_mapq", 0),
        "min_baseq": opts.get("min_baseq", 0),
        "orphans": opts.get("count_orphans", False),
    }
    out = list(iter_region_arrays(ref, table, bam=bam, vcf=vcf, **opts))
    assert [d["index"] for d in out] == list(range(len(table)))
    for d, row in zip(out, table.itertuples(), strict=True):
        s, e = int(row.start), int(row.end)
        where = f"{row.chrom}:{s}-{e}"
        assert (d["chrom"], d["start"], d["end"]) == (row.chrom, s, e)
        np.testing.assert_array_equal(
            d["sequence"], naive_sequence(ref, row.chrom, s, e), err_msg=where
        )
        if bam is not None:
            cov, bases, hist = naive_pileup(bam, row.chrom, s, e, **pile_opts)
            np.testing.assert_array_equal(d["bases"], bases, err_msg=where)
            np.testing.assert_array_equal(d["coverage"], cov, err_msg=where)
            np.testing.assert_array_equal(d["base_quality"], hist, err_msg=where)
            assert d["coverage"].dtype == np.float32 and d["bases"].shape == (6, e - s)
        else:
            assert "coverage" not in d and "bases" not in d
        if vcf is not None:
            var, gt = naive_variants(vcf, row.chrom, s, e)
            np.testing.assert_array_equal(d["variants"], var, err_msg=where)
            np.testing.assert_array_equal(d["genotype"], gt, err_msg=where)
            assert d["genotype"].dtype == np.int8
        else:
            assert "variants" not in d
    return out


# ---------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return dataset(tmp_path_factory.getbasetemp() / "variant_data")


def _edge_windows(lengths: dict[str, int], width: int) -> list[tuple[str, int, int]]:
    out = []
    for name, n in lengths.items():
        out += [
            (name, -width // 2, width - width // 2),
            (name, n - width // 3, n - width // 3 + width),
        ]
    return out


# ---------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    "opts",
    [{}, {"min_mapq": 20, "min_baseq": 20, "count_orphans": True}],
    ids=["default", "mapq20_bq20_orphans"],
)
def test_simulated_tiles_and_edges(sim, opts):
    tiles = region_windows(sim.reference, tile=1000, step=1700)
    lengths = dict(
        zip(
            *[pd.read_csv(f"{sim.reference}.fai", sep="\t", header=None)[i] for i in (0, 1)],
            strict=True,
        )
    )
    edges = pd.DataFrame(_edge_windows(lengths, 300), columns=["chrom", "start", "end"])
    table = pd.concat([tiles, edges], ignore_index=True)
    out = check_all(sim.reference, sim.bam, sim.truth, table, chunk_regions=7, **opts)
    assert sum(float(d["variants"][0].sum()) for d in out) > 5  # the data has SNPs
    assert sum(float(d["coverage"].sum()) for d in out) > 0


def test_windows_around_vcf_sites(sim):
    w = region_windows(around_vcf=sim.truth, width=64)
    assert len(w) > 20
    assert (w["end"] - w["start"] == 64).all()
    assert (w["site"] - w["start"] == 32).all()
    sub = w.iloc[::5].reset_index(drop=True)
    out = check_all(sim.reference, sim.bam, sim.truth, sub, chunk_regions=4)
    for d in out:  # the window's own site is marked at its centre
        assert d["variants"][0, 32] + d["variants"][1, 32] >= 1


def test_kmer_encoding_and_soft_mask(sim, tmp_path):
    from biometal.ml.tokenizer import KmerTokenizer

    # a soft-masked copy of the reference: lower case on every other 50 bp stretch
    ref = tmp_path / "masked.fa"
    with open(sim.reference) as src, open(ref, "w") as dst:
        for line in src:
            if line.startswith(">"):
                dst.write(line)
            else:
                dst.write("".join(c.lower() if (i // 50) % 2 else c for i, c in enumerate(line)))
    table = region_windows(ref, tile=200, step=900)
    plain = list(iter_region_arrays(sim.reference, table))
    masked = list(iter_region_arrays(ref, table, soft_mask=True))
    tok = KmerTokenizer(5)
    kmers = list(iter_region_arrays(ref, table, encoding="kmer", k=5))
    fa = pyfaidx.Fasta(str(ref), sequence_always_upper=False, as_raw=True)
    for a, b, t in zip(plain, masked, kmers, strict=True):
        np.testing.assert_array_equal(a["sequence"], b["sequence"])
        text = fa[b["chrom"]][b["start"] : b["end"]]
        np.testing.assert_array_equal(b["soft_mask"], [float(c.islower()) for c in text])
        expect = tok.encode(text.upper(), add_special_tokens=False)
        assert t["sequence"].dtype == np.int64
        assert t["sequence"].tolist() == expect
    assert any(b["soft_mask"].any() for b in masked)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    from test_pileup_samtools import handmade_bam

    d = tmp_path_factory.mktemp("handmade")
    bam, ref = d / "hand.bam", d / "hand.fa"
    handmade_bam(bam, ref)
    return bam, ref


def test_handmade_every_cigar_and_flag(handmade):
    bam, ref = handmade
    table = pd.DataFrame(
        [("c1", s, s + 500) for s in range(0, 5000, 450)]
        + [("c2", s, s + 500) for s in range(0, 800, 450)]
        + [("c2", -100, 400), ("c1", 4900, 5400)],
        columns=["chrom", "start", "end"],
    )
    check_all(ref, bam, None, table, chunk_regions=3)
    check_all(ref, bam, None, table, min_mapq=20, min_baseq=25, count_orphans=True)


_region = st.tuples(
    st.sampled_from(["c1", "c2"]), st.integers(-300, 5200), st.integers(1, 900)
).map(lambda t: (t[0], t[1], t[1] + t[2]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    regions=st.lists(_region, min_size=1, max_size=25),
    chunk=st.integers(1, 30),
    gap=st.sampled_from([0, 50, 4096]),
    min_baseq=st.sampled_from([0, 13, 30]),
)
def test_chunking_does_not_change_the_arrays(handmade, regions, chunk, gap, min_baseq):
    """Any table (unsorted, overlapping, past the ends), chunked and spanned any way, gives
    the arrays of loading each region alone; the quality bins sum to the base counts."""
    bam, ref = handmade
    opts = {"bam": bam, "min_baseq": min_baseq}
    got = list(iter_region_arrays(ref, regions, chunk_regions=chunk, max_gap=gap, **opts))
    assert [d["index"] for d in got] == list(range(len(regions)))
    for d, reg in zip(got, regions, strict=True):
        (alone,) = iter_region_arrays(ref, [reg], **opts)
        for key in ("sequence", "coverage", "bases", "base_quality"):
            np.testing.assert_array_equal(d[key], alone[key])
        np.testing.assert_array_equal(d["base_quality"].sum(0), d["bases"][:5].sum(0))


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    bams = third_party_bams(tmp_path_factory.mktemp("real"))
    if "ex1" not in bams:
        pytest.skip("samtools and its examples (Debian package samtools) are not installed")
    return bams


@pytest.mark.parametrize("name", ["ex1", "toy"])
def test_third_party_bams(real, name):
    if name not in real:
        pytest.skip(f"{name} example not installed")
    bam, ref = real[name]
    lengths = {
        r.split("\t")[0]: int(r.split("\t")[1])
        for r in Path(f"{ref}.fai").read_text().split("\n")
        if r
    }
    table = pd.DataFrame(
        [(c, s, s + 100) for c, n in lengths.items() for s in range(0, n, 90)]
        + _edge_windows(lengths, 40),
        columns=["chrom", "start", "end"],
    )
    check_all(ref, bam, None, table, chunk_regions=5)
    check_all(ref, bam, None, table, min_mapq=10, min_baseq=20)


@pytest.fixture(scope="module")
def spec_vcf(tmp_path_factory):
    """The VCF 4.2 specification's example (python-pysam-tests), bgzipped and indexed,
    with a random reference long enough for its contigs (17, 20, M)."""
    src = PYSAM_TESTS / "cbcf_data" / "example_vcf42.vcf"
    if not src.exists():
        pytest.skip("python-pysam-tests (Debian) is not installed")
    d = tmp_path_factory.mktemp("spec")
    vcf = d / "spec.vcf"
    shutil.copy(src, vcf)
    gz = Path(pysam.tabix_index(str(vcf), preset="vcf", force=True))
    rng = np.random.default_rng(3)
    ref = d / "ref.fa"
    with open(ref, "w") as fh:
        for name, n in (("17", 20_000), ("20", 1_240_000), ("M", 1_240_000), ("X", 5000)):
            seq = "".join(rng.choice(list("ACGTacgtN"), n))
            fh.write(f">{name}\n" + "\n".join(textwrap.wrap(seq, 60)) + "\n")
    pysam.faidx(str(ref))
    return ref, gz


def test_third_party_vcf(spec_vcf):
    ref, vcf = spec_vcf
    w = region_windows(around_vcf=vcf, width=33)
    assert len(w) == 5
    extra = pd.DataFrame(
        [("X", 0, 33), ("20", 1_239_990, 1_240_023)], columns=["chrom", "start", "end"]
    )
    table = pd.concat([w[["chrom", "start", "end"]], extra], ignore_index=True)
    out = check_all(ref, None, vcf, table)
    # multi-allelic SNP 1|2: dosage 2; microsat GTCT -> G,GTACT: indel, no SNP; ALT '.': nothing
    by_pos = {(d["chrom"], d["start"] + 16): d for d in out}
    d = by_pos[("20", 1110695)]
    assert d["variants"][:, 16].tolist() == [1, 0, 2] and d["genotype"][16].tolist() == [1, 2]
    d = by_pos[("20", 1234566)]
    assert d["variants"][:, 16].tolist() == [0, 1, 1]
    d = by_pos[("M", 1230236)]
    assert d["variants"][:, 16].tolist() == [0, 0, 0] and d["genotype"][16].tolist() == [0, 0]
    assert not out[-2]["variants"].any() and (out[-2]["genotype"] == -1).all()  # contig not in VCF


def test_absent_contigs_and_errors(sim, tmp_path):
    # a reference with an extra contig the BAM and the VCF do not have
    ref = tmp_path / "ref.fa"
    shutil.copy(sim.reference, ref)
    with open(ref, "a") as fh:
        fh.write(">extra\n" + "ACGT" * 50 + "\n")
    pysam.faidx(str(ref))
    table = pd.DataFrame([("extra", 10, 60)], columns=["chrom", "start", "end"])
    # the BAM's header does not list 'extra': the BAM is still usable against this reference
    (d,) = iter_region_arrays(ref, table, bam=sim.bam, vcf=sim.truth)
    assert not d["coverage"].any() and not d["variants"].any() and d["sequence"].sum() == 50
    bad = pd.DataFrame([("nope", 0, 10)], columns=["chrom", "start", "end"])
    with pytest.raises(BiometalError, match="contig 'nope'"):
        list(iter_region_arrays(sim.reference, bad))
    with pytest.raises(BiometalError, match="empty"):
        list(iter_region_arrays(sim.reference, [("chr1", 5, 5)]))
    with pytest.raises(BiometalError, match="encoding"):
        list(iter_region_arrays(sim.reference, table, encoding="bpe"))
    with pytest.raises(BiometalError, match="exactly one"):
        region_windows(sim.reference)


def test_bed_regions(sim, tmp_path):
    bed = tmp_path / "r.bed"
    names = pd.read_csv(f"{sim.reference}.fai", sep="\t", header=None)[0].tolist()
    bed.write_text(f"{names[1]}\t100\t400\tx\r\n{names[0]}\t0\t50\r\n")
    w = region_windows(bed=bed)
    assert w[["chrom", "start", "end"]].values.tolist() == [[names[1], 100, 400], [names[0], 0, 50]]
    check_all(sim.reference, sim.bam, sim.truth, w)
    out = list(iter_region_arrays(sim.reference, bed))
    assert [d["end"] - d["start"] for d in out] == [300, 50]


# ---------------------------------------------------------------------------- torch


@pytest.mark.parametrize("workers,ranks", [(1, 1), (2, 1), (1, 3), (2, 2)])
def test_sharding_union_is_every_region_once(sim, workers, ranks):
    table = region_windows(sim.reference, tile=100, step=433)
    seen: list[int] = []
    for rank in range(ranks):
        ds = MultiModalRegionDataset(
            sim.reference, table, rank=rank, world_size=ranks, chunk_regions=5, as_tensors=False
        )
        n_workers = workers if workers > 1 else 0
        loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=n_workers)
        seen += [int(d["index"]) for d in loader]
    assert sorted(seen) == list(range(len(table)))


def test_collate_and_dataloader(sim):
    table = region_windows(sim.reference, tile=128, step=1000)
    ds = MultiModalRegionDataset(sim.reference, table, bam=sim.bam, vcf=sim.truth)
    loader = torch.utils.data.DataLoader(ds, batch_size=8, collate_fn=collate_regions)
    batch = next(iter(loader))
    assert batch["sequence"].shape == (8, 4, 128) and batch["sequence"].dtype == torch.float32
    assert batch["bases"].shape == (8, 6, 128) and batch["genotype"].shape == (8, 128, 2)
    assert batch["start"].dtype == torch.int64 and len(batch["chrom"]) == 8
    with pytest.raises(BiometalError, match="different lengths"):
        collate_regions(list(iter_region_arrays(sim.reference, [("chr1", 0, 10), ("chr1", 0, 12)])))


# ---------------------------------------------------------------------------- memory


def test_peak_rss_flat_in_the_number_of_regions(sim):
    mem = loader_memory(sim.reference, sim.bam, sim.truth, counts=(300, 3000), width=500)
    assert mem["regions"].tolist() == [300, 3000]
    assert mem["bytes"].tolist() == [300 * 500 * 78, 3000 * 500 * 78]  # 78 bytes per position
    growth = mem["peak_rss_mb"] - mem["rss_before_mb"]
    # 10x the regions and the bytes produced: the peak stays within 40 MB of the RSS before
    assert growth.max() < 40, mem.to_dict("records")


def test_peer_loader_and_throughput(sim):
    table = region_windows(sim.reference, tile=300, step=2500)
    ours = list(iter_region_arrays(sim.reference, table, bam=sim.bam, vcf=sim.truth))
    peer = list(peer_region_arrays(sim.reference, table, bam=sim.bam, vcf=sim.truth))
    assert len(ours) == len(peer) == len(table)
    for a, b in zip(ours, peer, strict=True):
        assert a.keys() == b.keys()
        for key, v in a.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(v, b[key], err_msg=f"{key} {a['start']}")
            else:
                assert v == b[key]
    df = loader_throughput(sim.reference, sim.bam, sim.truth, table.iloc[:10], repeats=2)
    assert df["loader"].tolist() == ["biometal", "pysam+cyvcf2+pyfaidx"] * 2
    assert (df["regions"] == 10).all() and (df["bytes"] == 10 * 300 * 78).all()
    assert (df["cpu_s"] > 0).all()
