"""The learned variant filter (biometal.ml.varfilter): labelling against a hand-made truth,
strata, thresholds, windows from the region loader, the model, ONNX == torch, Core ML
spec, and one end-to-end run on simulated data (candidates -> CNN -> scores)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from biometal.errors import BiometalError  # noqa: E402
from biometal.ml.varfilter import data as D  # noqa: E402
from biometal.ml.varfilter.evaluate import (  # noqa: E402
    METHODS,
    DepthSet,
    best_threshold,
    heldout_contigs,
    run_varfilter,
)
from biometal.ml.varfilter.features import site_windows  # noqa: E402
from biometal.ml.varfilter.figures import pr_curve  # noqa: E402
from biometal.ml.varfilter.model import N_CHANNELS, VarFilterCNN  # noqa: E402

# chr1: 0-based 10..19 is a run of ten A (a deletion there left-aligns to position 9's base)
CHR1 = "ACGTGCATGC" + "A" * 10 + "CGTTGCAGTCAGGTCAGTCCAGTAGCATGCATCGATCGAT" * 3
CHR2 = "GATTACAGATTACACCGGTTAACCGGTTAAGGCCTTAAGG" * 3


def _fasta(tmp: Path) -> Path:
    import pysam

    ref = tmp / "ref.fa"
    ref.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    pysam.faidx(str(ref))
    return ref


def _vcf(path: Path, records: list[tuple], sample: bool = True) -> Path:
    """A VCF with INFO AF/DP and one sample's GT; records: (chrom, pos1, ref, alt, qual,
    filter, af, dp)."""
    head = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=chr1,length={len(CHR1)}>",
        f"##contig=<ID=chr2,length={len(CHR2)}>",
        '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT fraction">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1",
    ]
    lines = [
        f"{c}\t{p}\t.\t{r}\t{a}\t{q}\t{f}\tAF={af};DP={dp}\tGT\t0/1"
        for c, p, r, a, q, f, af, dp in records
    ]
    path.write_text("\n".join(head + lines) + "\n")
    return path


@pytest.fixture()
def hand(tmp_path: Path):
    ref = _fasta(tmp_path)
    # truth: a SNP at chr1:3 (G>T), a 1-bp deletion of the A run written left-aligned
    # (anchor chr1:10, the C before the run), a SNP on chr2
    truth = _vcf(
        tmp_path / "truth.vcf",
        [
            ("chr1", 3, "G", "T", 50, "PASS", 0.5, 20),
            ("chr1", 10, "CA", "C", 50, "PASS", 0.5, 20),
            ("chr2", 5, "A", "G", 50, "PASS", 0.5, 20),
        ],
    )
    calls = _vcf(
        tmp_path / "calls.vcf",
        [
            ("chr1", 3, "G", "T", 40, "PASS", 0.45, 22),  # true
            ("chr1", 3, "G", "C", 12, "LowQual", 0.1, 22),  # wrong ALT: false
            ("chr1", 15, "AA", "A", 30, "PASS", 0.4, 20),  # the deletion, right-shifted
            ("chr1", 40, "A", "C", 8, "ErrorLike", 0.08, 25),  # false
            ("chr2", 5, "A", "G", 60, "PASS", 0.5, 18),  # true
            ("chr2", 20, "T", "TA", 15, "LowQual", 0.2, 10),  # false insertion
        ],
    )
    return ref, truth, calls


def test_label_calls_hand_made_truth(hand) -> None:
    ref, truth_vcf, calls_vcf = hand
    truth = D.load_truth(truth_vcf, ref)
    assert ("chr1", 9, "CA", "C") in truth  # 0-based anchor, left-aligned
    calls = D.read_calls(calls_vcf, ref)
    got = {
        (c, p + 1, r, a): bool(lab)
        for c, p, r, a, lab in zip(
            calls["chrom"], calls["pos"], calls["ref"], calls["alt"], D.label_calls(calls, truth),
            strict=True,
        )
    }  # fmt: skip
    # the right-shifted deletion is normalised onto the truth's representation
    assert got == {
        ("chr1", 3, "G", "T"): True,
        ("chr1", 3, "G", "C"): False,
        ("chr1", 10, "CA", "C"): True,
        ("chr1", 40, "A", "C"): False,
        ("chr2", 5, "A", "G"): True,
        ("chr2", 20, "T", "TA"): False,
    }
    row = calls[(calls["pos"] == 2) & (calls["alt"] == "C")].iloc[0]
    assert not row["passed"] and row["qual"] == 12 and row["af"] == pytest.approx(0.1)
    assert row["dp"] == 22 and row["type"] == "SNP"
    assert set(calls[calls["alt"] == "TA"]["type"]) == {"INDEL"}


def test_strata_hand_made(hand, tmp_path: Path) -> None:
    ref, truth_vcf, calls_vcf = hand
    truth = D.load_truth(truth_vcf, ref)
    calls = D.read_calls(calls_vcf, ref)
    af = dict(zip(calls["key"], calls["af"], strict=True))
    keys = list(calls["key"])
    bed = tmp_path / "rep.bed"
    bed.write_text("chr1\t35\t45\tfam1\nchr2\t0\t3\tfam2\n")
    s = D.strata(keys, ref, truth, af, bed).set_index(pd.Index(keys))
    # repeats: chr1:40 (0-based 39) lies in [35, 45); chr2:5 (0-based 4) is outside [0, 3)
    assert s.loc[[("chr1", 39, "A", "C")], "repeat"].item()
    assert not s.loc[[("chr2", 4, "A", "G")], "repeat"].item()
    # low AF: < 0.3
    assert s.loc[[("chr1", 2, "G", "C")], "low_af"].item()
    assert not s.loc[[("chr1", 2, "G", "T")], "low_af"].item()
    # near an indel: the SNP at 0-based 2 is 7 bp from the deletion's anchor (9); the
    # deletion itself has no other indel within 10 bp; chr1:40 is 30 bp away
    assert s.loc[[("chr1", 2, "G", "T")], "near_indel"].item()
    assert not s.loc[[("chr1", 9, "CA", "C")], "near_indel"].item()
    assert not s.loc[[("chr1", 39, "A", "C")], "near_indel"].item()
    # without a repeat BED: homopolymer context (the A run of chr1 is 10 bp)
    h = D.strata(keys, ref, truth, af, None).set_index(pd.Index(keys))
    assert h.loc[[("chr1", 9, "CA", "C")], "repeat"].item()
    assert not h.loc[[("chr2", 4, "A", "G")], "repeat"].item()


def _naive_best(score: np.ndarray, label: np.ndarray, n_truth: int) -> float:
    best, best_t = -1.0, 0.0
    for t in sorted(set(score.tolist()), reverse=True):
        keep = score >= t
        tp = int((keep & label).sum())
        f1 = 2 * tp / (keep.sum() + max(n_truth, 1))
        if f1 > best:
            best, best_t = f1, t
    return best_t


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.booleans()), min_size=1, max_size=40),
    st.integers(0, 10),
)
def test_best_threshold_and_pr_curve_equal_naive(rows, extra: int) -> None:
    score = np.array([float(s) for s, _ in rows])
    label = np.array([lab for _, lab in rows])
    n_truth = int(label.sum()) + extra
    assert best_threshold(score, label, n_truth) == _naive_best(score, label, n_truth)
    r, p = pr_curve(label, score, n_truth)
    ts = sorted(set(score.tolist()), reverse=True)
    assert len(r) == len(ts)
    for i, t in enumerate(ts):
        keep = score >= t
        assert p[i] == pytest.approx((keep & label).sum() / keep.sum())
        assert r[i] == pytest.approx((keep & label).sum() / max(n_truth, 1))


def test_heldout_contigs(hand) -> None:
    ref = hand[0]
    assert heldout_contigs(ref) == ["chr2"]
    assert heldout_contigs(ref, ["chr1"]) == ["chr1"]
    with pytest.raises(BiometalError, match="chrX"):
        heldout_contigs(ref, ["chrX"])
    with pytest.raises(BiometalError, match="at least one"):
        heldout_contigs(ref, ["chr1", "chr2"])


def test_model_shapes_and_probabilities() -> None:
    m = VarFilterCNN().eval()
    x = torch.rand(5, N_CHANNELS, 64)
    with torch.no_grad():
        out = m(x)
    assert out.shape == (5,)
    n_params = sum(p.numel() for p in m.parameters())
    assert 5_000 < n_params < 30_000
    # the centre column matters: changing only it changes the output
    y = x.clone()
    y[:, :, 32] += 1.0
    with torch.no_grad():
        assert not torch.allclose(m(y), out)


def test_onnx_equals_torch_and_backend(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from biometal.ml.varfilter.export import (
        VarFilterOnnxBackend,
        check_onnx,
        export_onnx,
        random_windows,
    )
    from biometal.ml.varfilter.train import predict

    torch.manual_seed(0)
    m = VarFilterCNN(width=32).eval()
    # non-trivial BatchNorm statistics, as after training
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "vf.onnx"
    export_onnx(m, path)
    diffs = check_onnx(m, path, (3, 64))
    assert max(diffs.values()) <= 1e-5
    x = random_windows(100, N_CHANNELS, 32, seed=3)
    backend = VarFilterOnnxBackend(path, providers=["CPUExecutionProvider"], batch_sizes=(16, 64))
    got = backend.predict(x)
    np.testing.assert_allclose(got, predict(m, x), atol=1e-5)
    with pytest.raises(BiometalError, match="windows"):
        backend.predict(x[0])


def test_coreml_export_spec(tmp_path: Path) -> None:
    pytest.importorskip("coremltools")
    from biometal.ml.seedfilter.export import validate_mlpackage
    from biometal.ml.varfilter.export import export_coreml

    m = VarFilterCNN(width=32).eval()
    for int8 in (False, True):
        out = tmp_path / f"vf{int8}.mlpackage"
        export_coreml(m, out, (8, 16), int8=int8)
        spec = validate_mlpackage(
            out, (8, 16), int8=int8, input_name="windows", output_name="p_real"
        )
        assert spec["batch_sizes"] == [8, 16]
        assert (spec["quantized_weight_ops"] > 0) == int8


def _bam(tmp: Path, ref: Path) -> Path:
    """Reads on chr1: 6 reads covering 0..60 with base G at 0-based position 25 in 2 of them
    (the rest match the reference), one read with a 2-bp deletion at 30..32."""
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": "chr1", "LN": len(CHR1)}, {"SN": "chr2", "LN": len(CHR2)}]}  # fmt: skip
    path = tmp / "reads.bam"
    unsorted = tmp / "u.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for i in range(6):
            seq = list(CHR1[0:60])
            if i < 2:
                seq[25] = "G" if CHR1[25] != "G" else "T"
            a = pysam.AlignedSegment()
            a.query_name, a.flag, a.reference_id, a.reference_start = f"r{i}", 0, 0, 0
            a.mapping_quality, a.cigarstring = 60, "60M"
            a.query_sequence = "".join(seq)
            a.query_qualities = pysam.qualitystring_to_array("I" * 60)
            out.write(a)
        a = pysam.AlignedSegment()
        a.query_name, a.flag, a.reference_id, a.reference_start = "d", 0, 0, 0
        a.mapping_quality, a.cigarstring = 60, "30M2D28M"
        a.query_sequence = CHR1[0:30] + CHR1[32:60]
        a.query_qualities = pysam.qualitystring_to_array("5" * 58)
        out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    pysam.index(str(path))
    return path


def test_site_windows_channels(hand, tmp_path: Path) -> None:
    ref = hand[0]
    bam = _bam(tmp_path, ref)
    alt = "G" if CHR1[25] != "G" else "T"
    calls_vcf = _vcf(tmp_path / "c.vcf", [("chr1", 26, CHR1[25], alt, 30, "PASS", 2 / 7, 7)])
    subprocess_bgzip(calls_vcf)
    cand = Path(str(calls_vcf) + ".gz")
    calls = D.read_calls(cand, ref)
    x = site_windows(ref, bam, cand, calls, width=16)
    assert x.shape == (1, N_CHANNELS, 16)
    w = x[0]
    start = 25 - 8
    for j in range(16):
        base = CHR1[start + j]
        assert w[0:4, j].tolist() == [float(base == b) for b in "ACGT"]
    # depth scale = the site's DP (7): 7 reads cover every column of the window
    np.testing.assert_allclose(w[4], 7 / 7)
    # the centre: 2 of 7 reads show the ALT base
    col = 8
    assert w[5 + "ACGT".index(alt), col] == pytest.approx(2 / 7)
    assert w[5 + "ACGT".index(CHR1[25]), col] == pytest.approx(5 / 7)
    # deletion fraction at 30..31 (columns 13, 14): 1 of 7 reads
    assert w[10, 13] == pytest.approx(1 / 7) and w[10, 15] == 0
    # quality bins: 6 reads at Q40 (bin >= 40), the deletion read at Q20 ("5")
    assert w[15, 0] == pytest.approx(6 / 7) and w[13, 0] == pytest.approx(1 / 7)
    # candidate channels at the centre only; the site's scalars everywhere
    assert w[16, col] == 1 and w[16].sum() == 1 and w[17].sum() == 0
    np.testing.assert_allclose(w[19], 0.30)
    np.testing.assert_allclose(w[20], 2 / 7, rtol=1e-3)
    np.testing.assert_allclose(w[21], 1.0)
    np.testing.assert_allclose(w[22], 0.0)


def subprocess_bgzip(path: Path) -> None:
    import pysam

    pysam.tabix_compress(str(path), str(path) + ".gz", force=True)
    pysam.tabix_index(str(path) + ".gz", preset="vcf", force=True)


def test_downsample_keeps_pairs(tmp_path: Path) -> None:
    import pysam

    ref = _fasta(tmp_path)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": len(CHR1)}]}
    src = tmp_path / "pairs.bam"
    reads = []
    for i in range(400):
        for mate, flag in ((0, 99), (1, 147)):
            a = pysam.AlignedSegment()
            a.query_name, a.flag, a.reference_id = f"p{i}", flag, 0
            a.reference_start = (i % 50) + 40 * mate
            a.mapping_quality, a.cigarstring = 60, "20M"
            a.query_sequence = CHR1[a.reference_start : a.reference_start + 20]
            a.query_qualities = pysam.qualitystring_to_array("I" * 20)
            a.next_reference_id, a.next_reference_start = 0, (i % 50) + 40 * (1 - mate)
            reads.append(a)
    reads.sort(key=lambda a: a.reference_start)
    with pysam.AlignmentFile(str(src), "wb", header=header) as out:
        for a in reads:
            out.write(a)
    out_bam = tmp_path / "half.bam"
    D.downsample_bam(src, out_bam, 0.5, seed=3)
    assert Path(str(out_bam) + ".bai").is_file()
    names = [a.query_name for a in pysam.AlignmentFile(str(out_bam))]
    counts = pd.Series(names).value_counts()
    assert set(counts) == {2}  # mates stay together
    assert 140 < len(counts) < 260  # about half of 400 pairs
    with pytest.raises(BiometalError, match="fraction"):
        D.downsample_bam(src, tmp_path / "x.bam", 1.5)
    assert ref.is_file()


def test_run_varfilter_end_to_end(tmp_path: Path) -> None:
    """Simulated 2-contig data at 12x: candidates (low thresholds) and the caller's calls,
    trained on chr-1, scored on the held-out contig; the table's counts agree with a direct
    computation from the written scores."""
    from tests.unit.variant_data import dataset

    ds = dataset(tmp_path, length=60_000, coverage=12.0, seed=11)
    pileup = {"min_mapq": 20, "min_baseq": 13, "exclude_flags": ["UNMAP", "SECONDARY", "QCFAIL",
              "DUP"], "count_orphans": False, "region_size": 100000}  # fmt: skip
    cand, own = tmp_path / "cand.vcf.gz", tmp_path / "own.vcf.gz"
    low = {"min_depth": 1, "min_alt_reads": 2, "min_af": 0.05, "theta": 0.45, "indel_theta": 0.45}
    D.call_candidates(ds.bam, ds.reference, cand, own, sample="s", pileup=pileup, calling={},
                      candidates=low)  # fmt: skip
    out = tmp_path / "out"
    table = run_varfilter(
        ds.reference,
        ds.truth,
        [DepthSet("12x", str(ds.bam), str(cand), str(own))],
        out / "t.tsv",
        out / "s.tsv",
        out / "m.pt",
        params=__import__("biometal.ml.varfilter.train", fromlist=["x"]).TrainParams(epochs=3),
        onnx_out=out / "m.onnx",
        export_report_out=out / "e.json",
    )
    assert set(table["method"]) == set(METHODS)
    scores = pd.read_csv(out / "s.tsv", sep="\t")
    held = scores[scores["heldout"]]
    assert set(held["chrom"]) == {heldout_contigs(ds.reference)[0]}
    truth = {k for k in D.load_truth(ds.truth, ds.reference) if k[0] in set(held["chrom"])}
    row = table[(table["method"] == "candidates") & (table["stratum"] == "all")].iloc[0]
    assert row["truth"] == len(truth)
    assert row["TP"] == int(held["label"].sum()) and row["FP"] == int((~held["label"]).sum())
    learned = table[(table["method"] == "learned") & (table["stratum"] == "all")].iloc[0]
    assert learned["TP"] == int((held["label"] & (held["p_real"] >= 0.5)).sum())
    assert (out / "m.onnx").is_file() and (out / "m.pt").is_file()
    with gzip.open(own) as fh:
        assert fh.read(2)  # the caller's VCF exists and is gzip
