"""Truth data from biometal.simulate is sane, and deterministic from the seed.

Every check re-derives the truth independently (own FASTQ/GTF parsing, own haplotype
construction from the VCF) instead of reusing the simulator's helpers.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from biometal.errors import BiometalError, ConfigError
from biometal.io.samplesheet import read_sample_sheet
from biometal.simulate import (
    TRUSEQ_R1,
    TRUSEQ_R2,
    ErrorModel,
    simulate_metagenome,
    simulate_reads,
    simulate_reference,
    simulate_rnaseq,
    simulate_transcriptome,
    simulate_variants,
)

SEED = 7
COMP = str.maketrans("ACGTN", "TGCAN")

REF_KW = dict(
    n_contigs=3,
    total_length=60_000,
    gc_segment_mean=2_000,
    repeat_length_range=(300, 1_000),
    repeat_fraction=0.12,
    tandem_repeat_fraction=0.03,
)
VAR_KW = dict(snp_rate=3e-3, indel_rate=2e-3)
READ_KW = dict(coverage=20)
TX_KW = dict(n_genes=60, n_contigs=2)
RNA_KW = dict(n_samples=4, reads_per_sample=3_000, fraction_de=0.3, log2fc_range=(1.5, 3.0))
META_KW = dict(
    n_genomes=5,
    genome_length_range=(20_000, 40_000),
    n_pairs=3_000,
    short_insert_fraction=0.3,
    abundance_sigma=1.5,
)


def rc(s: str) -> str:
    return s.translate(COMP)[::-1]


def read_fastq(path) -> list[tuple[str, str, str]]:
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    assert len(lines) % 4 == 0
    out = []
    for i in range(0, len(lines), 4):
        assert lines[i].startswith("@") and lines[i + 2] == "+"
        assert len(lines[i + 1]) == len(lines[i + 3])
        out.append((lines[i][1:], lines[i + 1], lines[i + 3]))
    return out


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time."""
    x = np.frombuffer(a.encode(), dtype=np.uint8)
    y = np.frombuffer(b.encode(), dtype=np.uint8)
    j = np.arange(y.size + 1)
    row = j.copy()
    for i in range(1, x.size + 1):
        new = np.empty_like(row)
        new[0] = i
        new[1:] = np.minimum(row[1:] + 1, row[:-1] + (y != x[i - 1]))
        new = j + np.minimum.accumulate(new - j)  # horizontal moves (gaps in a)
        row = new
    return int(row[-1])


