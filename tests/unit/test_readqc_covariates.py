"""Per-base covariates (biometal.readqc.covariates) against naive Python references."""

from __future__ import annotations

import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from biometal.readqc.covariates import CONTEXT, BaseFeatures, aligned_covariates, read_features

CODE = {"A": 0, "C": 1, "G": 2, "T": 3}
COMP = str.maketrans("ACGTN", "TGCAN")


def naive_features(seqs: list[str], quals: list[list[int]], mate: int = 0):
    rows = []
    for s, q in zip(seqs, quals, strict=True):
        for j in range(len(s)):
            ctx = [
                CODE.get(s[j + d], 4) if 0 <= j + d < len(s) else 4
                for d in range(-CONTEXT, CONTEXT + 1)
            ]
            rows.append((q[j], j, mate, tuple(ctx), len(s)))
    return rows


def as_rows(f: BaseFeatures):
    return [
        (int(q), int(c), int(m), tuple(int(x) for x in ctx), int(n))
        for q, c, m, ctx, n in zip(
            f.quality, f.cycle, f.mate, f.context, f.read_length, strict=True
        )
    ]


@settings(max_examples=60, deadline=None)
@given(
    hst.lists(
        hst.text(alphabet="ACGTN", min_size=0, max_size=25).map(lambda s: s), min_size=1, max_size=6
    ),
    hst.integers(0, 1),
)
def test_read_features_matches_naive(seqs, mate):
    width = max(1, max(len(s) for s in seqs))
    codes = np.full((len(seqs), width), 4, np.uint8)
    quals = np.zeros((len(seqs), width), np.uint8)
    ql = []
    for i, s in enumerate(seqs):
        codes[i, : len(s)] = [CODE.get(b, 4) for b in s]
        q = [(7 * i + 3 * j) % 42 for j in range(len(s))]
        quals[i, : len(s)] = q
        ql.append(q)
    f = read_features(codes, quals, np.array([len(s) for s in seqs]), mate=mate)
    assert f.quality.dtype == np.uint8 and f.cycle.dtype == np.int16
    assert f.context.shape == (sum(map(len, seqs)), 2 * CONTEXT + 1)
    assert as_rows(f) == naive_features(seqs, ql, mate)


def test_read_features_rejects_bad_shapes():
    with pytest.raises(ValueError):
        read_features(np.zeros((2, 5), np.uint8), np.zeros((2, 4), np.uint8), np.array([5, 5]))
    with pytest.raises(ValueError):
        read_features(np.zeros((2, 5), np.uint8), np.zeros((2, 5), np.uint8), np.array([6, 5]))


# ------------------------------------------------------------------ aligned covariates


@pytest.fixture(scope="module")
def small_bam(tmp_path_factory):
    """A sorted, indexed BAM with every kind of record the extractor must handle."""
    d = tmp_path_factory.mktemp("cov")
    rng = np.random.default_rng(4)
    contigs = {
        "c1": "".join(rng.choice(list("ACGT"), 400)),
        "c2": "".join(rng.choice(list("ACGT"), 300)),
    }
    c2 = list(contigs["c2"])
    c2[150] = "N"  # a reference N inside reads
    contigs["c2"] = "".join(c2)
    ref = d / "ref.fa"
    ref.write_text("".join(f">{k}\n{v}\n" for k, v in contigs.items()))
    pysam.faidx(str(ref))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": k, "LN": len(v)} for k, v in contigs.items()],
    }

    def mutate(s: str, k: int) -> str:
        s = list(s)
        for p in rng.choice(len(s), k, replace=False):
            s[p] = "ACGT"[(CODE[s[p]] + 1) % 4] if s[p] in CODE else "A"
        return "".join(s)

    recs = []
    # (contig, start, cigar, flag, mapq)
    specs = [
        ("c1", 10, "50M", 0, 60),
        ("c1", 20, "5S40M5S", 16, 60),  # reverse, soft clips
        ("c1", 30, "20M3I20M", 0x40 | 1, 60),  # read 1, insertion
        ("c1", 40, "15M4D25M", 0x80 | 1 | 16, 60),  # read 2, reverse, deletion
        ("c1", 50, "3H30M", 0, 60),  # leading hard clip
        ("c1", 60, "30M4H", 16, 60),  # reverse with trailing hard clip (5' end as sequenced)
        ("c1", 70, "10M2N10M", 0, 60),  # skipped region
        ("c1", 80, "30M", 0, 5),  # low MAPQ: dropped
        ("c1", 90, "30M", 0x100, 60),  # secondary: dropped
        ("c1", 100, "30M", 0x400, 60),  # duplicate: dropped
        ("c1", 110, "10=1X19=", 0, 60),
        ("c2", 130, "40M", 0, 60),  # covers the reference N
        ("c2", 140, "2S30M", 16, 60),
    ]
    for i, (ctg, start, cigar, flag, mapq) in enumerate(specs):
        a = pysam.AlignedSegment(pysam.AlignmentHeader.from_dict(header))
        a.query_name = f"r{i}"
        a.reference_name = ctg
        a.reference_start = start
        a.cigarstring = cigar
        a.flag = flag
        a.mapping_quality = mapq
        qlen = a.infer_query_length()
        seq = contigs[ctg][start : start + qlen]
        seq = mutate(seq, 3)
        if i == 0:
            seq = seq[:5] + "N" + seq[6:]  # an N in the read
        a.query_sequence = seq
        a.query_qualities = pysam.qualitystring_to_array(
            "".join(chr(33 + 10 + (j * 7 + i) % 30) for j in range(qlen))
        )
        recs.append(a)
    unsorted = d / "u.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for a in recs:
            out.write(a)
    bam = d / "s.bam"
    pysam.sort("-o", str(bam), str(unsorted))
    pysam.index(str(bam))
    vcf = d / "known.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        + "".join(f"##contig=<ID={k},length={len(v)}>\n" for k, v in contigs.items())
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + f"c1\t26\t.\t{contigs['c1'][25]}\tA\t.\tPASS\t.\n"
        + f"c1\t61\t.\t{contigs['c1'][60:63]}\t{contigs['c1'][60]}\t.\tPASS\t.\n"
    )
    return bam, ref, vcf, contigs


