"""From per-sample quant tables to gene matrices, normalisation, PCA and sample clustering.

* gene level: transcript estimates summed per gene (transcript -> gene from the GTF; Ensembl
  and GENCODE IDs and versions matched as :func:`match_transcripts` says);
* ``gene_counts.tsv``: estimated counts, genes x samples (``gene_id``, ``gene_name`` when
  the GTF has ``gene_name`` attributes, then one column per sample, in sample-sheet order;
  genes in order of first appearance in the GTF; :func:`read_gene_table` reads the numbers);
* ``gene_cpm.tsv``: counts per million, ``1e6 * count / sample total``;
* ``gene_tpm.tsv``: transcripts per million, sum of the transcripts' TPM;
* ``gene_log2cpm.tsv``: ``log2(CPM + 1)``, the input of PCA and clustering;
* ``pca.tsv``: ``sample condition PC1 PC2 ...`` from the SVD of the log2 CPM of expressed
  genes (mean CPM >= ``min_cpm``), centred per gene; ``pca_variance.tsv``: ``component
  variance_ratio``;
* ``sample_correlation.tsv``: Pearson correlation of the samples' log2 CPM, rows and
  columns in the leaf order of an average-linkage hierarchical clustering on ``1 - r``;
  ``sample_clustering.tsv``: that linkage (scipy's format: ``left right distance size``,
  ids >= n_samples are merged clusters);
* ``de.tsv`` (:func:`differential_expression`, a bonus baseline): Welch t-test of
  median-of-ratios normalised log2 CPM between the two conditions, Benjamini-Hochberg;
  scored against the simulated DE truth in ``de_accuracy.tsv``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.regions.gff import gtf_attribute, iter_gtf
from biometal.rnaseq.samples import sample_conditions
from biometal.rnaseq.tables import read_quant


@dataclass
class Annotation:
    """What the gene matrices need of a GTF.

    ``tx2gene``: ``{transcript_id: gene_id}``; ``versions``: ``{transcript_id:
    transcript_version}`` where the GTF gives one apart (Ensembl); ``gene_names``: ``{gene_id:
    gene_name}`` where it gives one (Ensembl, GENCODE); ``path``: the file, for messages.
    """

    path: str
    tx2gene: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)
    gene_names: dict[str, str] = field(default_factory=dict)


def read_annotation(gtf: str | os.PathLike) -> Annotation:
    """The :class:`Annotation` of every GTF line that carries a ``transcript_id`` (plain or gz).

    A line with a ``transcript_id`` must have a ``gene_id``; a transcript in two genes, or
    with two ``transcript_version`` values, is an error naming the line.
    """
    out: dict[str, str] = {}
    versions: dict[str, str] = {}
    names: dict[str, str] = {}
    for lineno, fields, _start, _end in iter_gtf(gtf):
        attrs = fields[8]
        tx = gtf_attribute(attrs, "transcript_id")
        gene = gtf_attribute(attrs, "gene_id")
        if gene is not None and gene not in names:
            name = gtf_attribute(attrs, "gene_name")
            if name:
                names[gene] = name
        if tx is None:
            continue
        if gene is None:
            raise InputFormatError(str(gtf), lineno, f"transcript '{tx}' has no gene_id")
        prev = out.setdefault(tx, gene)
        if prev != gene:
            raise InputFormatError(
                str(gtf), lineno, f"transcript '{tx}' is in genes '{prev}' and '{gene}'"
            )
        version = gtf_attribute(attrs, "transcript_version")
        if version is not None:
            prev = versions.setdefault(tx, version)
            if prev != version:
                raise InputFormatError(
                    str(gtf),
                    lineno,
                    f"transcript '{tx}' has transcript_version '{prev}' and '{version}'",
                )
    if not out:
        raise BiometalError(f"{gtf}: no line with a transcript_id and gene_id attribute")
    return Annotation(str(gtf), out, versions, names)


def tx2gene_from_gtf(gtf: str | os.PathLike) -> dict[str, str]:
    """``{transcript_id: gene_id}`` from every GTF line that carries both (plain or gz)."""
    return read_annotation(gtf).tx2gene


_VERSION = re.compile(r"\.\d+$")


def _unversioned(tx: str) -> str:
    return _VERSION.sub("", tx)


def _match(tx: str, ann: Annotation, versioned, bare) -> tuple[list[str], str | None]:
    """(the GTF transcripts ``tx`` matches, why none when none)."""
    exact = {t for t in (tx,) if t in ann.tx2gene} | versioned.get(tx, set())
    if exact:
        return sorted(exact), None
    base = _unversioned(tx)
    if base == tx:  # an unversioned ID: any version of it in the GTF
        return sorted(bare.get(base, ())), None
    if base in ann.versions:
        return [], (
            f"the annotation has '{base}' with transcript_version '{ann.versions[base]}' "
            "(transcriptome and GTF of different releases?)"
        )
    if base in bare.get(base, ()):  # a versioned ID, an unversioned GTF ID
        return [base], None
    other = sorted(bare.get(base, ()))
    if other:  # both versioned, differently
        return [], (
            f"the annotation has '{other[0]}' (transcriptome and GTF of different releases?)"
        )
    return [], None


def genes_of(transcripts, annotation: Annotation | Mapping[str, str]) -> list[str | None]:
    """The gene of each transcript ID (None: not annotated, or matching two GTF transcripts).

    A quant table's ID (the transcriptome's) matches a GTF ``transcript_id``
    (:func:`match_transcripts` says how); this returns None where it matches none or two.
    """
    return match_transcripts(transcripts, annotation, "the quant table", strict=False)


def match_transcripts(
    transcripts,
    annotation: Annotation | Mapping[str, str],
    source: str | os.PathLike,
    *,
    strict: bool = True,
) -> list[str | None]:
    """The gene of each transcript ID of ``source`` (a quant table), from ``annotation``.

    An ID matches a GTF transcript whose ``transcript_id`` is the ID itself, or whose
    ``transcript_id`` + ``.`` + ``transcript_version`` is (Ensembl: ``ENST00000282507.7`` in
    the cDNA FASTA, ``transcript_id "ENST00000282507"; transcript_version "7"`` in the GTF);
    failing both, one whose ``transcript_id`` equals it once an Ensembl version suffix
    (``.7``) is dropped from the one side that has it (a GTF without
    ``transcript_version``). Two different versions (``ENST1.7`` vs ``transcript_version
    "8"`` or ``transcript_id "ENST1.8"``) match nothing: different releases. With
    ``strict`` the first ID that matches no transcript, or two, is a one-line
    :class:`~biometal.errors.BiometalError` naming the GTF, ``source`` and the ID (and how
    many IDs are unmatched); without it such IDs get None.
    """
    ann = annotation if isinstance(annotation, Annotation) else Annotation("GTF", dict(annotation))
    versioned: dict[str, set[str]] = {}
    for tx, version in ann.versions.items():
        versioned.setdefault(f"{tx}.{version}", set()).add(tx)
    bare: dict[str, set[str]] = {}
    for tx in ann.tx2gene:
        if tx not in ann.versions:
            bare.setdefault(_unversioned(tx), set()).add(tx)
    out: list[str | None] = []
    first_missing = first_ambiguous = None
    n_missing = 0
    for tx in transcripts:
        hits, why = _match(str(tx), ann, versioned, bare)
        if len(hits) == 1:
            out.append(ann.tx2gene[hits[0]])
            continue
        out.append(None)
        if not hits:
            n_missing += 1
            if first_missing is None:
                first_missing = (tx, why)
        elif first_ambiguous is None:
            first_ambiguous = (tx, hits)
    if strict and first_ambiguous is not None:
        tx, hits = first_ambiguous
        shown = [
            f"'{h}' with transcript_version '{ann.versions[h]}'"
            if f"{h}.{ann.versions.get(h)}" == tx
            else f"'{h}'"
            for h in hits[:3]
        ]
        raise BiometalError(
            f"{ann.path}: transcript '{tx}' of {source} matches {len(hits)} annotation "
            f"transcripts ({' and '.join(shown)}{', ...' if len(hits) > 3 else ''}): the IDs "
            "are ambiguous; use a GTF and transcriptome of one release and naming"
        )
    if strict and first_missing is not None:
        tx, why = first_missing
        raise BiometalError(
            f"{ann.path}: transcript '{tx}' of {source} is not in the annotation"
            + (f" ({why})" if why else "")
            + f" ({n_missing} of {len(out)} transcripts missing): use the GTF that matches "
            "the transcriptome"
        )
    return out


def _write(table: pd.DataFrame, path: str | os.PathLike, fmt: str = "%.6g") -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", float_format=fmt, lineterminator="\n")


#: the text column a gene table has after ``gene_id`` when the GTF names genes.
GENE_NAME = "gene_name"


def read_gene_table(path: str | os.PathLike) -> pd.DataFrame:
    """A gene table (``gene_counts``/``gene_cpm``/``gene_tpm``/``gene_log2cpm``) as numbers.

    Genes x samples indexed by ``gene_id``; the ``gene_name`` column, where there is one,
    is dropped (:func:`read_gene_names` reads it).
    """
    table = pd.read_csv(path, sep="\t", index_col=0)
    return table.drop(columns=[GENE_NAME]) if GENE_NAME in table.columns else table


def read_gene_names(path: str | os.PathLike) -> pd.Series:
    """``gene_id -> gene_name`` of a gene table ('' where the GTF named none, or no column)."""
    table = pd.read_csv(path, sep="\t", index_col=0, dtype={GENE_NAME: str})
    if GENE_NAME not in table.columns:
        return pd.Series("", index=table.index, name=GENE_NAME)
    return table[GENE_NAME].fillna("")


def gene_matrices(
    quants: Mapping[str, str | os.PathLike],
    gtf: str | os.PathLike,
    counts_out: str | os.PathLike,
    cpm_out: str | os.PathLike,
    tpm_out: str | os.PathLike,
    log2cpm_out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Gene x sample matrices from ``{sample: quant table}`` (see the module docstring).

    Every transcript of the quant tables must match one GTF transcript
    (:func:`match_transcripts`; else an error naming it). When the GTF gives ``gene_name``
    attributes, each table has a ``gene_name`` column after ``gene_id`` (empty for a gene
    without one; :func:`read_gene_table` drops it). Returns the count matrix (numbers only).
    """
    ann = read_annotation(gtf)
    gene_order = list(dict.fromkeys(ann.tx2gene.values()))
    counts, tpms = {}, {}
    tx_index = None
    for sample, path in quants.items():
        q = read_quant(path)
        if tx_index is None:
            tx_index = q.index
            genes = pd.Index(match_transcripts(tx_index, ann, path), name="gene_id")
        elif not q.index.equals(tx_index):
            raise BiometalError(f"{path}: transcripts differ from the other samples' tables")
        counts[sample] = q["est_counts"].to_numpy()
        tpms[sample] = q["tpm"].to_numpy()
    if tx_index is None:
        raise BiometalError("no samples to build a count matrix from")
    present = [g for g in gene_order if g in set(genes)]
    count_m = pd.DataFrame(counts, index=genes).groupby(level=0, sort=False).sum()
    count_m = count_m.reindex(present)
    tpm_m = pd.DataFrame(tpms, index=genes).groupby(level=0, sort=False).sum().reindex(present)
    cpm_m = pd.DataFrame(cpm(count_m.to_numpy()), index=count_m.index, columns=count_m.columns)
    count_m.index.name = cpm_m.index.name = tpm_m.index.name = "gene_id"

    def named(m: pd.DataFrame) -> pd.DataFrame:
        if not ann.gene_names:
            return m
        m = m.copy()
        m.insert(0, GENE_NAME, [ann.gene_names.get(g, "") for g in m.index])
        return m

    _write(named(count_m), counts_out, "%.4f")
    _write(named(cpm_m), cpm_out, "%.6f")
    _write(named(tpm_m), tpm_out, "%.6f")
    if log2cpm_out is not None:
        _write(named(np.log2(cpm_m + 1.0)), log2cpm_out, "%.6f")
    return count_m


