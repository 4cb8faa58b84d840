"""Joint genotyping of a simulated cohort: bcftools accepts the multi-sample VCF, joint calls
find more true hets than single-sample calls at low depth, genotypes agree with the truth,
and the EM recovers allele frequencies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from biometal.errors import BiometalError
from biometal.simulate import simulate_reference
from biometal.simulate.cohort import simulate_cohort
from biometal.variants.gvcf import write_gvcf
from biometal.variants.joint import em_frequency, joint_genotype, read_evidence, sample_alleles
from biometal.variants.mapping import map_reads

BCFTOOLS = shutil.which("bcftools")
SAMPLES = ["P1", "P2", "P3", "P4"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("joint")
    simulate_reference(d / "ref0.fa", d / "ref0.fa.fai", n_contigs=2, total_length=90_000, seed=2)
    simulate_cohort(
        d / "ref0.fa", d / "ref.fa", d / "truth.vcf.gz", SAMPLES, d, region_length=80_000,
        coverage=8, seed=4,
    )  # fmt: skip
    gvcfs = []
    for s in SAMPLES:
        map_reads(d / "ref.fa", d / f"{s}_R1.fastq.gz", d / f"{s}_R2.fastq.gz", d / f"{s}.bam",
                  sample=s, threads=1)  # fmt: skip
        write_gvcf(d / f"{s}.bam", d / "ref.fa", d / f"{s}.g.vcf.gz", backend="cpu")
        gvcfs.append(d / f"{s}.g.vcf.gz")
    stats = joint_genotype(gvcfs, d / "ref.fa", d / "joint.vcf.gz")
    return d, gvcfs, stats


def test_bcftools_accepts_the_joint_vcf(cohort, tmp_path):
    d, _, stats = cohort
    with pysam.VariantFile(str(d / "joint.vcf.gz")) as fh:
        assert list(fh.header.samples) == SAMPLES
        recs = list(fh)
    assert len(recs) == stats["records"] > 50
    for r in recs[:200]:
        assert len(r.alts) == 1
        for s in SAMPLES:
            smp = r.samples[s]
            if smp["GT"] != (None, None):
                assert len(smp["PL"]) == 3 and min(smp["PL"]) == 0
        assert 0 < r.info["AF"][0] <= 1
    if BCFTOOLS is None:
        pytest.skip("bcftools not installed")
    for cmd in (
        [BCFTOOLS, "view", "-H", str(d / "joint.vcf.gz")],
        [BCFTOOLS, "norm", "-f", str(d / "ref.fa"), "-Ou", "-o", "/dev/null",
         str(d / "joint.vcf.gz")],
        [BCFTOOLS, "+fill-tags", str(d / "joint.vcf.gz"), "-Ov", "-o", str(tmp_path / "x.vcf"),
         "--", "-t", "AC,AN"],
    ):  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True)
        if "fill-tags" in cmd[1] and "Could not load" in out.stderr:
            continue  # plugin not installed
        assert out.returncode == 0, (cmd, out.stderr)
    if (tmp_path / "x.vcf").exists():
        # bcftools recomputes AC / AN from our genotypes: the same numbers
        with pysam.VariantFile(str(tmp_path / "x.vcf")) as fh:
            for r, ours in zip(fh, recs, strict=True):
                assert r.info["AC"] == ours.info["AC"] and r.info["AN"] == ours.info["AN"]


def test_joint_index_is_htslibs(cohort, tmp_path):
    """The joint VCF's .tbi, built from each contig's record spans as the lines are written
    (two contigs here), equals htslib's index of the file."""
    from test_tabix import htslib_index, parse_tbi

    d, _, _ = cohort
    path = d / "joint.vcf.gz"
    with pysam.VariantFile(str(path)) as fh:
        assert len({r.chrom for r in fh}) == 2
    assert parse_tbi(Path(f"{path}.tbi")) == parse_tbi(htslib_index(path, tmp_path))


def test_joint_finds_more_true_hets_than_single_sample(cohort):
    d, gvcfs, _ = cohort
    ref = d / "ref.fa"
    more = 0
    totals = {"single": 0, "joint": 0, "truth": 0, "joint_fp": 0, "joint_tp": 0, "conc": 0}
    for s, g in zip(SAMPLES, gvcfs, strict=True):
        truth = sample_alleles(d / "truth.vcf.gz", ref, s)["SNP"]
        single = sample_alleles(g, ref, s)["SNP"]
        joint = sample_alleles(d / "joint.vcf.gz", ref, s)["SNP"]
        hets = {k for k, z in truth.items() if z == "het"}
        n_single, n_joint = len(hets & single.keys()), len(hets & joint.keys())
        more += n_joint > n_single
        totals["single"] += n_single
        totals["joint"] += n_joint
        totals["truth"] += len(hets)
        tp = joint.keys() & truth.keys()
        totals["joint_tp"] += len(tp)
        totals["joint_fp"] += len(joint.keys() - truth.keys())
        totals["conc"] += sum(joint[k] == truth[k] for k in tp)
    assert more >= 3, totals
    assert totals["joint"] > totals["single"] * 1.03, totals
    assert totals["joint_fp"] <= 0.05 * totals["joint_tp"], totals
    assert totals["conc"] >= 0.95 * totals["joint_tp"], totals


