"""Quantification end to end on simulated RNA-seq: accuracy against the truth, kallisto as an
oracle, constant memory (peak RSS for N and 10N pairs), bad input, determinism; then the
tables (gene matrices, PCA, accuracy, peers, cost) and the sample sheet."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biometal.errors import BiometalError, InputFormatError
from biometal.io import FastqWriter, read_fastq
from biometal.io.mates import mate_chunks
from biometal.rnaseq.accuracy import accuracy_table, compare, mard, spearman
from biometal.rnaseq.cost import cost_table, memory_table, throughput_table
from biometal.rnaseq.index import index_transcriptome, load_index
from biometal.rnaseq.matrices import gene_matrices, pca, sample_analysis, tx2gene_from_gtf
from biometal.rnaseq.peers import read_method_quant, reads_processed
from biometal.rnaseq.quant import (
    SampleRun,
    quantify,
    quantify_sample,
    quantify_samples,
    write_quant,
)
from biometal.rnaseq.samples import read_rnaseq_sheet
from biometal.rnaseq.scaling import head_reads, replicate
from biometal.rnaseq.tables import QUANT_COLUMNS, read_quant
from biometal.simulate import simulate_rnaseq, simulate_transcriptome

PAIRS = 20_000
needs_kallisto = pytest.mark.skipif(
    shutil.which("kallisto") is None, reason="kallisto not installed (oracle)"
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small transcriptome, 2 paired-end samples of PAIRS pairs, the index."""
    d = tmp_path_factory.mktemp("rnaseq")
    simulate_transcriptome(d / "a.gtf", d / "tx.fa", n_genes=120, seed=5)
    simulate_rnaseq(
        d / "tx.fa",
        d / "a.gtf",
        d / "reads",
        d / "reads" / "samples.tsv",
        d / "truth_counts.tsv",
        d / "truth_tpm.tsv",
        d / "truth_de.tsv",
        n_samples=2,
        reads_per_sample=PAIRS,
        seed=5,
    )
    index_transcriptome(d / "tx.fa", d / "index.npz", d / "index.json")
    return {
        "dir": d,
        "index": d / "index.npz",
        "fq1": d / "reads" / "A1_R1.fastq.gz",
        "fq2": d / "reads" / "A1_R2.fastq.gz",
        "truth": pd.read_csv(d / "truth_tpm.tsv", sep="\t").set_index("transcript_id"),
        "sheet": d / "reads" / "samples.tsv",
    }


@pytest.fixture(scope="module")
def quant_a1(data: dict) -> dict:
    out = data["dir"] / "quant" / "A1.tsv"
    info = quantify_sample(
        data["index"], data["fq1"], data["fq2"], out, out.with_suffix(".json"), sample="A1"
    )
    return {"path": out, "info": info, "table": read_quant(out)}


def test_quant_table_and_info(data: dict, quant_a1: dict) -> None:
    table, info = quant_a1["table"], quant_a1["info"]
    assert list(pd.read_csv(quant_a1["path"], sep="\t").columns) == QUANT_COLUMNS
    assert list(table.index) == load_index(data["index"]).names
    assert info["reads"] == PAIRS and info["paired"]
    assert info["pseudoaligned_fraction"] > 0.99
    assert table["est_counts"].sum() == pytest.approx(info["pseudoaligned"], rel=1e-6)
    assert table["tpm"].sum() == pytest.approx(1e6, rel=1e-6)
    # the simulator's fragments are round(N(250, 40))
    assert info["fragment_length_source"] == "estimated"
    assert info["fragment_length_mean"] == pytest.approx(250, abs=3)
    assert info["fragment_length_sd"] == pytest.approx(40, abs=3)
    assert info["em_converged"]
    assert json.loads(quant_a1["path"].with_suffix(".json").read_text()) == info


def test_accuracy_against_truth(data: dict, quant_a1: dict) -> None:
    m = compare(quant_a1["table"]["tpm"], data["truth"]["A1"])
    assert m["spearman"] > 0.95, m
    assert m["mard"] < 0.2, m
    # effective lengths: the truth's definition with the estimated fragment lengths
    eff = quant_a1["table"]["effective_length"].reindex(data["truth"].index)
    np.testing.assert_allclose(eff, data["truth"]["eff_length"], atol=3.0)