def cpm(counts: np.ndarray) -> np.ndarray:
    """Counts per million of genes x samples ``counts``: ``count * (1e6 / column total)``.

    A column whose total is 0 is all zeros. Returns float64, same shape.
    """
    c = np.asarray(counts, dtype=np.float64)
    totals = c.sum(axis=0)
    return c * np.where(totals > 0, 1e6 / np.where(totals > 0, totals, 1.0), 0.0)


def tpm(counts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Transcripts per million of genes x samples ``counts`` and per-gene ``lengths`` (bp, > 0).

    Column by column :func:`biometal.rnaseq.em.tpm_from_counts`: ``1e6 * (c / len) / sum(c /
    len)``; a column without counts is all zeros. Returns float64, same shape.
    """
    rate = np.asarray(counts, dtype=np.float64) / np.asarray(lengths, np.float64)[:, None]
    totals = rate.sum(axis=0)
    return rate * np.where(totals > 0, 1e6 / np.where(totals > 0, totals, 1.0), 0.0)


def pca(log_expr: pd.DataFrame, n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores samples x components, variance ratio) of genes x samples ``log_expr``.

    Genes are centred (not scaled); SVD of the samples x genes matrix.
    """
    x = log_expr.to_numpy(dtype=np.float64).T
    x = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    n = min(len(s), n_components or len(s))
    scores = u[:, :n] * s[:n]
    var = s**2
    ratio = var[:n] / var.sum() if var.sum() > 0 else np.zeros(n)
    # sign convention: the largest |loading| sample positive, so reruns are stable
    for j in range(n):
        if scores[np.argmax(np.abs(scores[:, j])), j] < 0:
            scores[:, j] *= -1
    return scores, ratio


def sample_analysis(
    cpm_path: str | os.PathLike,
    sheet: str | os.PathLike,
    pca_out: str | os.PathLike,
    variance_out: str | os.PathLike,
    correlation_out: str | os.PathLike,
    clustering_out: str | os.PathLike,
    *,
    min_cpm: float = 1.0,
) -> pd.DataFrame:
    """PCA and hierarchical clustering of the samples (see the module docstring)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    cpm = read_gene_table(cpm_path)
    conditions = sample_conditions(sheet)
    missing = [s for s in cpm.columns if s not in conditions]
    if missing:
        raise BiometalError(f"{sheet}: sample '{missing[0]}' of {cpm_path} is not in the sheet")
    expressed = cpm[cpm.mean(axis=1) >= min_cpm]
    if len(expressed) < 2:
        expressed = cpm
    logx = np.log2(expressed + 1.0)
    scores, ratio = pca(logx)
    table = pd.DataFrame(
        scores, index=pd.Index(cpm.columns, name="sample"),
        columns=[f"PC{j + 1}" for j in range(scores.shape[1])],
    )  # fmt: skip
    table.insert(0, "condition", [conditions[s] for s in cpm.columns])
    _write(table, pca_out, "%.6f")
    var = pd.DataFrame(
        {"variance_ratio": ratio}, index=pd.Index(table.columns[1:], name="component")
    )
    _write(var, variance_out, "%.6f")

    corr = np.corrcoef(logx.to_numpy().T)
    corr = np.nan_to_num(corr, nan=0.0)
    dist = np.clip(1.0 - corr, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    link = linkage(squareform(dist, checks=False), method="average")
    order = leaves_list(link)
    names = list(cpm.columns)
    ordered = [names[i] for i in order]
    corr_table = pd.DataFrame(corr[np.ix_(order, order)], index=ordered, columns=ordered)
    corr_table.index.name = "sample"
    _write(corr_table, correlation_out, "%.6f")
    link_table = pd.DataFrame(link, columns=["left", "right", "distance", "size"])
    link_table[["left", "right", "size"]] = link_table[["left", "right", "size"]].astype(int)
    link_table.index = pd.Index(range(len(names), len(names) + len(link)), name="cluster")
    _write(link_table, clustering_out, "%.6f")
    return table


DE_COLUMNS = ["gene_id", "mean_cpm", "log2fc", "t", "pvalue", "padj"]


def differential_expression(
    cpm_path: str | os.PathLike,
    sheet: str | os.PathLike,
    out: str | os.PathLike,
    *,
    min_cpm: float = 1.0,
    truth_de: str | os.PathLike | None = None,
    truth_out: str | os.PathLike | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Two-condition differential expression (a simple baseline, not DESeq2).

    Genes with mean CPM >= ``min_cpm``, CPM rescaled by median-of-ratios size factors
    (DESeq2's normalisation, against composition bias); per gene a Welch t-test of
    log2(x + 1) between the sheet's second condition and its first; ``log2fc`` = difference
    of the condition means of log2(x + 1) (second over first); ``padj`` Benjamini-Hochberg;
    a ``gene_name`` column after ``gene_id`` when the CPM table has one.
    ``mean_cpm`` is before rescaling. With ``truth_de`` (the
    simulator's ``gene_id is_de log2fc``) also writes ``truth_out``: true DE genes, calls at
    ``padj < alpha``, precision, recall, ROC AUC of ``|t|`` and the correlation of estimated
    and true log2 fold changes of the true DE genes.
    """
    from scipy.stats import false_discovery_control, rankdata, ttest_ind

    cpm = read_gene_table(cpm_path)
    conditions = sample_conditions(sheet)
    levels = list(dict.fromkeys(conditions[s] for s in cpm.columns))
    if len(levels) < 2:
        raise BiometalError(f"{sheet}: differential expression needs two conditions")
    a = [s for s in cpm.columns if conditions[s] == levels[0]]
    b = [s for s in cpm.columns if conditions[s] == levels[1]]
    if len(a) < 2 or len(b) < 2:
        raise BiometalError(
            f"{sheet}: differential expression needs 2+ samples per condition "
            f"({levels[0]}: {len(a)}, {levels[1]}: {len(b)})"
        )
    kept = cpm[cpm.mean(axis=1) >= min_cpm]
    # median-of-ratios size factors (DESeq2's): CPM alone shifts every gene when a few
    # highly expressed genes change (composition bias)
    positive = kept[(kept > 0).all(axis=1)]
    if len(positive):
        log_geo = np.log(positive).mean(axis=1)
        size = np.exp(np.log(positive).sub(log_geo, axis=0).median(axis=0))
        kept = kept / size
    logx = np.log2(kept + 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t, p = ttest_ind(logx[b], logx[a], axis=1, equal_var=False)
    p = np.where(np.isnan(p), 1.0, p)
    t = np.nan_to_num(t)
    table = pd.DataFrame(
        {
            "gene_id": kept.index,
            "mean_cpm": cpm.loc[kept.index].mean(axis=1).to_numpy(),
            "log2fc": (logx[b].mean(axis=1) - logx[a].mean(axis=1)).to_numpy(),
            "t": t,
            "pvalue": p,
            "padj": false_discovery_control(p) if len(p) else p,
        }
    )
    names = read_gene_names(cpm_path)
    if names.ne("").any():  # the GTF named genes: keep the names beside the IDs
        table.insert(1, GENE_NAME, names.reindex(kept.index).fillna("").to_numpy())
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    if truth_de is not None and truth_out is not None:
        truth = pd.read_csv(truth_de, sep="\t").set_index("gene_id")
        est = table.set_index("gene_id").reindex(truth.index)
        is_de = truth["is_de"].astype(bool).to_numpy()
        called = (est["padj"] < alpha).fillna(False).to_numpy()
        score = est["t"].abs().fillna(0.0).to_numpy()
        n_pos, n_neg = int(is_de.sum()), int((~is_de).sum())
        ranks = rankdata(score)
        auc = (
            (ranks[is_de].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
            if n_pos and n_neg
            else float("nan")
        )
        tp = int((called & is_de).sum())
        both = est["log2fc"].notna().to_numpy() & is_de
        x, y = est["log2fc"][both].to_numpy(), truth["log2fc"][both].to_numpy()
        r = float(np.corrcoef(x, y)[0, 1]) if len(x) > 2 and x.std() and y.std() else np.nan
        summary = pd.DataFrame(
            [
                {
                    "genes": len(truth),
                    "tested": len(table),
                    "true_de": n_pos,
                    "called": int(called.sum()),
                    "true_positives": tp,
                    "precision": tp / called.sum() if called.sum() else float("nan"),
                    "recall": tp / n_pos if n_pos else float("nan"),
                    "auc_abs_t": auc,
                    "log2fc_pearson_true_de": r,
                    "alpha": alpha,
                }
            ]
        )
        with atomic_path(truth_out) as tmp:
            summary.to_csv(tmp, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    return table