def test_em_recovers_frequencies():
    rng = np.random.default_rng(0)
    m, n = 50, 200
    f_true = rng.uniform(0.02, 0.9, m)
    g = (rng.random((m, n, 2)) < f_true[:, None, None]).sum(axis=2)
    gl = np.full((m, n, 3), -5.0)
    np.put_along_axis(gl, g[..., None], 0.0, axis=2)  # confident genotypes
    has = np.ones((m, n), bool)
    has[:, :20] = False  # no data: must not pull the estimate
    gl[:, :20] = 0.0
    f = em_frequency(gl, has)
    np.testing.assert_allclose(f, g[:, 20:].sum(axis=1) / (2 * (n - 20)), atol=2e-3)


def test_sample_without_data_is_missing(cohort, tmp_path):
    """A sample whose gVCF has no data at a site gets ./. and is left out of AN."""
    d, gvcfs, _ = cohort
    empty = tmp_path / "E.g.vcf.gz"
    with pysam.VariantFile(str(gvcfs[0])) as fh:
        header = fh.header.copy()
    lines = str(header).rstrip("\n").split("\n")
    lines[-1] = lines[-1].rsplit("\t", 1)[0] + "\tE"
    plain = tmp_path / "E.vcf"
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(empty))
    pysam.tabix_index(str(empty), preset="vcf")
    out = tmp_path / "j.vcf.gz"
    joint_genotype([*gvcfs, empty], d / "ref.fa", out)
    with pysam.VariantFile(str(out)) as fh:
        for r in fh:
            assert r.samples["E"]["GT"] == (None, None)
            assert r.info["AN"] <= 2 * len(SAMPLES)


def test_bad_inputs(cohort, tmp_path):
    d, gvcfs, _ = cohort
    with pytest.raises(BiometalError, match="not found"):
        read_evidence(tmp_path / "missing.g.vcf.gz")
    with pytest.raises(BiometalError, match="appears twice"):
        joint_genotype([gvcfs[0], gvcfs[0]], d / "ref.fa", tmp_path / "j.vcf.gz")
    with pytest.raises(BiometalError, match="joint.vcf.gz"):  # not a gVCF
        read_evidence(d / "joint.vcf.gz")
    assert not (tmp_path / "j.vcf.gz").exists()


def test_sample_without_own_call_is_genotyped_at_cohort_indel(tmp_path):
    """Three samples' reads cut from known haplotypes at one 3 bp deletion: A carries it
    (6 ALT reads, its own call), B carries it too but shows it in one read's CIGAR and one
    soft-clipped read only (no call of its own), C has REF reads only. The joint caller
    genotypes B from B's reads: 0/1 with AD = its 6 REF reads, 2 ALT reads; C 0/0."""
    from indel_reads import Site, alt_read, clipped_alt_read, ref_read, write_bam
    from indel_reads import reference as make_ref

    from biometal.variants.call import call_variants

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, seed=9)
    p = next(i for i in range(1500, 1600) if len({seq[i + k] for k in range(5)}) == 4)
    site = Site(seq, p, seq[p : p + 4], seq[p])
    reads = {
        "A": [ref_read(site, p - 20 - 9 * i) for i in range(6)]
        + [alt_read(site, p - 25 - 9 * i) for i in range(6)],
        "B": [ref_read(site, p - 22 - 9 * i) for i in range(6)]
        + [alt_read(site, p - 60), clipped_alt_read(site, 15)],
        "C": [ref_read(site, p - 15 - 8 * i) for i in range(8)],
    }
    gvcfs = []
    for s, rs in reads.items():
        bam = write_bam(tmp_path / f"{s}.bam", len(seq), s, rs)
        gvcfs.append(tmp_path / f"{s}.g.vcf.gz")
        write_gvcf(bam, ref_fa, gvcfs[-1], backend="cpu")
    # B alone: no indel call (one indel event)
    call_variants(tmp_path / "B.bam", ref_fa, tmp_path / "B.vcf.gz")
    with pysam.VariantFile(str(tmp_path / "B.vcf.gz")) as fh:
        assert not [r for r in fh if len(r.ref) != len(r.alts[0])]
    out = tmp_path / "joint.vcf.gz"
    joint_genotype(gvcfs, ref_fa, out)
    with pysam.VariantFile(str(out)) as fh:
        recs = [r for r in fh if (r.pos - 1, r.ref, r.alts[0]) == (p, site.ref, site.alt)]
    assert len(recs) == 1
    r = recs[0]
    assert "PASS" in r.filter.keys()
    assert r.samples["A"]["GT"] == (0, 1) and r.samples["A"]["AD"] == (6, 6)
    assert r.samples["B"]["GT"] == (0, 1) and r.samples["B"]["AD"] == (6, 2)
    assert r.samples["C"]["GT"] == (0, 0)
    assert r.info["AC"] == (2,) and r.info["AN"] == 6
    calls = sample_alleles(out, ref_fa, "B")["INDEL"]
    assert calls == {("chrT", p, site.ref, site.alt): "het"}