def file_digests(d: Path) -> dict[str, str]:
    """sha256 of every file under ``d``; the directory name itself is masked out."""
    return {
        p.name: hashlib.sha256(p.read_bytes().replace(str(d).encode(), b"<DIR>")).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def run_dna(d: Path, seed: int = SEED) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    out = {
        "ref": simulate_reference(
            d / "ref.fa",
            repeat_library_out=d / "lib.fa",
            repeats_bed_out=d / "rep.bed",
            seed=seed,
            **REF_KW,
        )
    }
    out["var"] = simulate_variants(
        d / "ref.fa", d / "truth.vcf.gz", d / "hap.fa", seed=seed, **VAR_KW
    )
    out["reads"] = simulate_reads(
        d / "ref.fa",
        d / "hap.fa",
        d / "truth.vcf.gz",
        d / "R1.fq.gz",
        d / "R2.fq.gz",
        d / "truth.tsv.gz",
        seed=seed,
        **READ_KW,
    )
    return out


def run_rna(d: Path, seed: int = SEED) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    out = {
        "tx": simulate_transcriptome(
            d / "tx.gtf", d / "tx.fa", d / "genome.fa", d / "tx2gene.tsv", seed=seed, **TX_KW
        )
    }
    out["rna"] = simulate_rnaseq(
        d / "tx.fa",
        d / "tx.gtf",
        d / "fastq",
        d / "samples.tsv",
        d / "counts.tsv",
        d / "tpm.tsv",
        d / "de.tsv",
        seed=seed,
        **RNA_KW,
    )
    return out


def run_meta(d: Path, seed: int = SEED) -> dict:
    d.mkdir(parents=True, exist_ok=True)
    return simulate_metagenome(
        d / "meta.fa",
        d / "M1.fq.gz",
        d / "M2.fq.gz",
        d / "truth.tsv.gz",
        d / "abundance.tsv",
        seed=seed,
        **META_KW,
    )


@pytest.fixture(scope="module")
def dna(tmp_path_factory):
    d = tmp_path_factory.mktemp("dna")
    summary = run_dna(d)
    return d, summary


@pytest.fixture(scope="module")
def rna(tmp_path_factory):
    d = tmp_path_factory.mktemp("rna")
    return d, run_rna(d)


@pytest.fixture(scope="module")
def meta(tmp_path_factory):
    d = tmp_path_factory.mktemp("meta")
    return d, run_meta(d)


def fasta_dict(path) -> dict[str, str]:
    with pysam.FastaFile(str(path)) as fa:
        return {n: fa.fetch(n) for n in fa.references}


def vcf_records(path):
    """(contig, pos0, ref, alt, (g1, g2), phased) via cyvcf2."""
    v = cyvcf2.VCF(str(path))
    out = []
    for rec in v:
        g = rec.genotypes[0]
        out.append((rec.CHROM, rec.POS - 1, rec.REF, rec.ALT[0], (g[0], g[1]), bool(g[2])))
    v.close()
    return out


# ---------------------------------------------------------------- reference


def test_reference_layout_and_fai(dna):
    d, s = dna
    with pysam.FastaFile(str(d / "ref.fa")) as fa:
        assert list(fa.references) == ["chr1", "chr2", "chr3"]
        assert sum(fa.lengths) == REF_KW["total_length"]
        assert fa.fetch("chr2", 100, 160) == fa.fetch("chr2")[100:160]
    lines = (d / "ref.fa").read_text().splitlines()
    assert max(len(x) for x in lines if not x.startswith(">")) == 60
    assert set("".join(x for x in lines if not x.startswith(">"))) <= set("ACGT")
    assert s["ref"]["contigs"] == dict(zip(["chr1", "chr2", "chr3"], fa.lengths, strict=True))


def test_reference_gc_varies(dna):
    d, _ = dna
    seqs = fasta_dict(d / "ref.fa")
    gc = []
    for s in seqs.values():
        for i in range(0, len(s) - 2000, 2000):
            w = s[i : i + 2000]
            gc.append((w.count("G") + w.count("C")) / 2000)
    gc = np.asarray(gc)
    assert gc.std() > 0.03, gc.std()
    assert gc.max() - gc.min() > 0.12


def test_reference_repeats(dna):
    d, s = dna
    genome = "".join(fasta_dict(d / "ref.fa").values())
    both = genome + "|" + rc(genome)
    lib = fasta_dict(d / "lib.fa")
    bed = pd.read_csv(d / "rep.bed", sep="\t", header=None, names=["c", "s", "e", "n", "sc", "st"])
    copies = bed[bed.n.str.startswith("RF")].groupby("n").size()
    assert len(lib) == 6
    assert (copies >= 2).sum() >= 5  # nearly every family has several copies
    # consensus k-mers recur in the genome (several copies of the least diverged family)
    fam = min(
        s["ref"]["repeat_families"], key=lambda f: s["ref"]["repeat_families"][f]["divergence"]
    )
    cons = lib[fam]
    hits = np.asarray([both.count(cons[i : i + 16]) for i in range(len(cons) - 16)])
    assert (hits >= 2).sum() >= 10, np.bincount(hits)
    # tandem repeats: microsatellite loci are periodic
    seqs = fasta_dict(d / "ref.fa")
    micro = bed[bed.n.str.startswith("(")]
    minis = bed[bed.n.str.startswith("minisat")]
    assert len(micro) >= 5 and len(minis) >= 1
    for r in micro.itertuples():
        unit = r.n[1:-2]
        locus = seqs[r.c][r.s : r.e]
        periodic = (unit * (len(locus) // len(unit) + 1))[: len(locus)]
        ident = np.mean([a == b for a, b in zip(locus, periodic, strict=True)])
        assert ident > 0.85, (r, locus)
    # no two annotated elements overlap
    for _, g in bed.sort_values(["c", "s"]).groupby("c"):
        assert (g.s.values[1:] >= g.e.values[:-1]).all()


# ---------------------------------------------------------------- variants


def test_vcf_valid_sorted_normalised(dna):
    d, s = dna
    ref = fasta_dict(d / "ref.fa")
    recs = vcf_records(d / "truth.vcf.gz")
    assert len(recs) == s["var"]["variants"] > 100
    prev = {}
    lens = Counter()
    zyg = Counter()
    contig_order = [r[0] for r in recs]
    assert contig_order == sorted(contig_order, key=["chr1", "chr2", "chr3"].index)
    for c, p, r, a, gt, phased in recs:
        assert ref[c][p : p + len(r)] == r
        assert r[0] == a[0] or len(r) == len(a) == 1
        assert p >= prev.get(c, 0), "sorted, non-overlapping"
        prev[c] = p + len(r)
        assert phased and gt in ((0, 1), (1, 0), (1, 1))
        zyg["het" if gt[0] != gt[1] else "hom"] += 1
        if len(r) > len(a):  # deletion: not shiftable left
            assert r[0] != r[-1]
        elif len(a) > len(r):  # insertion: not shiftable left
            assert a[-1] != r[0]
        lens[(len(a) - len(r))] += 1
    assert zyg["het"] > 0 and zyg["hom"] > 0
    indel_lens = {abs(k) for k in lens if k != 0}
    assert indel_lens <= set(range(1, 11)) and len(indel_lens) >= 7
    assert lens[0] > 0 and any(k > 0 for k in lens) and any(k < 0 for k in lens)
    with pysam.VariantFile(str(d / "truth.vcf.gz")) as vf:
        assert list(vf.header.contigs) == ["chr1", "chr2", "chr3"]
        assert vf.header.contigs["chr1"].length == len(ref["chr1"])
        assert vf.header.samples[0] == "SIM"
        n = sum(1 for _ in vf.fetch("chr2"))  # tabix index works
        assert n == sum(1 for r in recs if r[0] == "chr2")


def vcf_body(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_vcf_bcftools_view(dna):
    d, _ = dna
    res = subprocess.run(
        ["bcftools", "view", str(d / "truth.vcf.gz")], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    with gzip.open(d / "truth.vcf.gz", "rt") as fh:
        assert vcf_body(res.stdout) == vcf_body(fh.read())
    res = subprocess.run(
        ["bcftools", "norm", "-f", str(d / "ref.fa"), "-c", "e", "-Ov", str(d / "truth.vcf.gz")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    with gzip.open(d / "truth.vcf.gz", "rt") as fh:
        assert vcf_body(res.stdout) == vcf_body(fh.read())  # already normalised


def test_vcf_pysam_bcftools_norm_and_consensus(dna):
    """The bcftools bundled in pysam: view/norm accept the VCF unchanged, and
    ``bcftools consensus -H h`` rebuilds exactly our haplotype h."""
    from pysam import bcftools

    d, _ = dna
    with gzip.open(d / "truth.vcf.gz", "rt") as fh:
        body = vcf_body(fh.read())
    assert vcf_body(bcftools.view(str(d / "truth.vcf.gz"))) == body
    normed = bcftools.norm("-f", str(d / "ref.fa"), "-c", "e", "-Ov", str(d / "truth.vcf.gz"))
    assert vcf_body(normed) == body
    haps = fasta_dict(d / "hap.fa")
    for h in (1, 2):
        out = bcftools.consensus("-H", str(h), "-f", str(d / "ref.fa"), str(d / "truth.vcf.gz"))
        seqs = defaultdict(list)
        for line in out.splitlines():
            if line.startswith(">"):
                name = line[1:].split()[0]
            else:
                seqs[name].append(line)
        assert {f"{k}_hap{h}": "".join(v) for k, v in seqs.items()} == {
            k: v for k, v in haps.items() if k.endswith(f"_hap{h}")
        }


def independent_haplotypes(d: Path) -> dict[str, str]:
    ref = fasta_dict(d / "ref.fa")
    by = defaultdict(list)
    for c, p, r, a, gt, _ in vcf_records(d / "truth.vcf.gz"):
        by[c].append((p, r, a, gt))
    out = {}
    for c, seq in ref.items():
        for h in (0, 1):
            parts, prev = [], 0
            for p, r, a, gt in by[c]:
                if gt[h] == 1:
                    parts += [seq[prev:p], a]
                    prev = p + len(r)
            out[f"{c}_hap{h + 1}"] = "".join(parts) + seq[prev:]
    return out


def test_haplotypes_equal_reference_plus_vcf(dna):
    d, _ = dna
    assert fasta_dict(d / "hap.fa") == independent_haplotypes(d)


# ---------------------------------------------------------------- reads


@pytest.fixture(scope="module")
def reads(dna):
    d, s = dna
    r1 = read_fastq(d / "R1.fq.gz")
    r2 = read_fastq(d / "R2.fq.gz")
    truth = pd.read_csv(d / "truth.tsv.gz", sep="\t")
    return r1, r2, truth


def mate_segment(hap: str, start: int, end: int, forward: bool) -> str:
    seg = hap[start:end]
    return seg if forward else rc(seg)


def test_reads_match_recorded_origin(dna, reads):
    d, s = dna
    r1, r2, truth = reads
    haps = fasta_dict(d / "hap.fa")
    assert len(r1) == len(r2) == len(truth) == s["reads"]["pairs"]
    exact = checked_indel = 0
    for (n1, s1, q1), (n2, s2, q2), t in zip(r1, r2, truth.itertuples(), strict=True):
        assert n1 == n2 == t.read_name
        assert t.read_name.startswith(t.contig + "_")
        hap = haps[f"{t.contig}_hap{t.haplotype}"]
        assert 0 <= t.frag_hap_start < t.frag_hap_end <= len(hap)
        plus = t.strand == "+"
        for seq, qual, fw, hs, he, nsub, nind, nn in (
            (
                s1,
                q1,
                plus,
                t.r1_hap_start,
                t.r1_hap_end,
                t.r1_sub_errors,
                t.r1_indel_errors,
                t.r1_n,
            ),
            (
                s2,
                q2,
                not plus,
                t.r2_hap_start,
                t.r2_hap_end,
                t.r2_sub_errors,
                t.r2_indel_errors,
                t.r2_n,
            ),
        ):
            assert len(seq) == 150
            assert t.frag_hap_start <= hs < he <= t.frag_hap_end
            assert seq.count("N") == nn
            assert all(qc == "#" for sc, qc in zip(seq, qual, strict=True) if sc == "N")
            seg = mate_segment(hap, hs, he, fw)
            if nind == 0:
                assert he - hs == 150
                mism = sum(a != b and a != "N" for a, b in zip(seq, seg, strict=True))
                assert mism == nsub, (t.read_name, mism, nsub)
                exact += 1
            else:
                assert abs((he - hs) - 150) <= nind
                dist = edit_distance(seq, seg)
                assert dist <= nsub + nind + nn
                assert dist >= nsub - nind
                checked_indel += 1
    assert exact > 0.9 * 2 * len(truth)
    assert checked_indel > 0
    # fragment geometry: R1 at the 5' end of the fragment on its strand
    plus = truth.strand == "+"
    assert (truth.r1_hap_start[plus] == truth.frag_hap_start[plus]).all()
    assert (truth.r2_hap_end[plus] == truth.frag_hap_end[plus]).all()
    assert (truth.r1_hap_end[~plus] == truth.frag_hap_end[~plus]).all()
    assert (truth.r2_hap_start[~plus] == truth.frag_hap_start[~plus]).all()
    assert 0.4 < plus.mean() < 0.6
    assert 0.4 < (truth.haplotype == 1).mean() < 0.6
    insert = truth.frag_hap_end - truth.frag_hap_start
    assert abs(insert.mean() - 350) < 10 and 35 < insert.std() < 65


def test_reads_carry_their_haplotype_alleles(dna, reads):
    """Het SNPs inside a read show that haplotype's allele; spans map back to the reference."""
    d, _ = dna
    r1, _, truth = reads
    ref = fasta_dict(d / "ref.fa")
    recs = vcf_records(d / "truth.vcf.gz")
    # independent hap -> ref offsets: (hap position of the first base after each indel, delta)
    shifts = defaultdict(list)
    for c in ref:
        for h in (1, 2):
            off = 0
            for cc, p, r, a, gt, _ in recs:
                if cc != c or gt[h - 1] != 1 or len(r) == len(a):
                    continue
                shifts[(c, h)].append((p + off, p, len(a) - len(r)))
                off += len(a) - len(r)
    agree = disagree = spanning = 0
    for (_, seq, _), t in zip(r1, truth.itertuples(), strict=True):
        if t.r1_indel_errors:
            continue
        key = (t.contig, t.haplotype)
        before = [x for x in shifts[key] if x[0] < t.r1_hap_start - 12]
        inside = [x for x in shifts[key] if t.r1_hap_start - 12 <= x[0] < t.r1_hap_end]
        off = sum(x[2] for x in before)
        if not inside:
            # no haplotype indel near the read: plain shift
            assert t.r1_ref_start == t.r1_hap_start - off
            assert t.r1_ref_end - t.r1_ref_start == 150
        elif all(
            t.r1_hap_start + 2 <= x[0] and x[0] + max(x[2], 0) + 2 < t.r1_hap_end for x in inside
        ):
            # indels fully inside the read: the reference span differs by their length
            spanning += 1
            assert t.r1_ref_end - t.r1_ref_start == 150 - sum(x[2] for x in inside)
        ref_start = t.r1_hap_start - off
        for c, p, r, a, gt, _ in recs:
            if c != t.contig or len(r) != 1 or len(a) != 1 or gt[0] == gt[1] or inside:
                continue
            if not t.r1_ref_start <= p < t.r1_ref_end:
                continue
            i = p - ref_start
            base = seq[i] if t.strand == "+" else rc(seq)[i]
            want = a if gt[t.haplotype - 1] == 1 else r
            agree += base == want
            disagree += base != want
    assert spanning > 10
    assert agree > 200 and disagree < 0.03 * agree


def test_quality_matches_error_rate(dna, reads):
    d, _ = dna
    r1, r2, truth = reads
    haps = fasta_dict(d / "hap.fa")
    q_all, e_all, pos_all = [], [], []
    for mate, recs in ((1, r1), (2, r2)):
        for (_, seq, qual), t in zip(recs, truth.itertuples(), strict=True):
            if getattr(t, f"r{mate}_indel_errors"):
                continue
            fw = (t.strand == "+") == (mate == 1)
            seg = mate_segment(
                haps[f"{t.contig}_hap{t.haplotype}"],
                getattr(t, f"r{mate}_hap_start"),
                getattr(t, f"r{mate}_hap_end"),
                fw,
            )
            s = np.frombuffer(seq.encode(), dtype=np.uint8)
            g = np.frombuffer(seg.encode(), dtype=np.uint8)
            ok = s != ord("N")
            q_all.append(np.frombuffer(qual.encode(), dtype=np.uint8)[ok] - 33)
            e_all.append((s != g)[ok])
            pos_all.append(np.arange(150)[ok])
    q = np.concatenate(q_all).astype(np.float64)
    e = np.concatenate(e_all)
    pos = np.concatenate(pos_all)
    assert q.min() >= 5 and q.max() <= 41
    checked = 0
    for lo, hi in ((5, 15), (15, 20), (20, 25), (25, 30), (30, 35), (35, 42)):
        sel = (q >= lo) & (q < hi)
        n = int(sel.sum())
        if n < 5000:
            continue
        expected = float((10.0 ** (-q[sel] / 10.0)).mean())
        observed = float(e[sel].mean())
        tol = 5 * np.sqrt(expected * (1 - expected) / n) + 0.15 * expected
        assert abs(observed - expected) < tol, (lo, hi, observed, expected, n)
        checked += 1
    assert checked >= 4
    # error rate rises along the read, as configured (0.1% -> 1.5%)
    early = e[pos < 10].mean()
    late = e[pos >= 140].mean()
    assert early < 0.003 and 0.009 < late < 0.022 and late > 4 * early


# ---------------------------------------------------------------- transcriptome / RNA-seq


def parse_gtf(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        f = line.split("\t")
        assert len(f) == 9
        attrs = dict(
            (kv.strip().split(" ", 1)[0], kv.strip().split(" ", 1)[1].strip('"'))
            for kv in f[8].split(";")
            if kv.strip()
        )
        rows.append((f[0], f[2], int(f[3]), int(f[4]), f[6], attrs))
    return rows


def test_gtf_matches_transcript_fasta(rna):
    d, s = rna
    rows = parse_gtf(d / "tx.gtf")
    genome = fasta_dict(d / "genome.fa")
    txs = fasta_dict(d / "tx.fa")
    exons = defaultdict(list)
    strand, gene_of, tx_span, gene_span = {}, {}, {}, {}
    for contig, feat, start, end, st, attrs in rows:
        assert 1 <= start <= end <= len(genome[contig]) and st in "+-"
        if feat == "gene":
            gene_span[attrs["gene_id"]] = (contig, start, end)
        elif feat == "transcript":
            tx_span[attrs["transcript_id"]] = (start, end)
        elif feat == "exon":
            t = attrs["transcript_id"]
            exons[t].append((contig, start, end, int(attrs["exon_number"])))
            strand[t] = st
            gene_of[t] = attrs["gene_id"]
    assert set(exons) == set(txs) and len(txs) == s["tx"]["transcripts"]
    assert len(gene_span) == TX_KW["n_genes"]
    for t, ex in exons.items():
        ex.sort(key=lambda x: x[1])
        seq = "".join(genome[c][a - 1 : b] for c, a, b, _ in ex)
        if strand[t] == "-":
            seq = rc(seq)
        assert seq == txs[t], t
        assert tx_span[t] == (ex[0][1], ex[-1][2])
        g = gene_span[gene_of[t]]
        assert g[1] <= ex[0][1] and ex[-1][2] <= g[2]
        nums = [n for *_, n in ex]
        assert nums == (
            list(range(1, len(ex) + 1)) if strand[t] == "+" else list(range(len(ex), 0, -1))
        )
        for (c, _, e1, _), (_, s2, _, _) in zip(ex, ex[1:], strict=False):  # introns GT..AG
            intron = genome[c][e1 : s2 - 1]
            intron = intron if strand[t] == "+" else rc(intron)
            assert intron[:2] == "GT" and intron[-2:] == "AG"
        assert len(txs[t]) >= 300
    # 1-4 isoforms per gene, isoforms share exons
    by_gene = defaultdict(list)
    for t in exons:
        by_gene[gene_of[t]].append({(a, b) for _, a, b, _ in exons[t]})
    n_iso = Counter(len(v) for v in by_gene.values())
    assert set(n_iso) <= {1, 2, 3, 4} and sum(n_iso[k] for k in (2, 3, 4)) >= 10
    for sets in by_gene.values():
        for other in sets[1:]:
            assert other & sets[0]
            assert other != sets[0]
    tx2gene = pd.read_csv(d / "tx2gene.tsv", sep="\t")
    assert dict(zip(tx2gene.transcript_id, tx2gene.gene_id, strict=True)) == gene_of


def test_rnaseq_truth_tables_and_reads(rna):
    d, s = rna
    n = RNA_KW["reads_per_sample"]
    counts = pd.read_csv(d / "counts.tsv", sep="\t")
    tpm = pd.read_csv(d / "tpm.tsv", sep="\t")
    de = pd.read_csv(d / "de.tsv", sep="\t")
    sheet = pd.DataFrame(
        read_sample_sheet(
            d / "samples.tsv",
            required=("sample", "condition", "fq1"),
            optional=("fq2",),
            file_columns=("fq1", "fq2"),
        )
    )
    txs = fasta_dict(d / "tx.fa")
    samples = ["A1", "A2", "B1", "B2"]
    assert list(sheet["sample"]) == samples and list(sheet.condition) == ["A", "A", "B", "B"]
    assert list(counts.columns) == ["transcript_id", "gene_id", "length", "eff_length", *samples]
    assert list(counts.transcript_id) == list(txs)
    for smp in samples:
        assert counts[smp].sum() == n
        assert abs(tpm[smp].sum() - 1e6) < 1.0
        rate = counts[smp] / counts.eff_length
        assert np.allclose(tpm[smp], 1e6 * rate / rate.sum(), atol=1e-3)
    assert (counts.length == [len(txs[t]) for t in counts.transcript_id]).all()
    # reads: right number, named by transcript, R1 prefix found in that transcript
    for row in sheet.itertuples():
        r1 = read_fastq(row.fq1)
        r2 = read_fastq(row.fq2)
        assert len(r1) == len(r2) == n
        assert all(a[0] == b[0] for a, b in zip(r1, r2, strict=True))
        got = Counter(name.rsplit("_", 1)[0] for name, _, _ in r1)
        want = dict(zip(counts.transcript_id, counts[row.sample], strict=True))
        assert got == Counter({k: v for k, v in want.items() if v})
        found = 0
        for name, seq, _ in r1[:500]:
            t = txs[name.rsplit("_", 1)[0]]
            k = seq[:20]
            found += "N" not in k and (k in t or k in rc(t))
        assert found > 0.95 * 500
    # DE truth: fraction, and direction seen in the truth TPMs
    assert de.is_de.sum() == round(RNA_KW["fraction_de"] * TX_KW["n_genes"])
    assert (de.log2fc[de.is_de == 0] == 0).all()
    assert (de.log2fc[de.is_de == 1].abs() >= 1.5).all()
    assert (de.log2fc > 0).any() and (de.log2fc < 0).any()
    gene_tpm = tpm.groupby("gene_id")[samples].sum()
    a = gene_tpm[["A1", "A2"]].mean(axis=1)
    b = gene_tpm[["B1", "B2"]].mean(axis=1)
    obs = np.log2((b + 1) / (a + 1))
    sel = de.set_index("gene_id")
    sel = sel[sel.is_de == 1]
    agree = np.sign(obs[sel.index]) == np.sign(sel.log2fc)
    assert agree.mean() >= 0.8, agree.mean()
    non_de = de.gene_id[de.is_de == 0]
    assert obs[sel.index].abs().mean() > obs[non_de].abs().mean() + 0.5


def test_rnaseq_strandedness_and_single_end(rna, tmp_path):
    d, _ = rna
    simulate_rnaseq(
        d / "tx.fa",
        d / "tx.gtf",
        tmp_path / "fq",
        tmp_path / "s.tsv",
        tmp_path / "c.tsv",
        tmp_path / "t.tsv",
        tmp_path / "de.tsv",
        n_samples=2,
        sample_names=["rna01", "rna02"],
        reads_per_sample=500,
        paired=False,
        strandedness="reverse",
        seed=1,
    )
    sheet = pd.read_csv(tmp_path / "s.tsv", sep="\t", keep_default_na=False)
    assert list(sheet.fq2) == ["", ""]
    assert list(sheet["sample"]) == ["rna01", "rna02"] and list(sheet.condition) == ["A", "B"]
    assert sheet.fq1[0] == "fq/rna01_R1.fastq.gz"  # relative to the sheet's directory
    sheet["fq1"] = [str(tmp_path / p) for p in sheet.fq1]
    assert not (tmp_path / "fq" / "rna01_R2.fastq.gz").exists()
    txs = fasta_dict(d / "tx.fa")
    antisense = sense = 0
    for name, seq, _ in read_fastq(sheet.fq1[0]):
        t = txs[name.rsplit("_", 1)[0]]
        k = seq[:20]
        sense += k in t
        antisense += k in rc(t)
    assert antisense > 450 and sense < 25


# ---------------------------------------------------------------- metagenome


def test_metagenome_truth(meta):
    d, s = meta
    genomes = fasta_dict(d / "meta.fa")
    truth = pd.read_csv(d / "truth.tsv.gz", sep="\t")
    r1 = read_fastq(d / "M1.fq.gz")
    r2 = read_fastq(d / "M2.fq.gz")
    assert len(r1) == len(r2) == len(truth) == META_KW["n_pairs"]
    assert len(genomes) == 5
    share = truth.genome.value_counts(normalize=True)
    assert share.max() / share.min() > 2.5, share
    ab = pd.read_csv(d / "abundance.tsv", sep="\t")
    assert abs(ab.abundance.sum() - 1) < 1e-4 and ab.pairs.sum() == META_KW["n_pairs"]
    # reads per genome follow abundance x genome length
    n = META_KW["n_pairs"]
    expect = ab.abundance * ab.length / (ab.abundance * ab.length).sum()
    assert np.allclose(ab.read_fraction, expect, atol=1e-5)
    seen = truth.genome.value_counts().reindex(ab.genome).to_numpy() / n
    assert (ab.pairs / n == seen).all()
    assert (np.abs(seen - expect) < 4 * np.sqrt(expect * (1 - expect) / n) + 0.002).all()
    n_adapter = exact = 0
    for (n1, s1, _), (_, s2, _), t in zip(r1, r2, truth.itertuples(), strict=True):
        assert n1 == t.read_name and t.contig.startswith(t.genome + "_")
        contig = genomes[t.contig]
        plus = t.strand == "+"
        assert t.insert_size == t.frag_end - t.frag_start
        for seq, fw, st, en, ad, nsub, nind, adapter in (
            (
                s1,
                plus,
                t.r1_start,
                t.r1_end,
                t.r1_adapter_start,
                t.r1_sub_errors,
                t.r1_indel_errors,
                TRUSEQ_R1,
            ),
            (
                s2,
                not plus,
                t.r2_start,
                t.r2_end,
                t.r2_adapter_start,
                t.r2_sub_errors,
                t.r2_indel_errors,
                TRUSEQ_R2,
            ),
        ):
            seg = mate_segment(contig, st, en, fw)
            if ad == -1 and t.insert_size < 150:
                # insertion errors pushed the adapter start past the read's end
                assert t.insert_size + nind >= 150
            if ad >= 0:
                assert t.insert_size < 150
                n_adapter += 1
                if nind == 0:
                    assert ad == t.insert_size
                k = min(len(adapter), 150 - ad)
                if nind == 0:
                    diff = sum(a != b for a, b in zip(seq[ad : ad + k], adapter[:k], strict=True))
                else:
                    diff = edit_distance(seq[ad : ad + k], adapter[:k]) - nind
                assert diff <= max(2, k // 5), (t.read_name, seq, ad)
                insert_part = seq[:ad]
            else:
                assert ad == -1
                insert_part = seq
            if nind == 0:
                assert len(insert_part) == len(seg)
                template = (seg + adapter + "G" * 150)[:150]  # adapter, then poly-G
                mism = sum(a != b and a != "N" for a, b in zip(seq, template, strict=True))
                assert mism == nsub
                exact += 1
    assert n_adapter > 0.2 * 2 * META_KW["n_pairs"]
    assert exact > 0.9 * 2 * META_KW["n_pairs"]


# ---------------------------------------------------------------- determinism, errors


def test_same_seed_byte_identical_other_seed_differs(tmp_path, dna, rna, meta):
    for runner, (first, _) in ((run_dna, dna), (run_rna, rna), (run_meta, meta)):
        again = tmp_path / f"{runner.__name__}_again"
        runner(again)
        a, b = file_digests(first), file_digests(again)
        assert a == b, runner.__name__
        other = tmp_path / f"{runner.__name__}_other"
        runner(other, seed=SEED + 1)
        c = file_digests(other)
        assert set(c) == set(a)
        differs = {k for k in a if a[k] != c[k]}
        assert differs >= {k for k in a if k.endswith((".fa", ".gz", ".tsv"))} - {"samples.tsv"}
        if "samples.tsv" in a:  # relative paths: the sheet is the same wherever it is written
            assert a["samples.tsv"] == c["samples.tsv"]


def test_gzip_headers_are_deterministic(dna):
    d, _ = dna
    raw = (d / "R1.fq.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert not raw[3] & 0x08  # no FNAME


def test_bad_parameters_are_config_errors(tmp_path, dna):
    d, _ = dna
    with pytest.raises(ConfigError, match="n_contigs"):
        simulate_reference(tmp_path / "r.fa", n_contigs=0, seed=1)
    with pytest.raises(ConfigError, match="gc_range"):
        simulate_reference(tmp_path / "r.fa", gc_range=(0.7, 0.2), seed=1)
    with pytest.raises(BiometalError, match="seed"):
        simulate_reference(tmp_path / "r.fa", seed=-1)
    with pytest.raises(ConfigError, match="het_fraction"):
        simulate_variants(
            d / "ref.fa", tmp_path / "v.vcf.gz", tmp_path / "h.fa", het_fraction=2, seed=1
        )
    with pytest.raises(BiometalError, match="not found"):
        simulate_variants(tmp_path / "missing.fa", tmp_path / "v.vcf.gz", tmp_path / "h.fa", seed=1)
    with pytest.raises(ConfigError, match="sub_rate_end"):
        ErrorModel(sub_rate_end=0.9)
    with pytest.raises(ConfigError, match="strandedness"):
        simulate_rnaseq(
            d / "ref.fa", d / "x.gtf", tmp_path, tmp_path / "s", tmp_path / "c", tmp_path / "t",
            tmp_path / "d", strandedness="both", seed=1,
        )  # fmt: skip
    with pytest.raises(ConfigError, match="sample_names"):
        simulate_rnaseq(
            d / "ref.fa", d / "x.gtf", tmp_path, tmp_path / "s", tmp_path / "c", tmp_path / "t",
            tmp_path / "d", n_samples=2, sample_names=["x", "x"], seed=1,
        )  # fmt: skip
    assert not list(tmp_path.iterdir())  # nothing partial left behind


def test_reads_reject_mismatched_haplotypes(tmp_path, dna):
    d, _ = dna
    bad = tmp_path / "hap.fa"
    text = (d / "hap.fa").read_text().replace(">chr1_hap2\n", ">chr1_hap2\nACGT\n", 1)
    bad.write_text(text)
    with pytest.raises(BiometalError, match="chr1_hap2"):
        simulate_reads(
            d / "ref.fa", bad, d / "truth.vcf.gz", tmp_path / "1.fq.gz", tmp_path / "2.fq.gz",
            tmp_path / "t.tsv.gz", coverage=1, seed=1,
        )  # fmt: skip
    assert not (tmp_path / "1.fq.gz").exists()


def test_error_model_from_config():
    """The scripts build the model from the validated config: schema defaults == the model's."""
    from biometal.config import validate_config

    section = validate_config({})["simulate"]["errors"]
    assert ErrorModel.from_config(section) == ErrorModel()
    assert ErrorModel.from_config({**section, "n_rate": 0.01}).n_rate == 0.01
    with pytest.raises(ConfigError, match="unknown key"):
        ErrorModel.from_config({"sub_rate": 0.01})
    with pytest.raises(ConfigError, match="indel_error_rate"):
        ErrorModel.from_config({"indel_error_rate": 0.5})


def test_error_model_profile_hits_target():
    m = ErrorModel()
    mu = m.quality_profile(150)
    assert np.all(np.diff(mu) <= 1e-9)  # quality falls along the read
    rng = np.random.default_rng(0)
    z = (
        mu[None, :]
        + rng.normal(0, m.read_quality_sd, (20000, 1))
        + rng.normal(0, m.quality_sd, (20000, 150))
    )
    q = np.clip(np.rint(z), m.q_min, m.q_max)
    perr = (10 ** (-q / 10)).mean(axis=0)
    assert np.allclose(perr, m.target_error(150), rtol=0.05)


@settings(max_examples=40, deadline=None)
@given(hst.integers(0, 2**32 - 1), hst.sampled_from([1, 2]))
def test_haplotype_map_round_trip(seed, hap):
    """HaplotypeMap agrees with apply_variants base by base, for random variant sets."""
    from biometal.simulate.variants import HaplotypeMap, _draw_contig, apply_variants

    rng = np.random.default_rng(seed)
    ref = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=3000)]
    ref[rng.integers(0, 2900) :][:40] = ord("A")  # a homopolymer to left-align through
    vs = _draw_contig(rng, "c", ref, 0.01, 0.01, 10, 0.5, 3)
    seq = apply_variants(ref, vs, hap)
    hmap = HaplotypeMap.from_variants(ref.size, vs, hap)
    assert hmap.hap_length == seq.size
    x = np.arange(seq.size)
    r = hmap.ref_start_of(x)
    blk = np.searchsorted(hmap.hap_start, x, side="right") - 1
    inserted = hmap.is_ins[blk]
    snp = np.zeros(ref.size, dtype=bool)
    for v in vs:
        if v.kind == "SNP" and v.gt[hap - 1] == 1:
            snp[v.pos] = True
    m = ~inserted
    assert (seq[m] == ref[r[m]])[~snp[r[m]]].all()
    assert (hmap.hap_of_ref(r[m]) == x[m]).all()
    assert np.all(np.diff(r) >= 0) and r[-1] < ref.size
    # every reference base is either seen once or deleted on this haplotype
    back = hmap.hap_of_ref(np.arange(ref.size))
    deleted = sum(len(v.ref) - 1 for v in vs if v.kind == "DEL" and v.gt[hap - 1] == 1)
    assert (back == -1).sum() == deleted
    assert (hmap.ref_end_of(x + 1)[m] == r[m] + 1).all()