def naive_aligned(bam, contigs, known=frozenset(), min_mapq=20):
    rows, errs = [], []
    with pysam.AlignmentFile(str(bam)) as f:
        for a in f.fetch(until_eof=True):
            if a.is_unmapped or a.is_secondary or a.is_supplementary or a.is_duplicate:
                continue
            if a.mapping_quality < min_mapq:
                continue
            cig = a.cigartuples
            if a.query_sequence is None or a.query_qualities is None or not cig:
                continue
            lead = cig[0][1] if cig[0][0] == 5 else 0
            trail = cig[-1][1] if cig[-1][0] == 5 else 0
            s = "N" * lead + a.query_sequence + "N" * trail
            q = [0] * lead + list(a.query_qualities) + [0] * trail
            if a.is_reverse:
                s, q = s.translate(COMP)[::-1], q[::-1]
            feats = naive_features([s], [q], 1 if a.is_read2 else 0)
            for qpos, rpos in a.get_aligned_pairs(matches_only=True):
                refb = contigs[a.reference_name][rpos]
                readb = a.query_sequence[qpos]
                if refb == "N" or readb == "N" or (a.reference_name, rpos) in known:
                    continue
                k = lead + qpos
                if a.is_reverse:
                    k = len(s) - 1 - k
                rows.append(feats[k])
                errs.append(readb != refb)
    return rows, errs


def test_aligned_covariates_match_naive(small_bam):
    bam, ref, _, contigs = small_bam
    f, err = aligned_covariates(bam, ref)
    rows, errs = naive_aligned(bam, contigs)
    assert as_rows(f) == rows
    assert err.tolist() == errs
    assert 0 < err.sum() < err.size
    assert set(f.mate.tolist()) == {0, 1}


def test_aligned_covariates_known_sites_region_max(small_bam):
    bam, ref, vcf, contigs = small_bam
    known = {("c1", 25), ("c1", 60), ("c1", 61), ("c1", 62)}
    f, err = aligned_covariates(bam, ref, known_sites=vcf)
    rows, errs = naive_aligned(bam, contigs, known)
    assert as_rows(f) == rows and err.tolist() == errs
    fr, er = aligned_covariates(bam, ref, region="c2")
    all_rows, all_errs = naive_aligned(bam, contigs)
    n_c1 = len(naive_aligned_contig(bam, contigs, "c1"))
    assert as_rows(fr) == all_rows[n_c1:] and er.tolist() == all_errs[n_c1:]
    fm, em = aligned_covariates(bam, ref, max_bases=77)
    assert as_rows(fm) == all_rows[:77] and em.tolist() == all_errs[:77]


def naive_aligned_contig(bam, contigs, contig):
    rows, _ = naive_aligned(bam, contigs)
    with pysam.AlignmentFile(str(bam)) as f:
        n = 0
        for a in f.fetch(contig):
            if a.flag & 0x704 or a.mapping_quality < 20:
                continue
            n += sum(
                1
                for qp, rp in a.get_aligned_pairs(matches_only=True)
                if contigs[contig][rp] != "N" and a.query_sequence[qp] != "N"
            )
    return rows[:n]


def test_aligned_covariates_bad_bam(tmp_path, small_bam):
    from biometal.errors import BiometalError

    _, ref, _, _ = small_bam
    bad = tmp_path / "bad.bam"
    bad.write_bytes(b"not a bam")
    with pytest.raises(BiometalError, match="bad.bam"):
        aligned_covariates(bad, ref)
    bam = small_bam[0]
    with pytest.raises(BiometalError, match="cannot fetch 'chrX'"):
        aligned_covariates(bam, ref, region="chrX")
    with pytest.raises(BiometalError, match="missing.vcf"):
        aligned_covariates(bam, ref, known_sites=tmp_path / "missing.vcf")


def test_aligned_covariates_third_party_bams(tmp_path):
    """samtools' example BAMs (real 35 bp Illumina reads; the SAM spec's toy records with
    padding, hard clips and missing qualities) against the naive reference."""
    from variant_data import third_party_bams

    bams = third_party_bams(tmp_path)
    if not bams:
        pytest.skip("samtools or its Debian examples (/usr/share/doc/samtools/examples) missing")
    checked = 0
    for name, (bam, ref) in bams.items():
        with pysam.FastaFile(str(ref)) as fa:
            contigs = {c: fa.fetch(c).upper() for c in fa.references}
        f, err = aligned_covariates(bam, ref, min_mapq=0)
        rows, errs = naive_aligned(bam, contigs, min_mapq=0)
        assert as_rows(f) == rows, name
        assert err.tolist() == errs, name
        checked += len(rows)
    assert checked > 1000
