"""gVCF per sample: bcftools accepts it (view, norm, convert --gvcf2vcf), its calls are the
single-sample caller's, its blocks tile the covered reference without overlaps, and the
block statistics are the kernel's."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pysam
import pytest
from biometal.kernels.site_stats import site_stats
from hypothesis import given, settings
from hypothesis import strategies as st
from variant_data import dataset, third_party_bams

from biometal.errors import BiometalError
from biometal.pileup import PileupParams, pileup_arrays
from biometal.variants import sitestats as S
from biometal.variants.call import call_variants
from biometal.variants.gvcf import GvcfParams, pl_three_alleles, ref_blocks, write_gvcf

BCFTOOLS = shutil.which("bcftools")
needs_bcftools = pytest.mark.skipif(BCFTOOLS is None, reason="bcftools not installed")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return dataset(tmp_path_factory.getbasetemp() / "variant_data")


@pytest.fixture(scope="module")
def gvcf(sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("gvcf") / "S1.g.vcf.gz"
    stats = write_gvcf(sim.bam, sim.reference, out, backend="cpu")
    return out, stats


def records(path):
    with pysam.VariantFile(str(path)) as fh:
        return list(fh)


@needs_bcftools
def test_bcftools_accepts_the_gvcf(gvcf, sim, tmp_path):
    path, _ = gvcf
    assert path.exists() and (path.parent / (path.name + ".tbi")).exists()
    recs = records(path)
    n = len(recs)
    expanded = sum(r.stop - r.start if r.alts == ("<*>",) else 1 for r in recs)
    view = subprocess.run([BCFTOOLS, "view", "-H", str(path)], capture_output=True, text=True)
    assert view.returncode == 0, view.stderr
    assert len(view.stdout.splitlines()) == n
    norm = subprocess.run(
        [BCFTOOLS, "norm", "-f", str(sim.reference), "-Ov", "-o", str(tmp_path / "n.vcf"),
         str(path)], capture_output=True, text=True,
    )  # fmt: skip
    assert norm.returncode == 0, norm.stderr
    assert "total/split/realigned/skipped" in norm.stderr
    # the blocks expand into one record per position (END understood)
    conv = subprocess.run(
        [BCFTOOLS, "convert", "--gvcf2vcf", "-f", str(sim.reference), str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert conv.returncode == 0, conv.stderr
    body = [x for x in conv.stdout.splitlines() if not x.startswith("#")]
    assert len(body) == expanded > 2 * n


def test_records_tile_without_overlap_and_blocks_cover_the_pileup(gvcf, sim):
    path, stats = gvcf
    recs = records(path)
    covered: dict[str, np.ndarray] = {}
    last = {}
    for r in recs:
        assert r.pos >= last.get(r.chrom, 0), "sorted"
        last[r.chrom] = r.pos
        if r.alts == ("<*>",):
            arr = covered.setdefault(r.chrom, np.zeros(100_000, np.int8))
            assert r.stop > r.start  # pysam's stop follows END
            assert (arr[r.start : r.stop] == 0).all(), f"overlapping block at {r.chrom}:{r.pos}"
            arr[r.start : r.stop] = 1
    fa = pysam.FastaFile(str(sim.reference))
    site_pos = {(r.chrom, r.start) for r in recs if r.alts != ("<*>",)}
    for contig in fa.references:
        counts, _ = pileup_arrays(sim.bam, contig, PileupParams(), reference=sim.reference)
        seq = np.frombuffer(fa.fetch(contig).upper().encode(), np.uint8)
        has_reads = counts[:, :24].any(axis=1) & np.isin(seq, list(b"ACGT"))
        cov = covered[contig][: len(seq)].astype(bool)
        # nearly every position with reads is in a block or a record (positions between
        # pileup blocks have no data)
        sites = np.zeros(len(seq), bool)
        for c, p in site_pos:
            if c == contig:
                sites[p] = True
        missing = has_reads & ~cov & ~sites
        assert missing.sum() <= 0.01 * has_reads.sum(), (contig, int(missing.sum()))
    assert stats["blocks"] > 0 and stats["sites"] > 0 and stats["positions"] > 50_000


def test_non_reference_calls_are_the_single_sample_callers(gvcf, sim, tmp_path):
    path, _ = gvcf
    single = tmp_path / "calls.vcf.gz"
    call_variants(sim.bam, sim.reference, single)

    def called(p):
        out = set()
        for r in records(p):
            gt = r.samples[0]["GT"]
            if r.alts == ("<*>",) or not any(a for a in gt if a):
                continue
            alt = r.alts[0]
            out.add((r.chrom, r.pos, r.ref, alt, tuple(sorted(gt)), r.filter.keys()[0]))
        return out

    ours, theirs = called(path), called(single)
    snp = [{x for x in c if len(x[2]) == len(x[3])} for c in (ours, theirs)]
    assert len(snp[0]) > 50
    assert snp[0] == snp[1]
    # indels: genotyped from the reads that span them (not from the pileup's events), so
    # at least as many of them as the single-sample caller's are true, genotype included
    truth = {}
    for r in records(sim.truth):
        gt = r.samples[0]["GT"]
        if len(r.ref) != len(r.alts[0]) and any(gt):
            truth[(r.chrom, r.pos, r.ref, r.alts[0])] = tuple(sorted(gt))
    found = []
    for c in (ours, theirs):
        indels = {x[:4]: x[4] for x in c if len(x[2]) != len(x[3]) and x[5] == "PASS"}
        found.append(
            (sum(k in truth for k in indels), sum(truth.get(k) == g for k, g in indels.items()))
        )
    assert found[0][0] >= found[1][0] > 5, found
    assert found[0][1] >= found[1][1], found


def test_block_statistics_are_the_kernels(gvcf, sim):
    """A block's GQ / MIN_DP are the minima of the kernel's values over its positions (a
    block cut around an indel's REF keeps the whole block's, lower, values)."""
    path, _ = gvcf
    fa = pysam.FastaFile(str(sim.reference))
    contig = fa.references[0]
    counts, _ = pileup_arrays(sim.bam, contig, PileupParams(), reference=sim.reference)
    lut = np.full(256, 4, np.uint8)
    for i, b in enumerate(b"ACGT"):
        lut[b] = i
    codes = lut[np.frombuffer(fa.fetch(contig).upper().encode(), np.uint8)]
    st_ = site_stats(np.ascontiguousarray(counts), codes, backend="cpu")
    n = exact = 0
    for r in records(path):
        if r.chrom != contig or r.alts != ("<*>",):
            continue
        s = r.samples[0]
        gq = st_.column("ref_gq")[r.start : r.stop].min()
        min_dp = st_.column("depth")[r.start : r.stop].min()
        assert s["GQ"] <= gq and s["MIN_DP"] <= min_dp
        assert min(s["PL"]) == 0 and (s["PL"][0] == 0 or s["GQ"] == 0)
        n += 1
        exact += s["GQ"] == gq and s["MIN_DP"] == min_dp
    assert n > 100 and exact >= 0.98 * n


def test_ref_blocks_bands_and_excluded_runs():
    """Runs break at band changes and at excluded rows; an excluded row never leaks its
    statistics into the run before it."""
    gq = np.array([30, 31, 35, 12, 12, 0, 40, 40], np.int32)
    dp = np.array([10, 11, 12, 4, 5, 9, 13, 14], np.int32)
    pl = np.zeros((8, 3), np.int32)
    pl[:, 1] = gq
    pl[:, 2] = gq * 10
    pl[5] = [300, 30, 0]  # a hom-alt row, excluded (it has a site record)
    mask = np.ones(8, bool)
    mask[5] = False
    b = ref_blocks(100, b"ACGTACGT", mask, gq, dp, pl, (1, 10, 20, 30, 40))
    assert b.start.tolist() == [100, 103, 106]
    assert b.end.tolist() == [103, 105, 108]
    assert b.gq.tolist() == [30, 12, 40]
    assert b.min_dp.tolist() == [10, 4, 13]
    assert b.dp.tolist() == [11, 4, 14]  # rounded mean (4.5 -> 4, banker's rounding)
    assert b.pl.tolist() == [[0, 30, 300], [0, 12, 120], [0, 40, 400]]
    assert bytes(b.base).decode() == "ATG"


@settings(max_examples=60, deadline=None)
@given(
    n=st.lists(st.integers(0, 60), min_size=3, max_size=3),
    q=st.lists(st.integers(2, 41), min_size=3, max_size=3),
    snp=st.booleans(),
)
def test_six_pls_extend_the_biallelic_pls(n, q, snp):
    """PL[0/0, 0/1, 1/1] of the (REF, X, <*>) model == sitestats' biallelic PL (up to the
    rounding of the two normalisations)."""
    counts = np.array([n])
    if not snp:
        counts[0, 2] = 0
    e = S.phred_to_error(np.array([q], float))
    six = pl_three_alleles(counts, e, snp=snp)[0]
    gl = S.genotype_log10_likelihoods(counts[:, 0], counts[:, 1], e[:, 0], e[:, 1], snp=snp)
    three = S.phred_likelihoods(gl)[0]
    assert six.min() == 0
    assert np.abs((six[:3] - six[:3].min()) - three).max() <= 1


def _ref_blocks_numpy(start, ref_seq, mask, ref_gq, depth, pl, bands):
    """ref_blocks by numpy's run reductions (reduceat over every run, then the kept)."""
    band = np.searchsorted(np.asarray(bands), ref_gq, side="right")
    key = np.where(mask, band, -1)
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(key) != 0) + 1, [len(key)]])
    lo, hi = bounds[:-1], bounds[1:]
    keep = key[lo] >= 0 if len(key) else np.zeros(0, bool)
    if not keep.any():
        e = np.zeros(0, np.int64)
        return e, e, e, e, e, np.zeros((0, 3), np.int64), np.zeros(0, np.uint8)

    def per_run(ufunc, x):
        return ufunc.reduceat(x.astype(np.int64), lo)[keep]

    gq, min_dp = per_run(np.minimum, ref_gq), per_run(np.minimum, depth)
    dp = np.rint(per_run(np.add, depth) / (hi - lo)[keep]).astype(np.int64)
    bpl = np.stack([per_run(np.minimum, pl[:, j]) for j in range(3)], axis=1)
    bpl -= bpl.min(axis=1, keepdims=True)
    lo, hi = lo[keep], hi[keep]
    base = np.frombuffer(ref_seq, np.uint8)[lo]
    return start + lo, start + hi, gq, dp, min_dp, bpl, base