@needs_kallisto
def test_kallisto_oracle(data: dict, quant_a1: dict, tmp_path: Path) -> None:
    """Same reads through kallisto: our Spearman vs truth within 0.01 of kallisto's (or
    better), MARD no worse than kallisto's + 0.01, and our estimates close to kallisto's."""
    idx = tmp_path / "k.idx"
    subprocess.run(
        ["kallisto", "index", "-i", str(idx), str(data["dir"] / "tx.fa")],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "kq"
    subprocess.run(
        ["kallisto", "quant", "-t", "1", "-i", str(idx), "-o", str(out)]
        + [str(data["fq1"]), str(data["fq2"])],
        check=True,
        capture_output=True,
    )
    kal = read_method_quant("kallisto", out / "abundance.tsv")
    ours = quant_a1["table"]
    truth = data["truth"]["A1"]
    k_acc, o_acc = compare(kal["tpm"], truth), compare(ours["tpm"], truth)
    assert o_acc["spearman"] >= k_acc["spearman"] - 0.01, (o_acc, k_acc)
    assert o_acc["mard"] <= k_acc["mard"] + 0.01, (o_acc, k_acc)
    both = pd.concat([ours["est_counts"], kal["est_counts"].reindex(ours.index)], axis=1)
    r = np.corrcoef(np.log1p(both.iloc[:, 0]), np.log1p(both.iloc[:, 1]))[0, 1]
    assert r > 0.99, r
    n_k = json.loads((out / "run_info.json").read_text())["n_pseudoaligned"]
    assert abs(quant_a1["info"]["pseudoaligned"] - n_k) <= 0.005 * PAIRS
    assert reads_processed("kallisto", out / "abundance.tsv") == PAIRS


def test_threads_and_chunk_size_do_not_change_the_result(
    data: dict, quant_a1: dict, tmp_path: Path
) -> None:
    other = quantify(data["index"], data["fq1"], data["fq2"], threads=2, chunk_reads=777)
    write_quant(other, tmp_path / "other.tsv")
    assert (tmp_path / "other.tsv").read_bytes() == quant_a1["path"].read_bytes()
    assert other.info["pseudoaligned"] == quant_a1["info"]["pseudoaligned"]


def test_single_end(data: dict) -> None:
    res = quantify(data["index"], data["fq1"], None, fragment_mean=250, fragment_sd=40)
    assert res.info["fragment_length_source"] == "given" and not res.info["paired"]
    assert compare(pd.Series(res.tpm, index=res.names), data["truth"]["A1"])["spearman"] > 0.93


# ----------------------------------------------------------------------------- bad input


def test_truncated_gzip_fails_without_partial_output(data: dict, tmp_path: Path) -> None:
    blob = data["fq2"].read_bytes()
    bad = tmp_path / "cut_R2.fastq.gz"
    bad.write_bytes(blob[: len(blob) // 2])
    out = tmp_path / "q" / "s.tsv"
    with pytest.raises(BiometalError, match="cut_R2.fastq.gz") as exc:
        quantify_sample(data["index"], data["fq1"], bad, out, out.with_suffix(".json"))
    assert "\n" not in str(exc.value)
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not list(tmp_path.rglob(".*tmp*"))


def test_mates_with_different_read_counts(data: dict, tmp_path: Path) -> None:
    short = tmp_path / "short_R2.fastq.gz"
    with FastqWriter(short) as w:
        for i, rec in enumerate(read_fastq(data["fq2"])):
            if i == PAIRS - 10:
                break
            w.write(rec)
    with pytest.raises(BiometalError) as exc:
        quantify(data["index"], data["fq1"], short, chunk_reads=4096)
    msg = str(exc.value)
    assert f"has {PAIRS} reads but its mate file" in msg and f"has {PAIRS - 10}" in msg
    assert str(short) in msg and str(data["fq1"]) in msg


def test_malformed_fastq_names_file_and_line(data: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.fastq"
    bad.write_text("@r1\nACGT\n+\nIIII\n@r2\nACGT\nIIII\n")
    with pytest.raises(InputFormatError, match=r"bad.fastq:7: expected '\+'"):
        quantify(data["index"], bad)


def test_bases_only_reading_is_the_full_reader_without_qualities(
    data: dict, tmp_path: Path
) -> None:
    """Quantification reads bases only (``with_qual=False``): the same bases, offsets and
    mate IDs as the full reader, and a bad quality line is still an error."""
    full = list(mate_chunks(data["fq1"], data["fq2"], 3000))
    lean = list(mate_chunks(data["fq1"], data["fq2"], 3000, with_qual=False))
    assert len(full) == len(lean) > 1
    for pair_full, pair_lean in zip(full, lean, strict=True):
        for a, b in zip(pair_full, pair_lean, strict=True):
            assert a.qual.size == a.codes.size > 0 and b.qual.size == 0
            np.testing.assert_array_equal(a.codes, b.codes)
            np.testing.assert_array_equal(a.offsets, b.offsets)
            np.testing.assert_array_equal(a.id_hash, b.id_hash)
    bad = tmp_path / "badq.fastq"
    bad.write_text("@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII I\n")
    with pytest.raises(InputFormatError, match=r"badq.fastq:8: quality character 0x20"):
        quantify(data["index"], bad)


# ----------------------------------------------------------------------------- memory

RSS_CHILD = textwrap.dedent(
    """
    import sys
    from biometal.rnaseq.quant import quantify
    res = quantify(sys.argv[1], sys.argv[2], sys.argv[3], chunk_reads=4096)
    print(res.info["reads"], res.info["peak_rss_mb"])
    """
)


def _child_rss(index: Path, fq1: Path, fq2: Path) -> tuple[int, float]:
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(index), str(fq1), str(fq2)],
        capture_output=True,
        check=True,
        timeout=300,
    )
    n, peak = out.stdout.split()
    return int(n), float(peak)


def test_peak_rss_is_flat_from_n_to_10n_pairs(data: dict, tmp_path: Path) -> None:
    """Each size in a fresh process; the child reports its own VmHWM (see test_fastx)."""
    big = [tmp_path / "x10_R1.fastq.gz", tmp_path / "x10_R2.fastq.gz"]
    replicate(data["fq1"], 10, big[0])
    replicate(data["fq2"], 10, big[1])
    n1, rss1 = _child_rss(data["index"], data["fq1"], data["fq2"])
    n10, rss10 = _child_rss(data["index"], *big)
    assert (n1, n10) == (PAIRS, 10 * PAIRS)
    # 10N pairs decompress to ~100 MB of FASTQ: holding them would add that much. Measured
    # without numba (the quantifier's ahead-of-time build): 62.3 / 69.2 / 73.0 / 73.5 MB at
    # N / 3N / 10N / 30N pairs: the reader's block buffers reach their full size past N (the
    # file at N is smaller than them), then nothing grows
    assert abs(rss10 - rss1) < 16, (rss1, rss10)


# ----------------------------------------------------------------------------- tables


def test_gene_matrices_pca_and_clustering(data: dict, quant_a1: dict, tmp_path: Path) -> None:
    q2 = tmp_path / "B1.tsv"
    fq = data["dir"] / "reads"
    quantify_sample(data["index"], fq / "B1_R1.fastq.gz", fq / "B1_R2.fastq.gz", q2)
    quants = {"A1": quant_a1["path"], "B1": q2}
    out = {n: tmp_path / f"{n}.tsv" for n in ("counts", "cpm", "tpm", "log2cpm")}
    counts = gene_matrices(quants, data["dir"] / "a.gtf", *out.values())
    tx2gene = tx2gene_from_gtf(data["dir"] / "a.gtf")
    want = quant_a1["table"]["est_counts"].groupby(tx2gene).sum()
    np.testing.assert_allclose(counts["A1"], want.reindex(counts.index), atol=1e-3)
    cpm = pd.read_csv(out["cpm"], sep="\t", index_col=0)
    np.testing.assert_allclose(cpm.sum(), 1e6, rtol=1e-6)
    tpm = pd.read_csv(out["tpm"], sep="\t", index_col=0)
    np.testing.assert_allclose(tpm.sum(), 1e6, rtol=1e-5)
    log2 = pd.read_csv(out["log2cpm"], sep="\t", index_col=0)
    np.testing.assert_allclose(log2, np.log2(cpm + 1), atol=1e-5)

    # PCA against sklearn (same centring; components up to sign)
    from sklearn.decomposition import PCA

    x = np.log2(cpm[cpm.mean(axis=1) >= 1] + 1)
    scores, ratio = pca(x)
    xt = x.T.to_numpy()
    ref = PCA().fit(xt)
    np.testing.assert_allclose(np.abs(scores[:, 0]), np.abs(ref.transform(xt)[:, 0]), atol=1e-8)
    np.testing.assert_allclose(ratio[0], ref.explained_variance_ratio_[0], rtol=1e-8)

    names = ["pca", "var", "corr", "link"]
    paths = [tmp_path / f"{n}.tsv" for n in names]
    table = sample_analysis(out["cpm"], data["sheet"], *paths)
    assert list(table.index) == ["A1", "B1"] and list(table.condition) == ["A", "B"]
    corr = pd.read_csv(paths[2], sep="\t", index_col=0)
    assert corr.shape == (2, 2) and np.allclose(np.diag(corr), 1)


def test_gene_matrices_reject_a_mismatched_gtf(quant_a1: dict, tmp_path: Path) -> None:
    gtf = tmp_path / "other.gtf"
    gtf.write_text('chr1\tx\texon\t1\t10\t.\t+\t.\tgene_id "g"; transcript_id "t";\n')
    with pytest.raises(BiometalError, match="is not in the annotation"):
        gene_matrices({"A1": quant_a1["path"]}, gtf, *(tmp_path / f"{i}" for i in range(3)))
    assert not list(tmp_path.glob("[0-9]"))


def test_accuracy_metrics() -> None:
    assert mard([0, 0, 1], [0, 0, 3]) == pytest.approx((0 + 0 + 0.5) / 3)
    assert mard([2.0], [2.0]) == 0.0
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.random(50), rng.random(50)
    a[:10] = 0
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert spearman(np.zeros(5), b[:5]) == 0.0


def test_accuracy_table_and_peers(data: dict, quant_a1: dict, tmp_path: Path) -> None:
    q = quant_a1["table"].reset_index()
    kal = tmp_path / "kallisto" / "abundance.tsv"
    kal.parent.mkdir()
    q.rename(columns={"transcript_id": "target_id", "effective_length": "eff_length"}).to_csv(
        kal, sep="\t", index=False
    )
    (kal.parent / "run_info.json").write_text(json.dumps({"n_processed": PAIRS}))
    sf = tmp_path / "salmon" / "quant.sf"
    (sf.parent / "aux_info").mkdir(parents=True)
    q.rename(
        columns={
            "transcript_id": "Name",
            "length": "Length",
            "effective_length": "EffectiveLength",
            "tpm": "TPM",
            "est_counts": "NumReads",
        }
    ).to_csv(sf, sep="\t", index=False)
    (sf.parent / "aux_info" / "meta_info.json").write_text(json.dumps({"num_processed": 7}))
    runs = [("biometal", "A1", quant_a1["path"]), ("kallisto", "A1", kal), ("salmon", "A1", sf)]
    acc = accuracy_table(runs, data["dir"] / "truth_tpm.tsv", tmp_path / "acc.tsv")
    assert acc.spearman.nunique() == 1 and acc.mard.nunique() == 1  # same numbers, 3 formats
    assert reads_processed("salmon", sf) == 7
    assert reads_processed("biometal", quant_a1["path"]) == PAIRS
    with pytest.raises(BiometalError, match="no truth for sample 'Z9'"):
        accuracy_table([("biometal", "Z9", quant_a1["path"])], data["dir"] / "truth_tpm.tsv")

    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\tcpu_time\n2.0\t0:00:02\t100.5\t1.6\n")
    cost = cost_table([("biometal", "A1", quant_a1["path"], bench, 1)], tmp_path / "c.tsv")
    row = cost.iloc[0]
    assert row.reads == PAIRS and row.reads_per_s == PAIRS / 2.0
    assert row.reads_per_s_per_core == pytest.approx(PAIRS / 1.6)
    assert row.job_samples == 1
    # one job quantified three samples (a shared benchmark file): its seconds shared by reads
    small = tmp_path / "small.tsv"
    shutil.copy(quant_a1["path"], small)
    small.with_suffix(".json").write_text(json.dumps({"reads": PAIRS // 4}))
    runs = [("biometal", s, q, bench, 1) for s, q in (("a", small), ("b", small))]
    shared = cost_table([*runs, ("biometal", "c", quant_a1["path"], bench, 1)])
    assert list(shared.job_samples) == [3, 3, 3]
    assert shared.cpu_s.sum() == pytest.approx(1.6) and shared.wall_s.sum() == pytest.approx(2.0)
    assert list(shared.cpu_s) == pytest.approx([1.6 / 6, 1.6 / 6, 1.6 * 4 / 6])
    assert list(shared.reads_per_s_per_core) == pytest.approx([PAIRS * 6 / 4 / 1.6] * 3)
    assert (shared.max_rss_mb == 100.5).all()
    mem = memory_table([("kallisto", 1, kal, bench), ("kallisto", 2, kal, bench)])
    assert list(mem.peak_rss_mb) == [100.5, 100.5]
    thr = throughput_table(
        pd.DataFrame({"method": ["m"] * 3, "reads": [1e5, 2e5, 4e5], "cpu_s": [1.5, 2.0, 3.0]})
    )
    assert thr.iloc[0].fixed_cpu_s == pytest.approx(1.0)
    assert thr.iloc[0].cpu_us_per_read == pytest.approx(5.0)


def test_quantify_samples_in_one_process_equals_one_at_a_time(
    data: dict, quant_a1: dict, tmp_path: Path
) -> None:
    reads = data["dir"] / "reads"
    runs = [
        SampleRun(
            s,
            reads / f"{s}_R1.fastq.gz",
            reads / f"{s}_R2.fastq.gz",
            tmp_path / f"{s}.tsv",
            tmp_path / f"{s}.json",
        )
        for s in ("A1", "B1")
    ]
    infos = quantify_samples(data["index"], runs, chunk_reads=3000)
    assert [i["sample"] for i in infos] == ["A1", "B1"]
    assert (tmp_path / "A1.tsv").read_bytes() == quant_a1["path"].read_bytes()
    alone = tmp_path / "B1_alone.tsv"
    quantify_sample(data["index"], runs[1].fq1, runs[1].fq2, alone)
    assert (tmp_path / "B1.tsv").read_bytes() == alone.read_bytes()
    assert all(i["cpu_seconds"] > 0 for i in infos)
    # an error names the sample's file and stops there; earlier samples are complete
    bad = tmp_path / "bad_R1.fastq"
    bad.write_text("@r1\nACGT\n+\nII\n")
    with pytest.raises(InputFormatError, match="bad_R1.fastq"):
        quantify_samples(
            data["index"], [runs[0], SampleRun("bad", bad, None, tmp_path / "bad.tsv")]
        )
    assert not (tmp_path / "bad.tsv").exists()


def test_head_and_replicate(data: dict, tmp_path: Path) -> None:
    outs = [tmp_path / "h_R1.fastq.gz", tmp_path / "h_R2.fastq.gz"]
    assert head_reads([data["fq1"], data["fq2"]], outs, 1000, chunk_reads=300) == 1000
    first = [r for _, r in zip(range(1000), read_fastq(data["fq1"]), strict=False)]
    assert list(read_fastq(outs[0])) == first
    replicate(outs[1], 3, tmp_path / "x3.fastq.gz")
    with gzip.open(tmp_path / "x3.fastq.gz", "rb") as fh:
        assert fh.read() == 3 * gzip.decompress(outs[1].read_bytes())


# ----------------------------------------------------------------------------- sample sheet


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["s1\tA\ta.fq", "s1\tB\tb.fq"], r"sheet.tsv:3: duplicate sample 's1' \(first .* line 2\)"),
        (["s1\tA\ta.fq", "s2\tB\tmissing.fq"], r"sheet.tsv:3: fq1 file 'missing.fq' not found"),
        (["s1\tA\ta.fq", "s2\tB C\tb.fq"], r"sheet.tsv:3: invalid condition 'B C' for sample"),
        (["s1\tA\ta.fq", "s2\t\tb.fq"], r"sheet.tsv:3: empty value in required column 'cond"),
        (["s1\tA\ta.fq", "s2\tA\tb.fq"], r"sheet.tsv: column 'condition' needs at least 2"),
        (["s1\tA\ta.fq\ta.fq"], r"sheet.tsv:2: fq1 and fq2 are the same file"),
    ],
)
def test_sample_sheet_errors_name_the_row(tmp_path: Path, rows: list[str], message: str) -> None:
    for name in ("a.fq", "b.fq"):
        (tmp_path / name).write_text("@r\nACGT\n+\nIIII\n")
    header = "sample\tcondition\tfq1" + ("\tfq2" if any(r.count("\t") == 3 for r in rows) else "")
    (tmp_path / "sheet.tsv").write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(InputFormatError, match=message):
        read_rnaseq_sheet(tmp_path / "sheet.tsv")


def test_sample_sheet_ok(tmp_path: Path) -> None:
    for name in ("a.fq", "b.fq"):
        (tmp_path / name).write_text("@r\nACGT\n+\nIIII\n")
    (tmp_path / "sheet.tsv").write_text(
        "sample\tcondition\tfq1\tfq2\ns1\tctrl\ta.fq\tb.fq\ns2\ttreated\ta.fq\t\n"
    )
    rows = read_rnaseq_sheet(tmp_path / "sheet.tsv")
    assert [r["condition"] for r in rows] == ["ctrl", "treated"]
    assert rows[0]["fq2"] == str(tmp_path / "b.fq") and rows[1]["fq2"] == ""


def test_differential_expression_finds_planted_genes(tmp_path: Path) -> None:
    from biometal.rnaseq.matrices import differential_expression

    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(200)]
    base = rng.lognormal(5, 1, size=200)
    fc = np.ones(200)
    fc[:20] = 8.0  # 3 log2 units up in condition B
    cols = {}
    for s, f in (("a1", 1), ("a2", 1), ("a3", 1), ("b1", fc), ("b2", fc), ("b3", fc)):
        x = base * f * rng.gamma(50, 1 / 50, size=200)
        cols[s] = x / x.sum() * 1e6
    cpm = pd.DataFrame(cols, index=pd.Index(genes, name="gene_id"))
    cpm.to_csv(tmp_path / "cpm.tsv", sep="\t")
    for name in ("a.fq", "b.fq"):
        (tmp_path / name).write_text("@r\nACGT\n+\nIIII\n")
    (tmp_path / "sheet.tsv").write_text(
        "sample\tcondition\tfq1\n" + "".join(f"{s}\t{s[0].upper()}\ta.fq\n" for s in cols)
    )
    truth = pd.DataFrame({"gene_id": genes, "is_de": [1] * 20 + [0] * 180, "log2fc": np.log2(fc)})
    truth.to_csv(tmp_path / "truth.tsv", sep="\t", index=False)
    de = differential_expression(
        tmp_path / "cpm.tsv",
        tmp_path / "sheet.tsv",
        tmp_path / "de.tsv",
        truth_de=tmp_path / "truth.tsv",
        truth_out=tmp_path / "acc.tsv",
    )
    top = set(de.sort_values("pvalue").gene_id[:20])
    assert len(top & set(genes[:20])) >= 18
    assert de.set_index("gene_id").loc["g0", "log2fc"] == pytest.approx(3, abs=0.5)
    acc = pd.read_csv(tmp_path / "acc.tsv", sep="\t").iloc[0]
    assert acc.true_de == 20 and acc.auc_abs_t > 0.95 and acc.precision >= 0.9


def test_fragment_mean_beyond_the_modelled_lengths_is_an_error():
    """A single-end fragment mean no modelled length reaches (5000 bp; lengths stop at
    MAX_FRAG_LEN - 1) was a numpy RuntimeWarning and an all-zero table (third-party sweep on
    kallisto's test data); now a one-line error saying why."""
    from biometal.errors import BiometalError
    from biometal.rnaseq.em import normal_fragment_pmf

    with pytest.raises(BiometalError, match="no length in 1..999 bp has any probability"):
        normal_fragment_pmf(5000.0, 40.0, 999)
    assert normal_fragment_pmf(200.0, 20.0, 999).sum() == pytest.approx(1.0)