def test_cohort_depth_below_min_depth_is_no_record(tmp_path):
    """Two samples with one read each at a position, both showing the same SNP (as
    misaligned reads inside a deletion every sample carries do): the cohort has
    min_alt_reads ALT reads but only 2 reads in all, so no record at min_depth 4; at
    min_depth 2 the same evidence is a record (so the test can fail)."""
    from indel_reads import Site, alt_read, write_bam
    from indel_reads import reference as make_ref

    from biometal.variants.call import CallParams

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, seed=11)
    p = 1500
    site = Site(seq, p, seq[p], next(b for b in "ACGT" if b != seq[p]))
    gvcfs = []
    for s, start in (("A", p - 40), ("B", p - 70)):
        bam = write_bam(tmp_path / f"{s}.bam", len(seq), s, [alt_read(site, start)])
        gvcfs.append(tmp_path / f"{s}.g.vcf.gz")
        write_gvcf(bam, ref_fa, gvcfs[-1], backend="cpu")

    def records(min_depth):
        out = tmp_path / f"joint{min_depth}.vcf.gz"
        joint_genotype(gvcfs, ref_fa, out, calling=CallParams(min_depth=min_depth))
        with pysam.VariantFile(str(out)) as fh:
            return [(r.pos - 1, r.ref, r.alts[0]) for r in fh]

    assert records(4) == []
    assert records(2) == [(p, site.ref, site.alt)]


def test_compiled_em_is_the_numpy_em_bit_for_bit():
    """The compiled EM (per site, numpy's pairwise sums replayed) gives the numpy code's
    frequencies bit for bit, for cohort sizes on every path of numpy's summation (< 8,
    <= 128, > 128 samples), missing samples and ties included."""
    from biometal.variants.joint import em_frequency_numpy, em_frequency_pl

    rng = np.random.default_rng(1)
    for n_s in (1, 2, 5, 7, 8, 9, 17, 20, 64, 128, 129, 263, 300, 1031):
        pl = rng.integers(0, 200, (500, n_s, 3))
        pl[rng.random((500, n_s)) < 0.5, 0] = 0
        pl[:20] = 0  # ties: no information
        pl -= pl.min(axis=2, keepdims=True)
        gl = -pl / 10.0
        has = rng.random((500, n_s)) < 0.9
        got, want = em_frequency(gl, has, 30), em_frequency_numpy(gl, has, 30)
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
        # from the integer PLs by a table of powers: the same bits, and from PLs not yet
        # shifted to a least 0 (done in place) at some rows
        by_table = em_frequency_pl(pl.copy(), has, 30)
        np.testing.assert_array_equal(by_table.view(np.int64), want.view(np.int64))
        raw = pl + rng.integers(0, 50, (500, n_s, 1))
        rows = np.flatnonzero(rng.random(500) < 0.5)
        got = em_frequency_pl(raw, has, 30, rows=rows)
        np.testing.assert_array_equal(got.view(np.int64), want[rows].view(np.int64))
        assert np.array_equal(raw[rows], pl[rows])