def test_ref_blocks_compiled_is_numpys_run_reductions():
    """The compiled run loop of ref_blocks equals numpy's reductions on random rows: masks
    with gaps at both ends, GQ across every band edge, depths whose mean ends in .5."""
    rng = np.random.default_rng(11)
    bands = (1, 5, 10, 20, 30, 40, 50, 60, 99)
    for n in (0, 1, 2, 7, 300, 5000):
        for p_mask in (0.0, 0.5, 0.97, 1.0):
            mask = rng.random(n) < p_mask
            ref_gq = rng.choice([0, 1, 4, 5, 9, 10, 19, 20, 59, 60, 98, 99], n)
            ref_gq[rng.random(n) < 0.6] = 30  # long runs in one band
            depth = rng.integers(0, 40, n)
            pl = rng.integers(0, 500, (n, 3))
            seq = bytes(rng.choice(list(b"ACGT"), n).tolist()) if n else b""
            got = ref_blocks(7, seq, mask, ref_gq, depth, pl, bands)
            want = _ref_blocks_numpy(7, seq, mask, ref_gq, depth, pl, bands)
            names = ("start", "end", "gq", "dp", "min_dp", "pl", "base")
            for name, w in zip(names, want, strict=True):
                assert np.array_equal(getattr(got, name), w), (n, p_mask, name)


