"""A simulated cohort: N diploid samples drawn from one population's variant sites.

Sites: SNPs and indels placed and normalised as :func:`biometal.simulate.simulate_variants`
places them (same per-bp rates, non-overlapping, left-aligned), on the first
``region_length`` bp of a reference (the cohort's reference FASTA is that region, one
contig per source contig cut, written with its ``.fai``).

Allele frequencies: the neutral site-frequency spectrum of a sample of ``pop_haplotypes``
haplotypes, ``P(f = i / pop_haplotypes) ∝ 1/i`` for ``i = 1 .. pop_haplotypes - 1`` (many
rare alleles: with 200 haplotypes about half the sites are below 3%). Each of a sample's two
haplotypes carries the ALT with probability f, independently (Hardy-Weinberg, unlinked
sites). Sites no sample carries are dropped.

Outputs (all atomic): the multi-sample truth VCF (phased GT per sample, INFO ``PAF`` the
population frequency, ``AC``/``AN`` in the cohort); per sample its single-sample truth VCF,
its two haplotypes (one FASTA, as simulate_variants writes them) and paired reads at
``coverage`` (:func:`biometal.simulate.simulate_reads`, the shared error model).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometal.errors import ConfigError
from biometal.simulate._seq import make_rng, read_fasta, write_fasta
from biometal.simulate._sequencer import ErrorModel
from biometal.simulate.reads import simulate_reads
from biometal.simulate.variants import (
    Variant,
    _draw_contig,
    _vcf_text,
    apply_variants,
    write_vcf_gz,
)


def neutral_frequencies(rng: np.random.Generator, n: int, pop_haplotypes: int) -> np.ndarray:
    """``n`` ALT frequencies from the neutral SFS, ``P(i) ∝ 1/i`` (float64[n])."""
    i = np.arange(1, pop_haplotypes)
    p = 1.0 / i
    return rng.choice(i, size=n, p=p / p.sum()) / pop_haplotypes


def cohort_reference(
    reference_fasta: str | os.PathLike, out_fasta: str | os.PathLike, region_length: int
) -> dict[str, int]:
    """The first ``region_length`` bp of ``reference_fasta`` (contigs in order, the last one
    cut) as ``out_fasta`` + ``.fai``; returns the contig lengths."""
    refs = read_fasta(reference_fasta)
    out, left = [], int(region_length)
    for name, seq in refs.items():
        if left <= 0:
            break
        out.append((name, seq[:left]))
        left -= min(left, seq.size)
    write_fasta(out_fasta, out, fai_path=f"{os.fspath(out_fasta)}.fai")
    return {name: int(s.size) for name, s in out}


def _cohort_vcf_text(
    sites: list[Variant], freqs: np.ndarray, gts: np.ndarray, contigs: dict[str, int],
    samples: Sequence[str], seed: int,
) -> str:  # fmt: skip
    head = [
        "##fileformat=VCFv4.3",
        f"##source=biometal.simulate.cohort(seed={seed})",
    ]
    head += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    head += [
        '##INFO=<ID=TYPE,Number=1,Type=String,Description="Variant type: SNP, INS or DEL">',
        '##INFO=<ID=PAF,Number=A,Type=Float,Description="Population ALT frequency">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT alleles in the cohort">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Alleles in the cohort">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples),
    ]
    rows = []
    for v, f, g in zip(sites, freqs.tolist(), gts, strict=True):
        cols = "\t".join(f"{a}|{b}" for a, b in g.tolist())
        rows.append(
            f"{v.contig}\t{v.pos + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\tTYPE={v.kind};"
            f"PAF={f:.4g};AC={int(g.sum())};AN={2 * len(samples)}\tGT\t{cols}"
        )
    return "\n".join(head + rows) + "\n"


def simulate_cohort(
    reference_fasta: str | os.PathLike,
    cohort_reference_out: str | os.PathLike,
    truth_out: str | os.PathLike,
    samples: Sequence[str],
    sample_dir: str | os.PathLike,
    *,
    region_length: int = 300_000,
    snp_rate: float = 5e-3,
    indel_rate: float = 5e-4,
    max_indel: int = 10,
    min_spacing: int = 10,
    pop_haplotypes: int = 200,
    coverage: float = 10.0,
    read_length: int = 150,
    insert_mean: float = 350.0,
    insert_sd: float = 50.0,
    errors: ErrorModel | None = None,
    seed: int,
) -> dict:
    """Simulate the cohort (see the module docstring).

    Per sample ``s`` in ``sample_dir``: ``s.truth.vcf.gz`` (+ ``.tbi``), ``s.hap.fa``,
    ``s_R1.fastq.gz``, ``s_R2.fastq.gz``, ``s.reads.tsv.gz``. Rates are per reference bp
    of the POPULATION's sites; ``coverage``: mean depth per sample. Returns a summary.
    """
    if not samples or len(set(samples)) != len(samples):
        raise ConfigError(f"cohort.samples: expected distinct sample names, got {list(samples)}")
    if any(not s or any(c.isspace() or c in "/\\" for c in s) for s in samples):
        raise ConfigError(f"cohort.samples: names must not be empty or contain spaces, {samples}")
    if region_length < 1000:
        raise ConfigError(f"cohort.region_length: expected >= 1000 bp, got {region_length}")
    if pop_haplotypes < 2:
        raise ConfigError(f"cohort.pop_haplotypes: expected >= 2, got {pop_haplotypes}")
    for key, v in (("snp_rate", snp_rate), ("indel_rate", indel_rate)):
        if not 0.0 <= v <= 0.05:
            raise ConfigError(f"cohort.{key}: expected a rate in [0, 0.05], got {v!r}")
    contigs = cohort_reference(reference_fasta, cohort_reference_out, region_length)
    refs = read_fasta(cohort_reference_out)
    rng = make_rng(seed, "cohort")
    sites: list[Variant] = []
    for name, seq in refs.items():
        sites += _draw_contig(rng, name, seq, snp_rate, indel_rate, max_indel, 0.5, min_spacing)
    freqs = neutral_frequencies(rng, len(sites), pop_haplotypes)
    alleles = (rng.random((len(sites), len(samples), 2)) < freqs[:, None, None]).astype(np.int64)
    seg = alleles.reshape(len(sites), -1).any(axis=1)
    sites = [v for v, keep in zip(sites, seg.tolist(), strict=True) if keep]
    freqs, alleles = freqs[seg], alleles[seg]
    write_vcf_gz(truth_out, _cohort_vcf_text(sites, freqs, alleles, contigs, samples, seed))
    sample_dir = Path(sample_dir)
    sample_dir.mkdir(parents=True, exist_ok=True)
    per_sample = {}
    for j, s in enumerate(samples):
        mine = [
            Variant(v.contig, v.pos, v.ref, v.alt, (int(g[0]), int(g[1])))
            for v, g in zip(sites, alleles[:, j, :], strict=True)
            if g.any()
        ]
        vcf = sample_dir / f"{s}.truth.vcf.gz"
        write_vcf_gz(vcf, _vcf_text(mine, contigs, s, Path(cohort_reference_out).name, seed))
        haps = []
        for name, seq in refs.items():
            vs = [v for v in mine if v.contig == name]
            for h in (1, 2):
                haps.append((f"{name}_hap{h}", apply_variants(seq, vs, h)))
        hap = sample_dir / f"{s}.hap.fa"
        write_fasta(hap, haps, fai_path=f"{hap}.fai")
        simulate_reads(
            cohort_reference_out, hap, vcf,
            sample_dir / f"{s}_R1.fastq.gz", sample_dir / f"{s}_R2.fastq.gz",
            sample_dir / f"{s}.reads.tsv.gz",
            coverage=coverage, read_length=read_length, insert_mean=insert_mean,
            insert_sd=insert_sd, errors=errors, seed=seed + 1000 + j,
        )  # fmt: skip
        per_sample[s] = {
            "variants": len(mine),
            "het": sum(v.gt[0] != v.gt[1] for v in mine),
        }
    return {
        "sites": len(sites),
        "snps": sum(v.kind == "SNP" for v in sites),
        "indels": sum(v.kind != "SNP" for v in sites),
        "singletons": int((alleles.reshape(len(sites), -1).sum(axis=1) == 1).sum()),
        "samples": per_sample,
        "contigs": contigs,
    }
