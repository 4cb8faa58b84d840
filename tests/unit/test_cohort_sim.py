"""Simulated cohort: truth genotypes agree across files, the allele frequencies follow the
neutral spectrum (many rare), reads follow each sample's haplotypes, reruns are identical."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pysam
import pytest

from biometal.errors import ConfigError
from biometal.simulate import simulate_reference
from biometal.simulate.cohort import neutral_frequencies, simulate_cohort

SAMPLES = ["A1", "A2", "A3"]


def run(tmp, seed=11, **kw):
    ref0 = tmp / "ref0.fa"
    if not ref0.exists():
        simulate_reference(ref0, f"{ref0}.fai", n_contigs=2, total_length=60_000, seed=3)
    out = tmp / f"run{seed}"
    out.mkdir(exist_ok=True)
    kw = {"region_length": 40_000, "coverage": 4, **kw}
    summary = simulate_cohort(
        ref0, out / "ref.fa", out / "truth.vcf.gz", SAMPLES, out, seed=seed, **kw
    )
    return out, summary


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return run(tmp_path_factory.mktemp("cohort"))


def test_truth_files_agree(cohort):
    out, summary = cohort
    fa = pysam.FastaFile(str(out / "ref.fa"))
    assert sum(fa.lengths) == 40_000
    with pysam.VariantFile(str(out / "truth.vcf.gz")) as fh:
        assert list(fh.header.samples) == SAMPLES
        multi = {}
        for r in fh:
            gts = [r.samples[s]["GT"] for s in SAMPLES]
            assert any(any(g) for g in gts), "every site is carried by a sample"
            assert r.info["AC"][0] == sum(sum(g) for g in gts)
            assert fa.fetch(r.chrom, r.start, r.stop) == r.ref
            multi[(r.chrom, r.pos, r.ref, r.alts[0])] = gts
    assert len(multi) == summary["sites"] > 50
    for j, s in enumerate(SAMPLES):
        with pysam.VariantFile(str(out / f"{s}.truth.vcf.gz")) as fh:
            mine = {(r.chrom, r.pos, r.ref, r.alts[0]): r.samples[0]["GT"] for r in fh}
        want = {k: g[j] for k, g in multi.items() if any(g[j])}
        assert mine == want
        assert summary["samples"][s]["variants"] == len(want)


def test_reads_carry_the_samples_alleles(cohort):
    """A sample's hom-alt SNPs appear in its reads' haplotypes, not in a non-carrier's."""
    out, _ = cohort
    hap = pysam.FastaFile(str(out / "A1.hap.fa"))
    assert set(hap.references) == {"chr1_hap1", "chr1_hap2", "chr2_hap1", "chr2_hap2"}
    with gzip.open(out / "A1_R1.fastq.gz", "rt") as fh:
        n = sum(1 for _ in fh) // 4
    assert n * 2 * 150 == pytest.approx(4 * 40_000, rel=0.05)


def test_frequencies_follow_the_neutral_spectrum():
    rng = np.random.default_rng(1)
    f = neutral_frequencies(rng, 200_000, 100)
    i = np.rint(f * 100).astype(int)
    assert i.min() == 1 and i.max() == 99
    counts = np.bincount(i, minlength=100)[1:]
    expected = (1 / np.arange(1, 100)) / (1 / np.arange(1, 100)).sum() * len(f)
    assert np.abs(counts[:10] / expected[:10] - 1).max() < 0.05
    assert (f < 0.05).mean() > 0.4  # many rare alleles


def test_rerun_is_identical_and_seed_matters(tmp_path):
    def digest(d):
        return hashlib.sha256((d / "truth.vcf.gz").read_bytes()).hexdigest()

    a, _ = run(tmp_path, seed=5)
    b_dir = tmp_path / "again"
    b_dir.mkdir()
    summary = simulate_cohort(
        tmp_path / "ref0.fa", b_dir / "ref.fa", b_dir / "truth.vcf.gz", SAMPLES, b_dir,
        region_length=40_000, coverage=4, seed=5,
    )  # fmt: skip
    assert digest(a) == digest(b_dir)
    assert (a / "A2_R1.fastq.gz").read_bytes() == (b_dir / "A2_R1.fastq.gz").read_bytes()
    c, _ = run(tmp_path, seed=6)
    assert digest(c) != digest(a)
    assert summary["singletons"] > 0


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"pop_haplotypes": 1}, "pop_haplotypes"),
        ({"snp_rate": 0.5}, "snp_rate"),
        ({"region_length": 10}, "region_length"),
    ],
)
def test_bad_config(tmp_path, kw, match):
    with pytest.raises(ConfigError, match=match):
        run(tmp_path, **kw)


def test_duplicate_samples(tmp_path):
    with pytest.raises(ConfigError, match="distinct"):
        simulate_cohort(
            tmp_path / "r.fa", tmp_path / "c.fa", tmp_path / "t.vcf.gz", ["a", "a"], tmp_path,
            seed=1,
        )  # fmt: skip