def _six_pls_naive(n, e, snp):
    """The six PLs with every P(class | genotype) computed and logged on its own."""
    n = np.asarray(n, dtype=np.float64)
    e = np.clip(np.asarray(e, dtype=np.float64), S.MIN_ERROR, 0.75)
    div = 3.0 if snp else 1.0
    p = np.empty((len(n), 3, 3))
    for c in range(2):
        p[:, c, :] = (e[:, c] / div)[:, None]
        p[:, c, c] = 1.0 - e[:, c]
    other = 2.0 * e[:, 2] / div if snp else e[:, 2]
    p[:, 2, :2] = other[:, None]
    p[:, 2, 2] = 1.0 - other
    gl = np.empty((len(n), 6))
    for g, (a1, a2) in enumerate(((0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2))):
        prob = 0.5 * (p[:, :, a1] + p[:, :, a2])
        gl[:, g] = (n * np.log10(np.maximum(prob, 1e-300))).sum(axis=1)
    return S.phred_likelihoods(gl)


def test_six_pls_log_each_distinct_probability_once():
    """pl_three_alleles logs each distinct P(class | genotype) once: the same PLs, bit for
    bit, as logging all eighteen, over random counts and error rates (clip bounds too)."""
    rng = np.random.default_rng(5)
    for scale in (3, 30, 300, 5000):
        n = rng.integers(0, scale, (20_000, 3))
        e = 10 ** -rng.uniform(0, 6, (20_000, 3))
        e[rng.random(e.shape) < 0.1] = rng.choice([0.0, 1e-12, 0.5, 0.75, 1.0])
        for snp in (True, False):
            assert np.array_equal(pl_three_alleles(n, e, snp=snp), _six_pls_naive(n, e, snp))


