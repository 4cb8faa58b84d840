"""Simulated transcriptome (genes, isoforms, GTF) and RNA-seq samples with known truth.

Transcriptome (:func:`simulate_transcriptome`)
---------------------------------------------
Genes are laid out on their own contigs (``tchr1`` .. ``tchrN``), separated by intergenic
sequence. A gene has ``1..max_exons`` exons (geometric, mean about 4; first and last exons
longer, like UTR-bearing exons) separated by introns that start with ``GT`` and end with ``AG``
on the gene's strand. Isoform 1 has every exon; isoforms 2..4 (gene has 1-4 isoforms) are
distinct subsets: internal exons skipped, or the first or last exon dropped (alternative
start/end), so isoforms of a gene share exons. ``paralog_fraction`` of the genes copy the exon
sequences of an earlier gene at ``paralog_divergence`` (substitutions), so some reads are
ambiguous across genes too. Every transcript is at least ``min_transcript_length`` bp.

Outputs: GTF (1-based inclusive; ``gene``, ``transcript`` and ``exon`` lines, sorted by
contig and start; attributes ``gene_id``, ``transcript_id``, ``exon_number`` in transcript
order), transcript FASTA (``>transcript_id``, sequence 5'->3', i.e. reverse-complemented for
``-`` genes), optionally the genome FASTA (+ ``.fai``) and a ``transcript_id gene_id`` TSV.
IDs: gene ``G00001``, transcript ``G00001_T1``.

RNA-seq (:func:`simulate_rnaseq`)
--------------------------------
Expression model, per gene ``g`` and transcript ``t`` of ``g``:

* baseline ``b_g ~ LogNormal(0, expression_sigma)``; isoform shares ``w_t ~ Dirichlet(0.7)``;
* ``fraction_de`` of the genes (at least one) are DE: ``log2fc_g = +-U(log2fc_range)`` (sign
  1/2 each) in condition 2 relative to condition 1; others 0;
* biological noise per sample ``s`` and gene: ``gamma_gs ~ Gamma(1/dispersion, dispersion)``
  (mean 1, variance ``dispersion``), so gene counts are negative binomial with that
  dispersion;
* molar abundance ``theta_ts = b_g * 2**(log2fc_g * [s in condition 2]) * gamma_gs * w_t``.

Fragments: ``reads_per_sample`` per sample (exact), counts
``c_ts ~ Multinomial(reads_per_sample, p_ts ∝ theta_ts * efflen_t)``. Fragment lengths follow
``round(N(fragment_mean, fragment_sd))`` truncated to ``[1, len_t]``; the start is uniform. The
effective length is ``efflen_t = len_t - E[f | f <= len_t] + 1`` (floored at 1; kallisto's
definition). Fragments shorter than the read run into the adapter.

Truth TPM (what a perfect quantifier would report from these reads):
``TPM_ts = 1e6 * (c_ts / efflen_t) / sum_j (c_js / efflen_j)``.

Library strandedness: ``unstranded`` (R1 on either strand), ``reverse`` (dUTP/TruSeq
stranded: R1 antisense), ``forward`` (R1 sense). Read names ``{transcript_id}_{pair_index}``.

Outputs: ``{out_dir}/{sample}_R1.fastq.gz`` (and ``_R2``), sample names ``A1 A2 .. B1 ..``
from :func:`rnaseq_sample_names` or as given in ``sample_names`` (the first ``ceil(n/2)``
samples are condition 1); a sample sheet TSV (``sample condition fq1 fq2``, ``fq2``
empty for single-end); truth counts and truth TPM TSVs (``transcript_id gene_id length
eff_length <sample>...``); DE truth TSV (``gene_id is_de log2fc baseline``, ``is_de`` 0/1,
``log2fc`` of condition 2 over condition 1, ``baseline`` = ``b_g``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, ConfigError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.simulate._fastq_out import DEFAULT_COMPRESSLEVEL
from biometal.simulate._seq import (
    make_rng,
    mutate,
    random_bases,
    read_fasta,
    revcomp,
    seed_sequence,
    write_fasta,
)
from biometal.simulate._sequencer import ErrorModel, simulate_pairs
from biometal.simulate.reads import check_read_params

STRANDEDNESS = ("unstranded", "reverse", "forward")


@dataclass
class Transcript:
    """One transcript: exons as 0-based half-open genomic intervals, ascending."""

    transcript_id: str
    gene_id: str
    contig: str
    strand: str
    exons: list[tuple[int, int]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return sum(e - s for s, e in self.exons)


def _gene_exons(rng: np.random.Generator, max_exons: int, min_len: int) -> list[int]:
    n = int(min(rng.geometric(0.28), max_exons))
    lens = np.clip(np.rint(rng.lognormal(np.log(140), 0.5, size=n)), 40, 1500).astype(int)
    lens[0] = int(np.clip(rng.lognormal(np.log(250), 0.5), 60, 2000))
    if n > 1:
        lens[-1] = int(np.clip(rng.lognormal(np.log(400), 0.6), 60, 3000))
    short = min_len - int(lens.sum())
    if short > 0:
        lens[-1] += short
    return [int(x) for x in lens]


def _isoforms(rng: np.random.Generator, exon_len: list[int], max_isoforms: int, min_len: int):
    n = len(exon_len)
    sets = [tuple(range(n))]
    want = int(rng.choice([1, 2, 3, 4], p=[0.4, 0.3, 0.2, 0.1]))
    want = min(want, max_isoforms)
    tries = 0
    while len(sets) < want and n > 1 and tries < 30:
        tries += 1
        keep = rng.random(n) < 0.6
        keep[0] = rng.random() > 0.2
        keep[-1] = rng.random() > 0.2
        cand = tuple(int(i) for i in np.flatnonzero(keep))
        if not cand or cand in sets or sum(exon_len[i] for i in cand) < min_len:
            continue
        sets.append(cand)
    return sets


def simulate_transcriptome(
    gtf_out: str | os.PathLike,
    transcripts_fasta_out: str | os.PathLike,
    genome_fasta_out: str | os.PathLike | None = None,
    tx2gene_out: str | os.PathLike | None = None,
    *,
    n_genes: int = 500,
    n_contigs: int = 2,
    max_exons: int = 12,
    max_isoforms: int = 4,
    min_transcript_length: int = 300,
    paralog_fraction: float = 0.05,
    paralog_divergence: float = 0.03,
    seed: int,
) -> dict:
    """Write a GTF and transcript FASTA of ``n_genes`` genes (optionally the genome)."""
    if n_genes < 1:
        raise ConfigError(f"n_genes: expected >= 1, got {n_genes!r}")
    if n_contigs < 1:
        raise ConfigError(f"n_contigs: expected >= 1, got {n_contigs!r}")
    if max_exons < 1:
        raise ConfigError(f"max_exons: expected >= 1, got {max_exons!r}")
    if not 1 <= max_isoforms <= 4:
        raise ConfigError(f"max_isoforms: expected 1..4, got {max_isoforms!r}")
    if min_transcript_length < 50:
        raise ConfigError(f"min_transcript_length: expected >= 50, got {min_transcript_length!r}")
    if not 0.0 <= paralog_fraction <= 1.0:
        raise ConfigError(f"paralog_fraction: expected [0, 1], got {paralog_fraction!r}")
    if not 0.0 <= paralog_divergence <= 0.5:
        raise ConfigError(f"paralog_divergence: expected [0, 0.5], got {paralog_divergence!r}")

    rng = make_rng(seed, "transcriptome")
    contig_names = [f"tchr{i + 1}" for i in range(n_contigs)]
    contig_of_gene = np.sort(rng.integers(0, n_contigs, size=n_genes))
    contig_of_gene[: min(n_genes, n_contigs)] = np.arange(min(n_genes, n_contigs))
    contig_of_gene.sort()
    pieces: list[list[np.ndarray]] = [[] for _ in range(n_contigs)]
    cursor = [0] * n_contigs
    gene_exon_seqs: list[list[np.ndarray]] = []
    transcripts: list[Transcript] = []
    genes: list[tuple[str, str, str, int, int]] = []  # id, contig, strand, start, end

    for g in range(n_genes):
        gid = f"G{g + 1:05d}"
        c = int(contig_of_gene[g])
        contig = contig_names[c]
        strand = "+" if rng.random() < 0.5 else "-"
        if g > 0 and rng.random() < paralog_fraction:
            src = int(rng.integers(0, g))
            exon_seqs = [mutate(rng, s, paralog_divergence) for s in gene_exon_seqs[src]]
        else:
            exon_seqs = [
                random_bases(rng, n, rng.uniform(0.42, 0.58))
                for n in _gene_exons(rng, max_exons, min_transcript_length)
            ]
        gene_exon_seqs.append(exon_seqs)
        exon_len = [s.size for s in exon_seqs]
        n = len(exon_seqs)
        # genomic layout in transcript order, then flipped for minus-strand genes
        intron = [
            random_bases(rng, int(np.clip(rng.lognormal(np.log(400), 0.8), 60, 5000)), 0.40)
            for _ in range(n - 1)
        ]
        for s in intron:
            s[:2] = np.frombuffer(b"GT", dtype=np.uint8)
            s[-2:] = np.frombuffer(b"AG", dtype=np.uint8)
        body = [exon_seqs[0]]
        for i in range(1, n):
            body += [intron[i - 1], exon_seqs[i]]
        gene_seq = np.concatenate(body)
        tx_offsets = np.cumsum([0] + [x.size for x in body])[::2]  # exon starts (transcript order)
        if strand == "-":
            gene_seq = revcomp(gene_seq)
        spacer = random_bases(rng, int(rng.integers(500, 3000)), 0.40)
        pieces[c] += [spacer, gene_seq]
        gstart = cursor[c] + spacer.size
        cursor[c] = gstart + gene_seq.size
        glen = gene_seq.size
        exon_coords = []
        for i in range(n):
            s_rel = int(tx_offsets[i])
            e_rel = s_rel + exon_len[i]
            if strand == "-":
                s_rel, e_rel = glen - e_rel, glen - s_rel
            exon_coords.append((gstart + s_rel, gstart + e_rel))
        genes.append((gid, contig, strand, gstart, gstart + glen))
        for k, sel in enumerate(_isoforms(rng, exon_len, max_isoforms, min_transcript_length)):
            ex = sorted(exon_coords[i] for i in sel)
            transcripts.append(Transcript(f"{gid}_T{k + 1}", gid, contig, strand, ex))

    genome = []
    for c, name in enumerate(contig_names):
        tail = random_bases(rng, int(rng.integers(500, 3000)), 0.40)
        genome.append((name, np.concatenate(pieces[c] + [tail])))
    gseq = dict(genome)

    tx_records = []
    for t in transcripts:
        seq = np.concatenate([gseq[t.contig][s:e] for s, e in t.exons])
        tx_records.append((t.transcript_id, revcomp(seq) if t.strand == "-" else seq))

    _write_gtf(gtf_out, genes, transcripts)
    write_fasta(
        transcripts_fasta_out, tx_records, fai_path=f"{os.fspath(transcripts_fasta_out)}.fai"
    )
    if genome_fasta_out is not None:
        write_fasta(genome_fasta_out, genome, fai_path=f"{os.fspath(genome_fasta_out)}.fai")
    if tx2gene_out is not None:
        with atomic_path(tx2gene_out) as tmp:
            tmp.write_text(
                "transcript_id\tgene_id\n"
                + "".join(f"{t.transcript_id}\t{t.gene_id}\n" for t in transcripts)
            )
    iso = np.bincount(
        np.unique([t.gene_id for t in transcripts], return_counts=True)[1], minlength=5
    )
    return {
        "genes": n_genes,
        "transcripts": len(transcripts),
        "genes_by_isoform_count": {str(k): int(iso[k]) for k in range(1, 5)},
        "transcript_bp": int(sum(t.length for t in transcripts)),
        "genome_bp": int(sum(s.size for _, s in genome)),
    }


def _attrs(**kv: str) -> str:
    return " ".join(f'{k} "{v}";' for k, v in kv.items())


def _write_gtf(path, genes, transcripts: list[Transcript]) -> None:
    by_gene: dict[str, list[Transcript]] = {}
    for t in transcripts:
        by_gene.setdefault(t.gene_id, []).append(t)
    lines = []
    src = "biometal"
    order = sorted(range(len(genes)), key=lambda i: (genes[i][1], genes[i][3]))
    for gi in order:
        gid, contig, strand, _, _ = genes[gi]
        txs = by_gene[gid]
        gs = min(t.exons[0][0] for t in txs)
        ge = max(t.exons[-1][1] for t in txs)
        lines.append(
            f"{contig}\t{src}\tgene\t{gs + 1}\t{ge}\t.\t{strand}\t.\t"
            + _attrs(gene_id=gid, gene_biotype="protein_coding")
        )
        for t in txs:
            ts, te = t.exons[0][0] + 1, t.exons[-1][1]
            lines.append(
                f"{contig}\t{src}\ttranscript\t{ts}\t{te}\t.\t{strand}\t.\t"
                + _attrs(gene_id=gid, transcript_id=t.transcript_id)
            )
            n = len(t.exons)
            for i, (s, e) in enumerate(t.exons):
                num = i + 1 if strand == "+" else n - i
                lines.append(
                    f"{contig}\t{src}\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t"
                    + _attrs(gene_id=gid, transcript_id=t.transcript_id, exon_number=str(num))
                )
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_gtf(path: str | os.PathLike) -> dict[str, Transcript]:
    """Transcripts (by id, in file order) from the exon lines of a GTF."""
    path = Path(path)
    if not path.exists():
        raise BiometalError(f"{path}: GTF file not found")
    out: dict[str, Transcript] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) != 9:
                raise InputFormatError(
                    str(path), lineno, f"expected 9 tab-separated fields, got {len(f)}"
                )
            if f[2] != "exon":
                continue
            attrs = {}
            for item in f[8].split(";"):
                item = item.strip()
                if item:
                    k, _, v = item.partition(" ")
                    attrs[k] = v.strip().strip('"')
            if "transcript_id" not in attrs or "gene_id" not in attrs:
                raise InputFormatError(str(path), lineno, "exon without gene_id/transcript_id")
            try:
                s, e = int(f[3]) - 1, int(f[4])
            except ValueError:
                raise InputFormatError(str(path), lineno, "start/end are not integers") from None
            t = out.setdefault(
                attrs["transcript_id"],
                Transcript(attrs["transcript_id"], attrs["gene_id"], f[0], f[6]),
            )
            t.exons.append((s, e))
    for t in out.values():
        t.exons.sort()
    return out


def rnaseq_sample_names(
    n_samples: int = 6,
    conditions: tuple[str, str] = ("A", "B"),
    sample_names: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """``(sample, condition)`` pairs: the first ``ceil(n/2)`` samples are in condition 1.

    Default names are ``{condition}{replicate}`` (``A1 A2 A3 B1 B2 B3``); ``sample_names``
    replaces them (same length as ``n_samples``, unique, usable in file names).
    """
    if n_samples < 2:
        raise ConfigError(f"n_samples: expected >= 2, got {n_samples!r}")
    if len(conditions) != 2 or conditions[0] == conditions[1]:
        raise ConfigError(f"conditions: expected two distinct names, got {conditions!r}")
    n_first = (n_samples + 1) // 2
    cond = [conditions[0] if i < n_first else conditions[1] for i in range(n_samples)]
    if sample_names is None:
        names = [f"{c}{i + 1 if i < n_first else i - n_first + 1}" for i, c in enumerate(cond)]
    else:
        names = [str(x) for x in sample_names]
        if len(names) != n_samples:
            raise ConfigError(
                f"sample_names: expected {n_samples} names (n_samples), got {len(names)}"
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"sample_names: duplicate names in {names!r}")
        bad = [x for x in names if not x or not all(ch.isalnum() or ch in "_.-" for ch in x)]
        if bad:
            raise ConfigError(f"sample_names: {bad[0]!r} is not a valid sample name")
    return list(zip(names, cond, strict=True))


def _fragment_pmf(mean: float, sd: float, max_len: int) -> np.ndarray:
    """P(fragment length = f) for f = 0..max_len (rounded normal, f >= 1)."""
    f = np.arange(max_len + 1, dtype=np.float64)
    if sd == 0:
        pmf = (f == max(1, round(mean))).astype(np.float64)
    else:
        pmf = np.exp(-0.5 * ((f - mean) / sd) ** 2)
    pmf[0] = 0.0
    return pmf / pmf.sum()


def effective_lengths(lengths: np.ndarray, fragment_mean: float, fragment_sd: float) -> np.ndarray:
    """``len - E[f | f <= len] + 1`` (floored at 1) for each transcript length."""
    pmf = _fragment_pmf(fragment_mean, fragment_sd, int(lengths.max()))
    cdf = np.cumsum(pmf)
    cm = np.cumsum(pmf * np.arange(pmf.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_trunc = np.where(cdf[lengths] > 0, cm[lengths] / cdf[lengths], lengths)
    return np.maximum(lengths - mean_trunc + 1.0, 1.0)


def simulate_rnaseq(
    transcripts_fasta: str | os.PathLike,
    gtf: str | os.PathLike,
    out_dir: str | os.PathLike,
    sample_sheet_out: str | os.PathLike,
    truth_counts_out: str | os.PathLike,
    truth_tpm_out: str | os.PathLike,
    de_truth_out: str | os.PathLike,
    *,
    n_samples: int = 6,
    conditions: tuple[str, str] = ("A", "B"),
    sample_names: Sequence[str] | None = None,
    reads_per_sample: int = 200_000,
    paired: bool = True,
    read_length: int = 100,
    fragment_mean: float = 250.0,
    fragment_sd: float = 40.0,
    strandedness: str = "unstranded",
    fraction_de: float = 0.1,
    log2fc_range: tuple[float, float] = (1.0, 3.0),
    dispersion: float = 0.05,
    expression_sigma: float = 1.5,
    errors: ErrorModel | None = None,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    seed: int,
) -> dict:
    """Simulate ``n_samples`` RNA-seq samples of two conditions from a transcriptome.

    ``reads_per_sample`` is read pairs (reads when ``paired=False``); lengths in bp;
    ``errors``: the sequencing error model (None: :class:`ErrorModel`'s defaults).
    Returns a summary: samples, DE gene count, file paths.
    """
    check_read_params(read_length, fragment_mean, fragment_sd)
    samples = rnaseq_sample_names(n_samples, tuple(conditions), sample_names)
    if reads_per_sample < 1:
        raise ConfigError(f"reads_per_sample: expected >= 1, got {reads_per_sample!r}")
    if strandedness not in STRANDEDNESS:
        raise ConfigError(
            f"strandedness: expected one of {', '.join(STRANDEDNESS)}, got {strandedness!r}"
        )
    if not 0.0 <= fraction_de <= 1.0:
        raise ConfigError(f"fraction_de: expected [0, 1], got {fraction_de!r}")
    lo_fc, hi_fc = log2fc_range
    if not 0.0 <= lo_fc <= hi_fc:
        raise ConfigError(f"log2fc_range: expected 0 <= lo <= hi, got {log2fc_range!r}")
    if dispersion < 0:
        raise ConfigError(f"dispersion: expected >= 0, got {dispersion!r}")
    if expression_sigma < 0:
        raise ConfigError(f"expression_sigma: expected >= 0, got {expression_sigma!r}")
    model = ErrorModel() if errors is None else errors

    seqs = read_fasta(transcripts_fasta)
    txs = read_gtf(gtf)
    tx_ids = list(seqs)
    missing = [t for t in tx_ids if t not in txs]
    if missing:
        raise BiometalError(f"{gtf}: transcript {missing[0]!r} of {transcripts_fasta} has no exons")
    gene_of_tx = [txs[t].gene_id for t in tx_ids]
    gene_ids = list(dict.fromkeys(gene_of_tx))
    gene_pos = {g: i for i, g in enumerate(gene_ids)}
    gidx = np.asarray([gene_pos[g] for g in gene_of_tx], dtype=np.int64)
    lengths = np.asarray([seqs[t].size for t in tx_ids], dtype=np.int64)
    efflen = effective_lengths(lengths, fragment_mean, fragment_sd)
    source = np.concatenate([seqs[t] for t in tx_ids])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    n_tx, n_genes = len(tx_ids), len(gene_ids)

    ss = seed_sequence(seed, "rnaseq")
    expr_ss, *sample_ss = ss.spawn(1 + n_samples)
    rng = np.random.default_rng(expr_ss)
    baseline = rng.lognormal(0.0, expression_sigma, size=n_genes)
    shares = np.zeros(n_tx)
    for g in range(n_genes):  # isoform shares within each gene
        sel = np.flatnonzero(gidx == g)
        shares[sel] = rng.dirichlet(np.full(sel.size, 0.7)) if sel.size > 1 else 1.0
    n_de = max(1, int(round(fraction_de * n_genes))) if fraction_de > 0 else 0
    de_genes = np.sort(rng.choice(n_genes, size=n_de, replace=False))
    log2fc = np.zeros(n_genes)
    log2fc[de_genes] = rng.uniform(lo_fc, hi_fc, size=n_de) * np.where(
        rng.random(n_de) < 0.5, -1, 1
    )

    pmf = _fragment_pmf(fragment_mean, fragment_sd, int(lengths.max()))
    cdf = np.cumsum(pmf)
    out_dir = Path(out_dir)
    counts = np.zeros((n_tx, n_samples), dtype=np.int64)
    sheet = []
    for si, (sample, cond) in enumerate(samples):
        frag_ss, seq_ss = sample_ss[si].spawn(2)
        srng = np.random.default_rng(frag_ss)
        if dispersion > 0:
            noise = srng.gamma(1.0 / dispersion, dispersion, size=n_genes)
        else:
            noise = np.ones(n_genes)
        fc = 2.0 ** (log2fc if cond == conditions[1] else 0.0)
        theta = (baseline * fc * noise)[gidx] * shares
        p = theta * efflen
        c = srng.multinomial(reads_per_sample, p / p.sum())
        counts[:, si] = c
        tx = srng.permutation(np.repeat(np.arange(n_tx), c))
        u = srng.random(tx.size) * cdf[lengths[tx]]
        flen = np.minimum(np.searchsorted(cdf, u, side="right"), lengths[tx])
        flen = np.maximum(flen, 1)
        start = (srng.random(tx.size) * (lengths[tx] - flen + 1)).astype(np.int64)
        if strandedness == "unstranded":
            minus = srng.random(tx.size) < 0.5
        else:
            minus = np.full(tx.size, strandedness == "reverse")
        names = [f"{tx_ids[t]}_{i}".encode() for i, t in enumerate(tx)]
        fq1 = out_dir / f"{sample}_R1.fastq.gz"
        fq2 = out_dir / f"{sample}_R2.fastq.gz" if paired else None
        simulate_pairs(
            source,
            offsets[tx] + start,
            flen,
            minus,
            names,
            read_length,
            model,
            seq_ss,
            fq1,
            fq2,
            compresslevel=compresslevel,
        )
        # Paths relative to the sheet's directory (how sample sheets resolve them), so the
        # sheet is byte-identical wherever the workflow runs.
        sheet_dir = Path(sample_sheet_out).resolve().parent
        sheet.append(
            (
                sample,
                cond,
                os.path.relpath(Path(fq1).resolve(), sheet_dir),
                "" if fq2 is None else os.path.relpath(Path(fq2).resolve(), sheet_dir),
            )
        )

    names_out = [s for s, _ in samples]
    rate = counts / efflen[:, None]
    tpm = 1e6 * rate / rate.sum(axis=0, keepdims=True)
    base = {
        "transcript_id": tx_ids,
        "gene_id": gene_of_tx,
        "length": lengths,
        "eff_length": np.round(efflen, 3),
    }
    _write_tsv(
        truth_counts_out, pd.DataFrame({**base, **dict(zip(names_out, counts.T, strict=True))})
    )
    _write_tsv(
        truth_tpm_out,
        pd.DataFrame({**base, **dict(zip(names_out, tpm.T, strict=True))}),
        float_format="%.6f",
    )
    is_de = np.zeros(n_genes, dtype=np.int64)
    is_de[de_genes] = 1
    _write_tsv(
        de_truth_out,
        pd.DataFrame({"gene_id": gene_ids, "is_de": is_de, "log2fc": log2fc, "baseline": baseline}),
        float_format="%.6f",
    )
    _write_tsv(sample_sheet_out, pd.DataFrame(sheet, columns=["sample", "condition", "fq1", "fq2"]))
    return {
        "samples": names_out,
        "conditions": {s: c for s, c in samples},
        "transcripts": n_tx,
        "genes": n_genes,
        "de_genes": int(n_de),
        "reads_per_sample": int(reads_per_sample),
        "fastq": {s: [f1, f2] if f2 else [f1] for s, _, f1, f2 in sheet},
    }


def _write_tsv(path, table: pd.DataFrame, float_format: str | None = None) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, lineterminator="\n", float_format=float_format)
