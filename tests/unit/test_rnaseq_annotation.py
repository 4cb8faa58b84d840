"""Real annotation conventions: Ensembl versions, GENCODE headers, gene names.

* Ensembl: cDNA FASTA ``>ENST00000282507.7``, GTF ``transcript_id "ENST00000282507";
  transcript_version "7";`` (the versions must agree);
* GENCODE: FASTA ``>ENST00000456328.2|ENSG00000290825.1|-|-|DDX11L2-202|DDX11L2|1657|lncRNA|``,
  the transcript ID is the first field (salmon's ``--gencode``), GTF IDs versioned;
* ``gene_name`` attributes kept as a column of the gene tables, which the downstream readers
  (sample analysis, differential expression) skip.

Oracles: kallisto's own test transcriptome and Ensembl GTF (Debian's ``kallisto-examples``),
kallisto on the same reads, salmon ``--gencode``; each skipped with a reason where absent.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biometal.errors import BiometalError
from biometal.rnaseq.index import index_transcriptome, read_transcripts
from biometal.rnaseq.matrices import (
    differential_expression,
    gene_matrices,
    match_transcripts,
    read_annotation,
    read_gene_names,
    read_gene_table,
    sample_analysis,
)
from biometal.rnaseq.peers import read_method_quant
from biometal.rnaseq.quant import quantify_sample
from biometal.rnaseq.tables import transcript_id

KALLISTO_TEST = Path("/usr/share/doc/kallisto/test")
needs_kallisto_examples = pytest.mark.skipif(
    not (KALLISTO_TEST / "transcripts.gtf.gz").is_file(),
    reason="kallisto's test data absent (Debian package kallisto-examples)",
)
needs_kallisto = pytest.mark.skipif(
    shutil.which("kallisto") is None, reason="kallisto not installed (oracle)"
)
needs_salmon = pytest.mark.skipif(
    shutil.which("salmon") is None, reason="salmon not installed (oracle)"
)

HEADER = "transcript_id\tlength\teffective_length\test_counts\ttpm\n"


def _gtf(path: Path, rows, extra: str = "") -> Path:
    """rows: (transcript_id, version or None, gene_id, gene_name or None)."""
    lines = []
    for tx, version, gene, name in rows:
        attrs = f'gene_id "{gene}"; transcript_id "{tx}";'
        if version is not None:
            attrs += f' transcript_version "{version}";'
        if name is not None:
            attrs += f' gene_name "{name}";'
        lines.append(f"1\tensembl\ttranscript\t1\t900\t.\t+\t.\t{attrs}{extra}\n")
    path.write_text("".join(lines))
    return path


def _quant(path: Path, ids, counts) -> Path:
    path.write_text(
        HEADER + "".join(f"{t}\t900\t700\t{c}\t{c}\n" for t, c in zip(ids, counts, strict=True))
    )
    return path


def _one_line(exc: pytest.ExceptionInfo, *parts: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, msg
    return msg


# --- transcript_version -------------------------------------------------------------------


def test_transcript_version_joins_the_gtf_id(tmp_path: Path) -> None:
    gtf = _gtf(
        tmp_path / "e.gtf",
        [
            ("ENST01", "7", "ENSG1", "ABC"),
            ("ENST02", "2", "ENSG1", "ABC"),
            ("ENST03", "1", "ENSG2", None),
        ],
    )
    ann = read_annotation(gtf)
    assert ann.versions == {"ENST01": "7", "ENST02": "2", "ENST03": "1"}
    assert ann.gene_names == {"ENSG1": "ABC"}
    genes = match_transcripts(["ENST01.7", "ENST02.2", "ENST03.1", "ENST03"], ann, "q.tsv")
    assert genes == ["ENSG1", "ENSG1", "ENSG2", "ENSG2"]


def test_transcript_version_of_another_release_is_a_clear_error(tmp_path: Path) -> None:
    gtf = _gtf(tmp_path / "e.gtf", [("ENST01", "7", "ENSG1", None), ("ENST02", "2", "ENSG1", None)])
    q = _quant(tmp_path / "A1.tsv", ["ENST01.7", "ENST02.3"], [1, 2])
    with pytest.raises(BiometalError) as exc:
        gene_matrices({"A1": q}, gtf, *(tmp_path / f"o{i}.tsv" for i in range(3)))
    _one_line(
        exc,
        str(gtf),
        f"transcript 'ENST02.3' of {q}",
        "transcript_version '2'",
        "1 of 2 transcripts missing",
    )
    assert not list(tmp_path.glob("o*.tsv"))


def test_versions_on_one_side_only_match_both_ways(tmp_path: Path) -> None:
    gtf = _gtf(
        tmp_path / "g.gtf", [("ENST01.3", None, "ENSG1", None), ("ENST02", None, "ENSG2", None)]
    )
    genes = match_transcripts(["ENST01", "ENST02.5"], read_annotation(gtf), "q")
    assert genes == ["ENSG1", "ENSG2"]
    q = _quant(tmp_path / "A1.tsv", ["ENST01.4", "ENST02.5"], [1, 1])
    with pytest.raises(BiometalError) as exc:
        gene_matrices({"A1": q}, gtf, *(tmp_path / f"o{i}.tsv" for i in range(3)))
    _one_line(exc, str(gtf), "'ENST01.4'", "the annotation has 'ENST01.3'", "different releases")


def test_two_transcript_versions_in_the_gtf_name_the_line(tmp_path: Path) -> None:
    gtf = _gtf(tmp_path / "e.gtf", [("ENST01", "7", "ENSG1", None), ("ENST01", "8", "ENSG1", None)])
    with pytest.raises(BiometalError) as exc:
        read_annotation(gtf)
    _one_line(exc, f"{gtf}:2:", "'ENST01' has transcript_version '7' and '8'")


@pytest.mark.parametrize(
    ("rows", "ids", "what"),
    [
        # the same ID two ways: as written, and as transcript_id + transcript_version
        (
            [("ENST01.7", None, "ENSG1", None), ("ENST01", "7", "ENSG2", None)],
            ["ENST01.7"],
            "'ENST01' with transcript_version '7' and 'ENST01.7'",
        ),
        # an unversioned FASTA ID whose versions are two GTF transcripts
        (
            [("ENST01.1", None, "ENSG1", None), ("ENST01.2", None, "ENSG1", None)],
            ["ENST01"],
            "('ENST01.1' and 'ENST01.2')",
        ),
    ],
)
def test_an_id_matching_two_ways_is_one_clear_error(tmp_path: Path, rows, ids, what) -> None:
    gtf = _gtf(tmp_path / "a.gtf", rows)
    q = _quant(tmp_path / "A1.tsv", ids, [1] * len(ids))
    with pytest.raises(BiometalError) as exc:
        gene_matrices({"A1": q}, gtf, *(tmp_path / f"o{i}.tsv" for i in range(3)))
    _one_line(exc, str(gtf), f"transcript '{ids[0]}' of {q}", "matches 2 annotation", what)


def test_unmatched_id_still_names_file_and_id(tmp_path: Path) -> None:
    gtf = _gtf(tmp_path / "a.gtf", [("ENST01", "1", "ENSG1", "X")])
    q = _quant(tmp_path / "A1.tsv", ["ENST01.1", "ENST99.1"], [1, 1])
    with pytest.raises(BiometalError) as exc:
        gene_matrices({"A1": q}, gtf, *(tmp_path / f"o{i}.tsv" for i in range(3)))
    _one_line(exc, str(gtf), f"transcript 'ENST99.1' of {q} is not in the annotation")


# --- GENCODE headers ----------------------------------------------------------------------

GENCODE = "ENST00000456328.2|ENSG00000290825.1|-|-|DDX11L2-202|DDX11L2|1657|lncRNA|"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (GENCODE, "ENST00000456328.2"),
        (
            "ENST00000483286.2_PAR_Y|ENSG00000182378.14_PAR_Y|OTTHUMG1|OTTHUMT1|P-201|P|1|pc|",
            "ENST00000483286.2_PAR_Y",
        ),
        (
            "ENSMUST00000193812.2|ENSMUSG00000102693.2|-|-|4933401J01Rik-201|x|1070|TEC|",
            "ENSMUST00000193812.2",
        ),
        ("ENST00000282507.7", "ENST00000282507.7"),  # Ensembl: as it is
        ("gi|12345|ref|NM_000014.6|", "gi|12345|ref|NM_000014.6|"),  # not GENCODE: whole
        ("tx|1", "tx|1"),
    ],
)
def test_transcript_id_of_a_header(name: str, expected: str) -> None:
    assert transcript_id(name) == expected


def _gencode_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """kallisto's test transcriptome with GENCODE-style headers built from its GTF."""
    ann = read_annotation(KALLISTO_TEST / "transcripts.gtf.gz")
    out, headers = [], {}
    with gzip.open(KALLISTO_TEST / "transcripts.fasta.gz", "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                tx = line[1:].split()[0]
                base = tx.rsplit(".", 1)[0]
                gene = ann.tx2gene[base]
                name = ann.gene_names.get(gene, "-")
                headers[tx] = f"{tx}|{gene}.1|-|-|{name}-201|{name}|1000|protein_coding|"
                line = f">{headers[tx]}\n"
            out.append(line)
    fasta = tmp_path / "gencode.fa"
    fasta.write_text("".join(out))
    return fasta, headers


def _gencode_gtf(tmp_path: Path) -> Path:
    """kallisto's Ensembl GTF in GENCODE's style: versioned transcript_id, no version apart."""
    lines = []
    with gzip.open(KALLISTO_TEST / "transcripts.gtf.gz", "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            attrs = [a.strip() for a in f[8].split(";") if a.strip()]
            kv = dict(a.split(" ", 1) for a in attrs)
            if "transcript_id" in kv and "transcript_version" in kv:
                tx = kv["transcript_id"].strip('"')
                kv["transcript_id"] = f'"{tx}.{kv.pop("transcript_version").strip(chr(34))}"'
            f[8] = " ".join(f"{k} {v};" for k, v in kv.items())
            lines.append("\t".join(f) + "\n")
    gtf = tmp_path / "gencode.gtf"
    gtf.write_text("".join(lines))
    return gtf


@needs_kallisto_examples
def test_gencode_fasta_gives_transcript_ids(tmp_path: Path) -> None:
    fasta, headers = _gencode_copy(tmp_path)
    names, _, _ = read_transcripts(fasta)
    assert names == list(headers)  # the first field, in file order
    assert all("|" in h for h in headers.values())


@needs_kallisto_examples
@needs_salmon
def test_gencode_ids_as_salmon_gencode(tmp_path: Path) -> None:
    """salmon ``--gencode`` (the reference for GENCODE headers) names the same transcripts."""
    fasta, _ = _gencode_copy(tmp_path)
    idx = tmp_path / "salmon_idx"
    run = subprocess.run(
        ["salmon", "index", "--gencode", "-t", str(fasta), "-i", str(idx), "-k", "25", "-p", "1"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "salmon_q"
    r1, r2 = (str(KALLISTO_TEST / f"reads_{m}.fastq.gz") for m in (1, 2))
    run = subprocess.run(
        ["salmon", "quant", "-i", str(idx), "-l", "A", "-1", r1, "-2", r2, "-o", str(out),
         "-p", "1"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    salmon_ids = pd.read_csv(out / "quant.sf", sep="\t")["Name"].tolist()
    names, _, _ = read_transcripts(fasta)
    assert names == salmon_ids


# --- kallisto's own test transcriptome and Ensembl GTF --------------------------------------


@pytest.fixture(scope="module")
def kallisto_case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """biometal on kallisto's test data: index, quant of its 10,000 read pairs."""
    if not (KALLISTO_TEST / "transcripts.gtf.gz").is_file():
        pytest.skip("kallisto's test data absent (Debian package kallisto-examples)")
    d = tmp_path_factory.mktemp("kallisto_test")
    index_transcriptome(KALLISTO_TEST / "transcripts.fasta.gz", d / "idx.npz")
    info = quantify_sample(
        d / "idx.npz",
        KALLISTO_TEST / "reads_1.fastq.gz",
        KALLISTO_TEST / "reads_2.fastq.gz",
        d / "A1.tsv",
        sample="A1",
    )
    return {"dir": d, "quant": d / "A1.tsv", "info": info}


@needs_kallisto_examples
def test_kallisto_test_data_gene_tables_with_names(kallisto_case: dict, tmp_path: Path) -> None:
    """The pair from the issue: Ensembl cDNA IDs + Ensembl GTF, no hand edits."""
    gtf = KALLISTO_TEST / "transcripts.gtf.gz"
    outs = [tmp_path / f"{n}.tsv" for n in ("counts", "cpm", "tpm", "log2cpm")]
    counts = gene_matrices({"A1": kallisto_case["quant"]}, gtf, *outs)
    ann = read_annotation(gtf)
    q = pd.read_csv(kallisto_case["quant"], sep="\t", index_col=0)
    assert len(q) == 14 and q.index[1] == "ENST00000282507.7"
    raw = pd.read_csv(outs[0], sep="\t")
    assert list(raw.columns) == ["gene_id", "gene_name", "A1"]
    names = read_gene_names(outs[0])
    assert names["ENSG00000168671"] == "UGT3A2"
    assert (names == pd.Series(ann.gene_names)[names.index]).all()
    for out in outs:
        table = read_gene_table(out)
        assert list(table.columns) == ["A1"]
    assert counts["A1"].sum() == pytest.approx(q.est_counts.sum(), rel=1e-9)
    assert read_gene_table(outs[1])["A1"].sum() == pytest.approx(1e6, rel=1e-5)
    # kallisto's own table (shipped with the data) gives the same genes through the reader
    kq = read_method_quant("kallisto", KALLISTO_TEST / "quant_out" / "abundance.tsv")
    assert kq.index.tolist() == q.index.tolist()


@needs_kallisto_examples
def test_kallisto_test_data_agrees_with_kallisto_per_gene(kallisto_case: dict) -> None:
    """Transcript and gene counts of biometal and kallisto (its shipped run, same reads)."""
    gtf = KALLISTO_TEST / "transcripts.gtf.gz"
    ann = read_annotation(gtf)
    ours = pd.read_csv(kallisto_case["quant"], sep="\t", index_col=0)["est_counts"]
    theirs = read_method_quant("kallisto", KALLISTO_TEST / "quant_out" / "abundance.tsv")
    theirs = theirs["est_counts"].reindex(ours.index)
    genes = match_transcripts(ours.index, ann, "quant")
    g_ours = ours.groupby(genes).sum()
    g_theirs = theirs.groupby(genes).sum()
    info = kallisto_case["info"]
    # kallisto's run_info.json: 10000 processed, 9413 pseudoaligned
    assert (info["reads"], info["pseudoaligned"]) == (10000, 9413)
    assert np.allclose(ours, theirs, rtol=1e-3, atol=0.05), pd.DataFrame(
        {"biometal": ours, "kallisto": theirs}
    )
    assert np.allclose(g_ours, g_theirs, rtol=1e-3, atol=0.05)


@needs_kallisto_examples
@needs_kallisto
def test_gencode_fasta_with_kallisto_and_gencode_gtf(kallisto_case: dict, tmp_path: Path) -> None:
    """GENCODE headers end to end: our quant IDs are the first field, kallisto's (whole
    headers) read back to the same IDs, and both go with a GENCODE-style GTF."""
    fasta, headers = _gencode_copy(tmp_path)
    gtf = _gencode_gtf(tmp_path)
    index_transcriptome(fasta, tmp_path / "idx.npz")
    quantify_sample(
        tmp_path / "idx.npz",
        KALLISTO_TEST / "reads_1.fastq.gz",
        KALLISTO_TEST / "reads_2.fastq.gz",
        tmp_path / "A1.tsv",
        sample="A1",
    )
    ours = pd.read_csv(tmp_path / "A1.tsv", sep="\t", index_col=0)
    assert ours.index.tolist() == list(headers)
    # same numbers as with the plain Ensembl headers
    plain = pd.read_csv(kallisto_case["quant"], sep="\t", index_col=0)
    assert np.allclose(ours.est_counts, plain.est_counts)
    kidx = tmp_path / "k.idx"
    subprocess.run(
        ["kallisto", "index", "-i", str(kidx), str(fasta)], check=True, capture_output=True
    )
    subprocess.run(
        ["kallisto", "quant", "-i", str(kidx), "-o", str(tmp_path / "k"),
         str(KALLISTO_TEST / "reads_1.fastq.gz"), str(KALLISTO_TEST / "reads_2.fastq.gz")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    raw = pd.read_csv(tmp_path / "k" / "abundance.tsv", sep="\t")["target_id"].tolist()
    assert raw == list(headers.values())  # kallisto 0.48 keeps the whole header
    kq = read_method_quant("kallisto", tmp_path / "k" / "abundance.tsv")
    assert kq.index.tolist() == list(headers)
    outs = [tmp_path / f"g{i}.tsv" for i in range(3)]
    counts = gene_matrices({"A1": tmp_path / "A1.tsv"}, gtf, *outs)
    assert counts["A1"].sum() == pytest.approx(ours.est_counts.sum())
    assert read_gene_names(outs[0])["ENSG00000168671"] == "UGT3A2"


# --- gene names downstream ----------------------------------------------------------------


def test_gene_names_do_not_change_the_downstream_numbers(tmp_path: Path) -> None:
    """Sample analysis and DE read tables with a gene_name column as without one."""
    rng = np.random.default_rng(3)
    n_genes, samples = 40, ["A1", "A2", "A3", "B1", "B2", "B3"]
    rows = [
        (f"ENST{g:03d}", "1", f"ENSG{g:03d}", f"GENE{g}" if g % 5 else None) for g in range(n_genes)
    ]
    base = rng.lognormal(5, 1, n_genes)
    quants = {}
    for s in samples:
        fc = np.where((np.arange(n_genes) < 6) & (s[0] == "B"), 8.0, 1.0)
        quants[s] = _quant(
            tmp_path / f"{s}.tsv", [f"{r[0]}.1" for r in rows], rng.poisson(base * fc)
        )
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(
        "sample\tcondition\tfq1\tfq2\n" + "".join(f"{s}\t{s[0]}\tx\t\n" for s in samples)
    )
    results = {}
    for label, named in (("named", True), ("plain", False)):
        d = tmp_path / label
        d.mkdir()
        gtf = _gtf(d / "a.gtf", [r if named else (*r[:3], None) for r in rows])
        outs = [d / f"{n}.tsv" for n in ("counts", "cpm", "tpm", "log2cpm")]
        gene_matrices(quants, gtf, *outs)
        header = (d / "cpm.tsv").read_text().split("\n", 1)[0].split("\t")
        assert header == (["gene_id", "gene_name"] if named else ["gene_id"]) + samples
        sample_analysis(d / "cpm.tsv", sheet, *(d / f"s{i}.tsv" for i in range(4)))
        de = differential_expression(d / "cpm.tsv", sheet, d / "de.tsv")
        results[label] = (pd.read_csv(d / "s0.tsv", sep="\t"), de)
    (pca_n, de_n), (pca_p, de_p) = results["named"], results["plain"]
    pd.testing.assert_frame_equal(pca_n, pca_p)
    assert list(de_n.columns) == ["gene_id", "gene_name", *de_p.columns[1:]]
    pd.testing.assert_frame_equal(de_n.drop(columns="gene_name"), de_p)
    assert de_n.set_index("gene_id").loc["ENSG001", "gene_name"] == "GENE1"
    assert read_gene_names(tmp_path / "named" / "counts.tsv")["ENSG005"] == ""
    assert (read_gene_names(tmp_path / "plain" / "counts.tsv") == "").all()