def test_missing_bam_and_bad_params(tmp_path, sim):
    with pytest.raises(BiometalError, match="nope.bam"):
        write_gvcf(tmp_path / "nope.bam", sim.reference, tmp_path / "x.g.vcf.gz")
    assert not (tmp_path / "x.g.vcf.gz").exists()
    with pytest.raises(BiometalError, match="gq_bands"):
        GvcfParams(gq_bands=(10, 5))


@needs_bcftools
def test_third_party_bam(tmp_path):
    """samtools' example reads (real 35 bp Illumina reads): a valid gVCF."""
    bams = third_party_bams(tmp_path / "tp")
    if "ex1" not in bams:
        pytest.skip("samtools examples not installed")
    bam, fa = bams["ex1"]
    out = tmp_path / "ex1.g.vcf.gz"
    write_gvcf(bam, fa, out, backend="cpu")
    norm = subprocess.run(
        [BCFTOOLS, "norm", "-f", str(fa), "-Ou", "-o", "/dev/null", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert norm.returncode == 0, norm.stderr
    assert len(records(out)) > 10


def _indel_records(path):
    return {
        (r.pos - 1, r.ref, r.alts[0]): r
        for r in records(path)
        if r.alts[0] != "<*>" and len(r.ref) != len(r.alts[0])
    }


def test_indel_read_counts_are_the_reads_haplotypes(tmp_path):
    """Reads cut from known haplotypes: a sample with one ALT read in its CIGAR and one
    soft-clipped ALT read among 12 (no call of its own) gets a 0/0 indel record
    with AD = its REF reads, both ALT reads; in a homopolymer, REF reads that end inside
    the run count for neither allele (they would fit the ALT as well)."""
    from indel_reads import READ, Site, alt_read, clipped_alt_read, ref_read, write_bam
    from indel_reads import reference as make_ref

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, insert={2000: "CGTAAAAAAGCT"})
    from biometal.variants.normalize import normalize

    # a 2 bp deletion outside any repeat: the first position where it cannot shift
    p = next(i for i in range(1200, 1300) if seq[i + 1] != seq[i + 3] and seq[i] != seq[i + 2])
    dele = Site(seq, p, seq[p : p + 3], seq[p])
    ins = Site(seq, 2002, "T", "TA")  # one more A in AAAAAA (2003-2008), left-aligned
    for s in (dele, ins):  # the sites are normalised, as the gVCF writes them
        assert normalize(s.pos, s.ref, s.alt, lambda i: seq[i]) == (s.pos, s.ref, s.alt)
    reads = [ref_read(dele, p - 30 - 6 * i) for i in range(10)]
    reads += [alt_read(dele, p - 40), clipped_alt_read(dele, 12)]
    reads += [ref_read(ins, 2002 - 40 - 5 * i) for i in range(4)]  # span the run
    reads += [alt_read(ins, 2002 - 50 - 3 * i) for i in range(4)]
    reads += [ref_read(ins, 2005 - READ + k) for k in (0, 1, 2)]  # end inside the run
    bam = write_bam(tmp_path / "B.bam", len(seq), "B", reads)
    out = tmp_path / "B.g.vcf.gz"
    write_gvcf(bam, ref_fa, out, backend="cpu")
    got = _indel_records(out)
    r = got[(dele.pos, dele.ref, dele.alt)]
    assert r.samples[0]["GT"] == (0, 0)  # one indel event: not called alone
    assert r.samples[0]["AD"] == (10, 2, 0)
    assert r.samples[0]["PL"][1] < r.samples[0]["PL"][0]  # yet het is likelier than 0/0
    r = got[(ins.pos, ins.ref, ins.alt)]
    assert r.samples[0]["AD"] == (4, 4, 0)
    assert r.samples[0]["GT"] == (0, 1)


def _indel_alleles(bam, fa):
    """Every indel allele a read's CIGAR shows, per contig, as write_gvcf collects them."""
    from biometal.pileup.engine import iter_pileup
    from biometal.variants.call import CallParams, _Reference, call_indels

    ref = _Reference(str(fa))
    out: dict[str, set] = {}
    for block in iter_pileup(bam, PileupParams(), reference=fa):
        for r in call_indels(block, ref, CallParams(), evidence_min_alt=1):
            out.setdefault(block.contig, set()).add((r.pos, r.ref, r.alt))
    return ref, {c: sorted(v) for c, v in out.items()}


@pytest.mark.parametrize("window", [50_000, 300])
def test_compiled_indel_support_is_indel_read_support(tmp_path, sim, window, monkeypatch):
    """The gVCF's read support (reads loaded once per window by the project's BAM reader,
    compiled per-read loop) equals the single-sample caller's indel_read_support (pysam
    fetch per locus, Python loop) on
    the simulated sample and on samtools' real reads (pairs, clips, missing qualities);
    a small window makes loci share and split read windows."""
    import biometal.variants.gvcf as G
    from biometal.variants.call import indel_read_support

    monkeypatch.setattr(G, "_READ_WINDOW", window)
    cases = [(sim.bam, sim.reference)]
    bams = third_party_bams(tmp_path / "tp")
    cases += [bams[k] for k in ("toy", "ex1") if k in bams]
    n = 0
    for bam, fa in cases:
        ref, alleles = _indel_alleles(bam, fa)
        with pysam.AlignmentFile(str(bam)) as aln:
            for contig, al in alleles.items():
                for params in (PileupParams(), PileupParams(min_mapq=20, min_baseq=20)):
                    want = indel_read_support(aln, ref, contig, al, params)
                    got = G.indel_support(bam, ref, contig, al, params)
                    np.testing.assert_array_equal(got, want)
                    n += int(want[:, :4].sum())
    assert n > 1000  # reads were counted


def _site_values_reference(ref_codes, counts, st, params, gparams):
    """The site rows' numbers as the gVCF writer computed them in numpy, every row on its
    own (the reference for :func:`biometal.variants.gvcf._site_values`, which computes the
    PLs once per distinct counts and quality sums)."""
    from biometal.variants.gvcf import pl_three_alleles

    ints = st.ints
    rows = np.flatnonzero((ref_codes < 4) & (ints[:, 2] >= gparams.evidence_min_alt))
    c = counts[rows].astype(np.int64)
    acgt = c[:, 0:4] + c[:, 5:9]
    qs = c[:, 18:22]
    r = ref_codes[rows].astype(np.int64)
    a = ints[rows, 0].astype(np.int64)
    k = np.arange(len(rows))
    n_ref, n_x = acgt[k, r], acgt[k, a]
    depth = ints[rows, 3].astype(np.int64)
    n_o = depth - n_ref - n_x
    q_o = qs.sum(axis=1) - qs[k, r] - qs[k, a]
    e = np.stack(
        [S.mean_error(qs[k, r], n_ref), S.mean_error(qs[k, a], n_x), S.mean_error(q_o, n_o)],
        axis=1,
    )
    pl6 = pl_three_alleles(np.stack([n_ref, n_x, n_o], axis=1), e)
    return rows, (r, a, n_ref, n_x, n_o, depth, pl6)


@pytest.mark.parametrize("one_quality", [False, True])
def test_site_values_are_the_per_row_values(sim, one_quality):
    """The site records' numbers (PLs once per distinct counts and quality sums, read
    counts by a compiled gather) equal numpy's row by row, on the simulated sample's
    pileup and with every base quality 17 (wgsim's: the values repeat)."""
    from itertools import islice

    from biometal.pileup import iter_pileup
    from biometal.variants.call import CallParams
    from biometal.variants.gvcf import _REF_LUT, _site_values

    fa = pysam.FastaFile(str(sim.reference))
    params = CallParams()
    n = 0
    for block in islice(iter_pileup(sim.bam, PileupParams(), reference=sim.reference), 3):
        seq = fa.fetch(block.contig, block.start, block.end).upper()
        codes = _REF_LUT[np.frombuffer(seq.encode(), np.uint8)]
        counts = np.ascontiguousarray(block.counts, dtype=np.uint32)
        if one_quality:
            counts[:, 18:22] = 17 * (counts[:, 0:4] + counts[:, 5:9])
        st = site_stats(counts, codes, theta=params.theta, rho=params.overdispersion)
        for gparams in (GvcfParams(), GvcfParams(evidence_min_alt=2)):
            rows, got = _site_values(codes, counts, st, params, gparams)
            rows_ref, want = _site_values_reference(codes, counts, st, params, gparams)
            assert np.array_equal(rows, rows_ref)
            for x, y in zip(got[:7], want, strict=True):
                assert np.array_equal(x, y)
            n += len(rows)
    assert n > 1000


def _site_lines_reference(contig, block_start, ref_codes, counts, st, params, gparams):
    """The site records as the gVCF writer formatted them in Python, line by line (the
    reference the compiled formatting is held to), from the same numbers
    (:func:`biometal.variants.gvcf._site_values`)."""
    from biometal.variants.gvcf import _site_values

    ints, floats = st.ints, st.floats
    rows, v = _site_values(ref_codes, counts, st, params, gparams)
    if v is None:
        return rows, []
    r, a, n_ref, n_x, n_o, depth, pl6, called = v
    max_bbq = float(S.pvalue_to_phred(np.array([params.max_error_pvalue]))[0])
    low_bbq = (floats[rows, 2] < max_bbq).tolist()
    gq_l = np.where(called, ints[rows, 8], ints[rows, 9]).tolist()
    gt_l = np.where(called, ints[rows, 7], 0).tolist()
    out = []
    for i, (pos, cl, g, gq, qual, binq, bbq, low, d) in enumerate(
        zip((block_start + rows).tolist(), called.tolist(), gt_l, gq_l,
            floats[rows, 0].tolist(), floats[rows, 1].tolist(), floats[rows, 2].tolist(),
            low_bbq, depth.tolist(), strict=True)
    ):  # fmt: skip
        flt = "."
        if cl:
            f = (["LowQual"] if qual < params.min_qual else []) + (["ErrorLike"] if low else [])
            flt = ";".join(f) or "PASS"
        nr, nx, no, pl = int(n_ref[i]), int(n_x[i]), int(n_o[i]), pl6[i].tolist()
        out.append(
            f"{contig}\t{pos + 1}\t.\t{'ACGT'[r[i]]}\t{'ACGT'[a[i]]},<*>\t"
            f"{'.' if qual != qual else f'{max(qual, 0.0) + 0.0:.2f}'}\t{flt}\t"
            f"DP={d};AF={round(nx / d, 4) if d else 0.0:.4g};TYPE=SNP;"
            f"BINOMQ={binq:.4g};BBQ={bbq:.4g}\tGT:GQ:DP:AD:PL\t{('0/0', '0/1', '1/1')[g]}:{gq}:"
            f"{d}:{nr},{nx},{no}:{pl[0]},{pl[1]},{pl[2]},{pl[3]},{pl[4]},{pl[5]}\n"
        )
    return rows, out


def test_compiled_site_lines_are_the_python_formatting(sim):
    """The site records' text (QUAL, FILTER, INFO formatted once per distinct value, the
    lines by a compiled loop) equals Python's formatting line by line, on the simulated
    sample's pileup and with its floats replaced by awkward values (-0.0, 0.005, 1e-5,
    huge, nan, values at the LowQual / ErrorLike thresholds)."""
    from biometal.variants.call import CallParams
    from biometal.variants.gvcf import _REF_LUT, _concat_sites, _site_lines, _site_text

    fa = pysam.FastaFile(str(sim.reference))
    params, gparams = CallParams(), GvcfParams()
    rng = np.random.default_rng(3)
    kept: dict[str, list] = {}
    awkward = np.array(
        [-0.0, 0.0, 0.005, 0.015, 1e-5, 19.995, 20.0, 3000.0, 1e30, np.nan, 12.3456], np.float32
    )
    from itertools import islice

    from biometal.pileup import iter_pileup

    n = 0
    for block in islice(iter_pileup(sim.bam, PileupParams(), reference=sim.reference), 3):
        seq = fa.fetch(block.contig, block.start, block.end).upper()
        codes = _REF_LUT[np.frombuffer(seq.encode(), np.uint8)]
        counts = np.ascontiguousarray(block.counts, dtype=np.uint32)
        st0 = site_stats(
            counts, codes, theta=params.theta, rho=params.overdispersion, backend="cpu"
        )
        for trial in range(2):
            floats = st0.floats.copy()
            if trial:
                floats[:] = rng.choice(awkward, floats.shape)
            st = type(st0)(st0.ints, floats)
            rows, sites = _site_lines(block.contig, block.start, codes, counts, st, params, gparams)
            rows_ref, want = _site_lines_reference(
                block.contig, block.start, codes, counts, st, params, gparams
            )
            assert np.array_equal(rows, rows_ref)
            text, off = _site_text(block.contig, sites)
            got = [text[a:b].tobytes().decode() for a, b in zip(off[:-1], off[1:], strict=True)]
            assert got == want
            n += len(want)
            kept.setdefault(block.contig, []).append((sites, want))
    assert n > 1000
    # several blocks' records as one (tables end to end, entries renumbered): the same lines
    for contig, parts in kept.items():
        text, _ = _site_text(contig, _concat_sites([x for x, _ in parts]))
        assert text.tobytes().decode() == "".join(line for _, w in parts for line in w)
    assert max(len(x) for x in kept.values()) >= 2


def test_low_quality_reads_of_an_insertion_go_to_its_true_sequence(tmp_path):
    """wgsim's reads (every base quality 17, under HAP_MARGIN): nine reads of a 3 bp
    insertion and one whose inserted bases carry a sequencing error. No read is
    unambiguous between the two insertion alleles, so each goes to the allele more reads
    match best: all ten to the true one (they went to the first allele, the error's, which
    then was called 1/1 in its place), the same in the compiled and the Python counts."""
    import pysam
    from indel_reads import Site, alt_read, write_bam
    from indel_reads import reference as make_ref

    from biometal.pileup import PileupParams
    from biometal.variants.call import _Reference, indel_read_support
    from biometal.variants.gvcf import indel_support

    ref_fa = tmp_path / "ref.fa"
    seq = make_ref(ref_fa, seed=21)
    # left-aligned as they are (an insertion ending in G after a G would shift left)
    p = next(i for i in range(1500, 1600) if seq[i] != "G")
    true = Site(seq, p, seq[p], seq[p] + "CTG")
    error = Site(seq, p, seq[p], seq[p] + "CGG")
    reads = [alt_read(true, p - 30 - 6 * i) for i in range(9)] + [alt_read(error, p - 50)]
    bam = write_bam(tmp_path / "W.bam", len(seq), "W", reads, quality="2")
    alleles = sorted([(p, error.ref, error.alt), (p, true.ref, true.alt)])
    assert alleles[0][2] == error.alt  # the error's allele first, as it sorts
    ref = _Reference(str(ref_fa))
    compiled = indel_support(bam, ref, "chrT", alleles, PileupParams())
    python = indel_read_support(pysam.AlignmentFile(str(bam)), ref, "chrT", alleles, PileupParams())
    np.testing.assert_array_equal(compiled, python)
    assert compiled[0, 2] + compiled[0, 3] == 0  # the error's allele: no read
    assert compiled[1, 2] + compiled[1, 3] == 10  # the true insertion: all ten
    out = tmp_path / "W.g.vcf.gz"
    write_gvcf(bam, ref_fa, out, backend="cpu")
    got = _indel_records(out)
    assert (p, error.ref, error.alt) not in got
    assert got[(p, true.ref, true.alt)].samples[0]["GT"] == (1, 1)


def test_gvcf_index_is_htslibs(gvcf, tmp_path):
    """The gVCF's .tbi, built from the intervals the writer knows (a block's END, a
    record's REF span) and not parsed from its text, equals htslib's index of the file."""
    from pathlib import Path

    from test_tabix import htslib_index, parse_tbi

    path, stats = gvcf
    assert stats["indels"] > 0 and stats["blocks"] > 1000
    assert parse_tbi(Path(f"{path}.tbi")) == parse_tbi(htslib_index(path, tmp_path))


def test_group_rows_is_numpy_unique():
    """The hash grouping of the site records' value tables: the same distinct rows as
    np.unique (each at its first occurrence) and an index that maps them back to every
    row, for narrow and wide, small and huge, negative and repeated keys."""
    from biometal.variants._kernels import group_rows

    rng = np.random.default_rng(3)
    for width in (1, 2, 6):
        for top in (1, 3, 40, 10**6, 2**62):
            keys = rng.integers(-top, top, (5000, width)) if top > 1 else np.zeros((5000, width))
            keys = np.ascontiguousarray(keys, dtype=np.int64)
            first, inv = group_rows(keys)
            _, idx = np.unique(keys, axis=0, return_index=True)
            assert np.array_equal(np.sort(first), np.sort(idx)) and np.all(np.diff(first) > 0)
            assert np.array_equal(keys[first][inv], keys)
    first, inv = group_rows(np.zeros((0, 2), np.int64))
    assert len(first) == 0 and len(inv) == 0