def test_simple_index_is_the_general_loop(cohort, tmp_path, monkeypatch):
    """Our gVCFs (one ALT, then <*>) are indexed without the per-record loop: the same
    lookups, depths and joint VCF as the general loop (which other tools' gVCFs take)."""
    import gzip

    from biometal.variants import joint as J

    d, gvcfs, _ = cohort
    fast = [read_evidence(p) for p in gvcfs]
    assert all(isinstance(e.pl, J._RowSlices) for e in fast)
    joint_genotype(gvcfs, d / "ref.fa", tmp_path / "fast.vcf.gz")
    monkeypatch.setattr(J, "_simple_alts", lambda *a: False)
    slow = [read_evidence(p) for p in gvcfs]
    assert all(isinstance(e.pl, list) for e in slow)
    joint_genotype(gvcfs, d / "ref.fa", tmp_path / "slow.vcf.gz")
    for f, s in zip(fast, slow, strict=True):
        assert f.sites == s.sites and f.at_pos == s.at_pos and f.indel_at == s.indel_at
        assert f.alleles == s.alleles and f.dp == s.dp
        assert len(f.sites) > 1000 and len(f.indel_at) > 0
        assert np.array_equal(f.site_rows, s.site_rows)
        assert np.array_equal(f.site_allele, s.site_allele)
        assert f.pairs == s.pairs and f.contig_names == s.contig_names
        for name in ("item_pair", "row_cid", "row_pos", "row_star", "row_indel", "row_k"):
            assert np.array_equal(getattr(f, name), getattr(s, name)), name
        for r in range(len(s.alleles)):
            assert np.array_equal(f.pl[r], s.pl[r]) and np.array_equal(f.ad[r], s.ad[r])
        for k in list(s.sites)[:: max(1, len(s.sites) // 500)]:
            a, b = f.lookup(k), s.lookup(k)
            assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
            assert f.depth(k[0], k[1]) == s.depth(k[0], k[1])
    text = [gzip.decompress((tmp_path / n).read_bytes()) for n in ("fast.vcf.gz", "slow.vcf.gz")]
    assert text[0] == text[1] and text[0].count(b"\n") > 100


def test_multiallelic_gvcf_takes_the_general_loop(cohort, tmp_path):
    """A gVCF with a two-ALT record (another tool's style) is indexed by the general loop:
    both ALTs looked up with their own PLs, support summed per allele, joint VCF written."""
    d, gvcfs, _ = cohort
    contig = pysam.FastaFile(str(d / "ref.fa")).references[0]
    body = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig}>",
        '##INFO=<ID=END,Number=1,Type=Integer,Description="end">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="gt">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="dp">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="pl">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tX1",
        f"{contig}\t1\t.\tN\t<*>\t.\t.\tEND=99\tGT:DP:PL\t0/0:10:0,30,300",
        f"{contig}\t100\t.\tA\tC,G,<*>\t50\t.\t.\tGT:DP:AD:PL\t1/2:12:1,5,6,0:"
        + ",".join(map(str, range(10, 20))),
        f"{contig}\t101\t.\tN\t<*>\t.\t.\tEND=200\tGT:DP:PL\t0/0:11:0,33,330",
    ]
    plain = tmp_path / "x1.g.vcf"
    plain.write_text("\n".join(body) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    ev = read_evidence(f"{plain}.gz")
    assert isinstance(ev.pl, list)  # not the one-ALT fast path
    pl_c, ad_c, dp_c = ev.lookup((contig, 99, "A", "C"))
    pl_g, ad_g, _ = ev.lookup((contig, 99, "A", "G"))
    # genotype order 0/0 0/1 1/1 0/2 1/2 2/2 ...: C = allele 1, G = allele 2
    assert pl_c.tolist() == [10, 11, 12] and ad_c == (1, 5) and dp_c == 12
    assert pl_g.tolist() == [10, 13, 15] and ad_g == (1, 6)
    assert ev.site_allele.tolist() == [1, 2]
    stats = joint_genotype([f"{plain}.gz", gvcfs[0]], d / "ref.fa", tmp_path / "j.vcf.gz")
    assert stats["samples"] == 2


def test_simple_index_with_repeated_records(cohort, tmp_path, monkeypatch):
    """One-ALT records that repeat a (position, REF, ALT) or share a position: the fast
    path keeps the general loop's choices (the last row of a key, keys in first-seen order,
    the first row of a position)."""
    from biometal.variants import joint as J

    d, _, _ = cohort
    contig = pysam.FastaFile(str(d / "ref.fa")).references[0]
    rows = [(100, "A", "C"), (100, "A", "AT"), (100, "A", "C"), (150, "G", "T"), (150, "G", "T")]
    body = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig}>",
        '##INFO=<ID=END,Number=1,Type=Integer,Description="end">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="dp">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="pl">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tX1",
    ] + [
        f"{contig}\t{p}\t.\t{r}\t{a},<*>\t50\t.\t.\tDP:AD:PL\t{9 + i}:{i},3,0:"
        + ",".join(str(10 * i + j) for j in range(6))
        for i, (p, r, a) in enumerate(rows)
    ]
    plain = tmp_path / "rep.g.vcf"
    plain.write_text("\n".join(body) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    fast = read_evidence(f"{plain}.gz")
    monkeypatch.setattr(J, "_simple_alts", lambda *a: False)
    slow = read_evidence(f"{plain}.gz")
    assert isinstance(fast.pl, J._RowSlices) and isinstance(slow.pl, list)
    assert fast.site_rows.tolist() == slow.site_rows.tolist() == [2, 1, 4]
    assert fast.item_pair.tolist() == slow.item_pair.tolist()
    assert fast.sites == slow.sites and fast.at_pos == slow.at_pos
    assert fast.indel_at == slow.indel_at == {(contig, 99): 1}


def test_evidence_handed_over_is_the_files(cohort, tmp_path):
    """write_gvcf's ``evidence`` (the numbers it wrote) equals read_evidence of the file it
    wrote, field by field, and joint genotyping from it writes the same joint VCF as from
    the files (the cohort job hands it over instead of parsing its gVCFs again)."""
    import gzip

    d, _, _ = cohort
    evidence, paths = [], []
    for s in SAMPLES:
        paths.append(tmp_path / f"{s}.g.vcf.gz")
        write_gvcf(d / f"{s}.bam", d / "ref.fa", paths[-1], backend="cpu", evidence=evidence)
    assert [e.name for e in evidence] == SAMPLES
    for mem, path in zip(evidence, paths, strict=True):
        disk = read_evidence(path)
        assert mem.path == disk.path == str(path)
        assert mem.sites == disk.sites and mem.at_pos == disk.at_pos
        assert mem.indel_at == disk.indel_at and len(mem.indel_at) > 0
        assert mem.alleles == disk.alleles and mem.dp == disk.dp and len(mem.sites) > 1000
        for f in ("pl_rows", "ad_rows", "ad_ok", "dp_rows", "site_rows", "site_allele"):
            a, b = getattr(mem, f), getattr(disk, f)
            assert a.dtype == b.dtype and np.array_equal(a, b), f
        assert list(mem.blocks) == list(disk.blocks) and mem.blocks
        for c, blk in disk.blocks.items():
            for a, b in zip(mem.blocks[c], blk, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b), c
    joint_genotype(evidence, d / "ref.fa", tmp_path / "mem.vcf.gz")
    joint_genotype(paths, d / "ref.fa", tmp_path / "disk.vcf.gz")
    text = [gzip.decompress((tmp_path / n).read_bytes()) for n in ("mem.vcf.gz", "disk.vcf.gz")]
    assert text[0] == text[1] and text[0].count(b"\n") > 100


def test_array_fill_is_lookup(cohort, tmp_path):
    """The joint VCF's per-sample PL / AD / DP (filled in arrays for all candidates at once)
    are SampleEvidence.lookup's for every record and sample: own record, another indel
    record there, the position's <*>, the reference block, or no data."""
    d, gvcfs, _ = cohort
    evs = [read_evidence(p) for p in gvcfs]
    out = tmp_path / "j.vcf.gz"
    joint_genotype(gvcfs, d / "ref.fa", out)
    kinds = {"own": 0, "other": 0, "none": 0}
    with pysam.VariantFile(str(out)) as fh:
        for r in fh:
            key = (r.chrom, r.pos - 1, r.ref, r.alts[0])
            for ev in evs:
                smp, got = r.samples[ev.name], ev.lookup(key)
                if got is None:
                    assert smp["GT"] == (None, None) and smp["DP"] == 0
                    kinds["none"] += 1
                    continue
                pl, ad, dp = got
                assert list(smp["PL"]) == (pl - pl.min()).tolist() and smp["DP"] == dp
                assert (smp["AD"] == (None,)) if ad is None else (tuple(smp["AD"]) == ad)
                kinds["own" if key in ev.sites else "other"] += 1
    assert kinds["own"] > 100 and kinds["other"] > 100, kinds


def _fill_numpy(samples, coded, cand, cand_pc, cand_contig, is_indel, indel_error,
                pl, ad, has_ad, dp, has) -> None:  # fmt: skip
    """The joint step's evidence fill in numpy, precedence step by step for all candidates
    at once (the reference for the compiled merge walk of biometal.variants.joint._fill)."""
    from biometal.variants.joint import _find

    def first_at(pc, rows):
        pc = pc[rows]
        ok = pc >= 0
        u, first = np.unique(pc[ok], return_index=True)
        return u, rows[ok][first]

    m = len(cand)
    cand_pos = cand_pc - coded.offsets[cand_contig]
    lg = np.log10([1.0 - indel_error, 0.5, indel_error])
    for j, s in enumerate(samples):
        rest = np.ones(m, bool)
        ci = _find(cand, coded.items[j])
        hit = ci >= 0
        i, r, a = ci[hit], s.site_rows[hit], s.site_allele[hit]
        g1 = a * (a + 1) // 2
        pl[i, j] = np.stack([s.pl_rows[r, 0], s.pl_rows[r, g1], s.pl_rows[r, g1 + a]], 1)
        ok = s.ad_ok[r]
        ad[i[ok], j, 0] = s.ad_rows[r[ok], 0]
        ad[i[ok], j, 1] = s.ad_rows[r[ok], a[ok]]
        has_ad[i, j] = ok
        dp[i, j] = s.dp_rows[r]
        has[i, j] = True
        rest[i] = False
        pc = coded.rows[j]
        sel = np.flatnonzero(rest & is_indel)
        u, first = first_at(pc, np.flatnonzero(s.row_indel))
        k = _find(u, cand_pc[sel])
        sel, row = sel[k >= 0], first[k[k >= 0]]
        ok = s.ad_ok[row]
        sel, row = sel[ok], row[ok]
        cols = np.arange(s.ad_rows.shape[1])[None, :] < s.row_k[row][:, None]
        n = (s.ad_rows[row] * cols).sum(axis=1)
        gl = n[:, None] * lg[None, :]
        pl[sel, j] = np.rint(-10.0 * (gl - gl.max(axis=1, keepdims=True))).astype(np.int64)
        ad[sel, j, 0] = n
        ad[sel, j, 1] = 0
        has_ad[sel, j] = True
        dp[sel, j] = s.dp_rows[row]
        has[sel, j] = True
        rest[sel] = False
        sel = np.flatnonzero(rest)
        u, first = first_at(pc, np.arange(len(pc)))
        k = _find(u, cand_pc[sel])
        sel, row = sel[k >= 0], first[k[k >= 0]]
        rest[sel] = False
        star = s.row_star[row]
        sel, row, star = sel[star > 0], row[star > 0], star[star > 0]
        g1 = star * (star + 1) // 2
        pl[sel, j] = np.stack([s.pl_rows[row, 0], s.pl_rows[row, g1], s.pl_rows[row, g1 + star]], 1)
        ok = s.ad_ok[row]
        ad[sel[ok], j, 0] = s.ad_rows[row[ok], 0]
        ad[sel[ok], j, 1] = 0
        has_ad[sel, j] = ok
        dp[sel, j] = s.dp_rows[row]
        has[sel, j] = True
        for contig, (starts, ends, bpl, bdp) in s.blocks.items():
            c = coded.index.get(contig)
            if c is None:
                continue
            sel = np.flatnonzero(rest & (cand_contig == c))
            b = np.searchsorted(starts, cand_pos[sel], side="right") - 1
            ok = b >= 0
            ok[ok] = ends[b[ok]] > cand_pos[sel[ok]]
            sel, b = sel[ok], b[ok]
            pl[sel, j] = bpl[b]
            dp[sel, j] = bdp[b]
            has[sel, j] = True


def test_compiled_fill_is_the_numpy_fill(cohort):
    """The evidence of every sample at every allele any sample shows, and at every
    position with any record or block under every SNP and indel allele seen (the <*>,
    other-indel and block paths, and no data), from the compiled walk equals numpy's."""
    from biometal.io.bam import reference_contigs
    from biometal.variants.joint import _code, _fill

    d, gvcfs, _ = cohort
    samples = [read_evidence(p) for p in gvcfs]
    coded = _code(samples, reference_contigs(d / "ref.fa"))
    items = np.concatenate(coded.items)
    rows = np.concatenate(coded.rows)
    rng = np.random.default_rng(5)
    pcs = np.unique(
        np.concatenate([items // coded.n_pairs, rows, rng.integers(0, rows.max() + 50, 3000)])
    )
    pcs = pcs[pcs >= 0]
    ranks = rng.integers(0, coded.n_pairs, len(pcs))
    cand = np.unique(np.concatenate([items[items >= 0], pcs * coded.n_pairs + ranks]))
    cand_pc, cand_rank = np.divmod(cand, coded.n_pairs)
    cand_contig = np.searchsorted(coded.offsets, cand_pc, side="right") - 1
    is_indel = np.array([len(r) != len(a) for r, a in coded.pairs], bool)[cand_rank]
    assert is_indel.sum() > 100
    shape = (len(cand), len(samples))
    got = [np.zeros(shape + (3,), np.int64), np.zeros(shape + (2,), np.int64),
           np.zeros(shape, bool), np.zeros(shape, np.int64), np.zeros(shape, bool)]  # fmt: skip
    want = [x.copy() for x in got]
    _fill(samples, coded, cand, cand_pc, cand_contig, is_indel, 0.001, *got)
    _fill_numpy(samples, coded, cand, cand_pc, cand_contig, is_indel, 0.001, *want)
    for x, y in zip(got, want, strict=True):
        np.testing.assert_array_equal(x, y)
    assert 0.05 < got[4].mean() < 1  # data and no data both


def test_sample_columns_kernel_is_the_python_text():
    """format_samples writes what the per-sample f-string wrote (no data, AD missing,
    numbers of every width)."""
    from biometal.variants._kernels import format_samples

    rng = np.random.default_rng(4)
    m, n = 300, 7
    has, has_ad = rng.random((m, n)) < 0.8, rng.random((m, n)) < 0.7
    gt = rng.integers(0, 3, (m, n))
    gq, dp = rng.integers(0, 100, (m, n)), 10 ** rng.integers(0, 12, (m, n))
    ad = rng.integers(0, 10**9, (m, n, 2))
    pl = 10 ** rng.integers(0, 15, (m, n, 3)) - 1
    text, off = format_samples(has, gt, gq, dp, has_ad, ad, pl)
    got = text.tobytes().decode()
    gt_text = ("0/0", "0/1", "1/1")
    for i in range(m):
        cols = [
            f"{gt_text[gt[i, j]]}:{gq[i, j]}:{dp[i, j]}:"
            f"{f'{ad[i, j, 0]},{ad[i, j, 1]}' if has_ad[i, j] else '.'}:"
            f"{pl[i, j, 0]},{pl[i, j, 1]},{pl[i, j, 2]}"
            if has[i, j] else "./.:.:0:.:."
            for j in range(n)
        ]  # fmt: skip
        assert got[off[i] : off[i + 1]] == "\t".join(cols)


def test_record_lines_kernel_is_the_python_text():
    """format_records writes what the per-record f-string wrote: QUAL and AF tables of
    awkward floats, FILTER by the threshold, SNP / INS / DEL, numbers of every width."""
    from biometal.variants._kernels import format_records
    from biometal.variants.vcf import distinct_floats, text_table

    rng = np.random.default_rng(6)
    m = 400
    contigs = ["chr1", "HLA-A*01:01:01:01", "x"]
    pairs = [("A", "C"), ("G", "T"), ("A", "AT"), ("ACGT", "A"), ("CG", "TA")]
    odd = np.array([0.0, 1e-6, 0.004999, 0.005, 9.995, 10.0, 2999.999, 3000.0, 1 / 3, 12.345])
    qual = rng.choice(odd, m) * rng.choice([1.0, 1.0 + 1e-12], m)
    af = rng.choice(np.array([1e-6, 0.5, 1 - 1e-6, 0.123456, 1 / 16, 0.99995]), m)
    cidx, pos, rank = rng.integers(0, 3, m), 10 ** rng.integers(0, 10, m) - 1, rng.integers(0, 5, m)
    ac, an, dp, ns = (10 ** rng.integers(0, 12, m) for _ in range(4))
    kind = np.array([0 if len(r) == len(a) else 1 if len(a) > len(r) else 2 for r, a in pairs])
    cols = [f"0/1:{i}" for i in range(m)]
    s_txt, s_off = text_table(cols)
    q_u, q_i = distinct_floats(qual)
    f_u, f_i = distinct_floats(af)
    text, off = format_records(
        *text_table(contigs), cidx, pos, *text_table([f"{r}\t{a}" for r, a in pairs]), rank,
        *text_table([f"{x:.2f}" for x in q_u.tolist()]), q_i, qual >= 10.0,
        *text_table([f"{x:.4g}" for x in f_u.tolist()]), f_i, ac, an, dp, ns, kind[rank],
        s_txt, s_off,
    )  # fmt: skip
    want = []
    for i in range(m):
        ref, alt = pairs[rank[i]]
        kind_i = "SNP" if len(ref) == len(alt) else ("INS" if len(alt) > len(ref) else "DEL")
        flt = "PASS" if qual[i] >= 10.0 else "LowQual"
        info = f"AF={af[i]:.4g};AC={ac[i]};AN={an[i]};DP={dp[i]};NS={ns[i]};TYPE={kind_i}"
        want.append(
            f"{contigs[cidx[i]]}\t{pos[i] + 1}\t.\t{ref}\t{alt}\t{qual[i]:.2f}\t{flt}\t{info}\t"
            f"GT:GQ:DP:AD:PL\t{cols[i]}\n"
        )
    assert text.tobytes().decode() == "".join(want)
    assert off.tolist() == np.cumsum([0] + [len(x) for x in want]).tolist()


def test_skipped_candidates_are_never_records(cohort, tmp_path, monkeypatch):
    """Candidates where every sample with data favours 0/0 strictly skip EM and the
    posteriors (:func:`biometal.variants.joint._live`): the joint VCF is the one computed
    from every candidate, byte for byte, and candidates are skipped."""
    import gzip

    from biometal.variants import joint as J

    d, gvcfs, _ = cohort
    real, seen = J._live, []

    def counted(pl, has):
        live = real(pl, has)
        seen.append((len(live), len(pl)))
        return live

    monkeypatch.setattr(J, "_live", counted)
    joint_genotype(gvcfs, d / "ref.fa", tmp_path / "skip.vcf.gz")
    monkeypatch.setattr(J, "_live", lambda pl, has: np.arange(len(pl), dtype=np.int64))
    joint_genotype(gvcfs, d / "ref.fa", tmp_path / "all.vcf.gz")
    text = [gzip.decompress((tmp_path / n).read_bytes()) for n in ("skip.vcf.gz", "all.vcf.gz")]
    assert text[0] == text[1] and text[0].count(b"\n") > 100
    ((n_live, n_cand),) = seen
    assert 0 < n_live < n_cand


def _snp_records_with_and_without_rule(tmp_path, monkeypatch, ref_fa, site, samples, extra, key):
    """Write each sample's BAM (8 reads with the indel ``site``, ``n_ref`` REF reads, the
    ``extra`` reads) and gVCF, genotype them jointly with the misalignment rule and without
    it (:func:`biometal.variants.joint._misaligned` off): the number of records at the SNP
    ``key`` (0-based position, REF, ALT) in each joint VCF."""
    from indel_reads import alt_read, ref_read, write_bam

    from biometal.variants import joint as J

    p = site.pos
    gvcfs = []
    for s, n_ref in samples:
        reads = [alt_read(site, p - 30 - 7 * i) for i in range(8)]
        reads += [ref_read(site, p - 33 - 7 * i) for i in range(n_ref)]
        bam = write_bam(tmp_path / f"{s}.bam", len(site.seq), s, reads + extra)
        gvcfs.append(tmp_path / f"{s}.g.vcf.gz")
        write_gvcf(bam, ref_fa, gvcfs[-1], backend="cpu")

    def snp_records(out):
        with pysam.VariantFile(str(out)) as fh:
            return sum((r.pos - 1, r.ref, r.alts[0]) == key for r in fh)

    joint_genotype(gvcfs, ref_fa, tmp_path / "j.vcf.gz")
    with monkeypatch.context() as m:
        m.setattr(J, "_misaligned", lambda pc, *a: np.zeros(len(pc), bool))
        joint_genotype(gvcfs, ref_fa, tmp_path / "off.vcf.gz")
    return snp_records(tmp_path / "j.vcf.gz"), snp_records(tmp_path / "off.vcf.gz")


def test_snp_of_reads_misaligned_in_a_deletion_is_not_evidence(tmp_path, monkeypatch):
    """Reads ending inside a 2 bp deletion, aligned without it, show the bases the deletion
    brings there as a SNP (ART's reads did: 17 of 21 joint FPs on an 8-sample cohort).
    Four samples carry the deletion (three on both haplotypes, one on one), each with two
    such reads: the SNP is no record, since a sample's reads inside its own deletion are
    no evidence there; with that rule off the same gVCFs give a SNP record (so the test
    can fail)."""
    from indel_reads import READ, Site
    from indel_reads import reference as make_ref

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, seed=4)
    p = next(
        i for i in range(1500, 1700)
        if len(set(seq[i : i + 5])) == 4 and seq[i + 1] != seq[i + 3] and seq[i + 2] != seq[i + 4]
    )  # fmt: skip
    site = Site(seq, p, seq[p : p + 3], seq[p])
    hap = site.alt_hap

    def misaligned(end: int) -> tuple:
        start = end - READ  # the read's last base on reference position end - 1
        return start, hap[start:end], [(0, READ)]

    extra = [misaligned(p + 3), misaligned(p + 2)]
    key = (p + 1, seq[p + 1], seq[p + 3])  # 0-based position, REF, the shifted base
    with_rule, without = _snp_records_with_and_without_rule(
        tmp_path, monkeypatch, ref_fa, site, (("A", 0), ("B", 0), ("C", 0), ("D", 5)), extra, key
    )
    assert with_rule == 0
    assert without == 1


def test_snp_of_reads_starting_in_an_insertion_is_not_evidence(tmp_path, monkeypatch):
    """Reads starting inside a 3 bp insertion, aligned without it, show its last inserted
    base on the anchor (BAQ takes such a base's quality away in bcftools; ART's reads had
    them). Four samples carry the insertion, each with two such reads: no SNP record; with
    the rule off, the same gVCFs give one."""
    from indel_reads import READ, Site
    from indel_reads import reference as make_ref

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, seed=6)
    ins = "CTG"
    p = next(
        i for i in range(1500, 1700)
        if seq[i] not in "G" and seq[i + 1] not in "CG" and seq[i - 1] != "T"
        and len(set(seq[i - 3 : i + 3])) == 4
    )  # fmt: skip
    site = Site(seq, p, seq[p], seq[p] + ins)
    hap = site.alt_hap  # the inserted bases are hap[p + 1 : p + 4]

    def starts_inside(k: int) -> tuple:
        # the read's first base is hap[p + k] (an inserted base), aligned on reference
        # position p - (3 - k) so that the rest matches the reference after the anchor
        return p - (3 - k), hap[p + k : p + k + READ], [(0, READ)]

    extra = [starts_inside(3), starts_inside(2)]
    key = (p, seq[p], "G")  # the last inserted base on the anchor
    with_rule, without = _snp_records_with_and_without_rule(
        tmp_path, monkeypatch, ref_fa, site, (("A", 0), ("B", 0), ("C", 4), ("D", 5)), extra, key
    )
    assert with_rule == 0
    assert without == 1


def test_sample_names_are_not_paths(tmp_path):
    """An @RG SM with '/' and a space, or --samples '../x': the gVCF file names keep letters,
    digits and _.+- (the rest '_'), inside OUT's folder; the VCF keeps the names as given
    (a sub-folder was made, and '../x' wrote outside; third-party sweep)."""
    import gzip

    import pysam

    from biometal.cli import main

    rng = np.random.default_rng(3)
    ref = "".join(rng.choice(list("ACGT"), 300))
    (tmp_path / "ref.fa").write_text(f">c1\n{ref}\n")
    pysam.faidx(str(tmp_path / "ref.fa"))
    bams = []
    for name, sm in (("a.bam", "study1/pt 7"), ("b.bam", "s2")):
        header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 300}],
                  "RG": [{"ID": "g", "SM": sm}]}  # fmt: skip
        with pysam.AlignmentFile(str(tmp_path / name), "wb", header=header) as fh:
            for i in range(5):
                a = pysam.AlignedSegment(fh.header)
                a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, 10 * i
                a.cigarstring, a.mapping_quality = "50M", 60
                a.query_sequence, a.query_qualities = ref[10 * i : 10 * i + 50], [30] * 50
                a.set_tag("RG", "g")
                fh.write(a)
        pysam.index(str(tmp_path / name))
        bams.append(str(tmp_path / name))
    run = tmp_path / "run"
    run.mkdir()
    assert main(["joint", str(tmp_path / "ref.fa"), str(run / "j.vcf.gz"), *bams]) == 0
    assert sorted(p.name for p in run.iterdir() if p.name.endswith(".g.vcf.gz")) == [
        "s2.g.vcf.gz", "study1_pt_7.g.vcf.gz"]  # fmt: skip
    header = [x for x in gzip.open(run / "j.vcf.gz", "rt") if x.startswith("#CHROM")][0]
    assert header.rstrip("\n").split("\t")[9:] == ["study1/pt 7", "s2"]
    out2 = run / "j2.vcf.gz"
    assert main(["joint", "--samples", "../x,y", str(tmp_path / "ref.fa"), str(out2), *bams]) == 0
    assert (run / "_x.g.vcf.gz").exists() and not (tmp_path / "x.g.vcf.gz").exists()
    assert main(["joint", "--samples", "a/b,a b", str(tmp_path / "ref.fa"), str(out2), *bams]) == 1
