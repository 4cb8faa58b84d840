"""case_study_variants end to end with the real snakemake: the tiny run's outputs, and the
user's own data (sample sheet errors, bad BAMs failing with one line and no VCF)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pysam
import pytest
import yaml

from .conftest import TINY, snakemake
from .test_workflow import _jobs

PEERS = [p for p in ("bcftools", "freebayes") if shutil.which(p)]


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_dry_run_lists_the_variant_rules(tmp_path: Path) -> None:
    proc = snakemake(tmp_path, "-n", "case_study_variants", configfiles=())
    assert proc.returncode == 0, proc.stderr
    jobs = _jobs(proc.stdout)
    for rule in (
        "map_reads",
        "pileup",
        "pileup_bench",
        "call_variants",
        "evaluate_variants",
        "pileup_figure",
        "variants_figure",
    ):
        assert jobs.get(rule) == 1, (rule, jobs)
    assert jobs.get("call_bcftools", 0) == int("bcftools" in PEERS)


@pytest.mark.slow
def test_variant_outputs(tiny_run: Path) -> None:
    res = tiny_run / "results"
    vcf = res / "variants" / "sim.vcf.gz"
    assert vcf.exists() and Path(f"{vcf}.tbi").exists()
    from cyvcf2 import VCF

    v = VCF(str(vcf))
    assert v.samples == ["sim"] and list(v.seqnames) == ["chr1", "chr2"]
    if shutil.which("bcftools"):
        proc = subprocess.run(["bcftools", "view", "-H", str(vcf)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    ev = pd.read_csv(res / "variants" / "eval.tsv", sep="\t")
    assert list(ev.columns) == [
        "sample",
        "caller",
        "type",
        "TP",
        "FP",
        "FN",
        "precision",
        "recall",
        "F1",
        "wall_s",
        "max_rss_mb",
    ]
    callers = ["biometal", *PEERS] + (["bcftools_q20"] if "bcftools" in PEERS else [])
    assert sorted(ev.caller.unique()) == sorted(callers)
    assert set(ev.type) == {"SNP", "INDEL"}
    truth = ev.TP + ev.FN
    assert truth.nunique() <= 2  # every caller is scored against the same truth
    bio = ev[(ev.caller == "biometal") & (ev.type == "SNP")].iloc[0]
    assert bio.precision > 0.9 and bio.wall_s > 0
    bench = pd.read_csv(res / "pileup" / "throughput.tsv", sep="\t")
    assert "samtools mpileup" in set(bench.method) or not shutil.which("samtools")
    assert (bench.median_s > 0).all()
    tsv = res / "pileup" / "sim.tsv.gz"
    import gzip

    with gzip.open(tsv, "rt") as fh:
        head = [next(fh) for _ in range(40)]
    assert any(h.startswith("#chrom\tpos\tref\tdepth") for h in head)
    for fig in ("variants_precision_recall.png", "variants_pileup_throughput.png"):
        assert (res / "figures" / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tiny_run / "logs" / "variants" / "biometal_sim.log").exists()
    assert (tiny_run / "benchmarks" / "variants" / "biometal" / "sim.tsv").exists()


def test_sample_sheet_errors_stop_before_any_job(tmp_path: Path) -> None:
    ref = tmp_path / "ref.fa"
    ref.write_text(">c\nACGT\n")
    (tmp_path / "a.fq").write_text("@r\nACGT\n+\nIIII\n")
    (tmp_path / "a.bam").write_bytes(b"")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tfq1\tbam\ns1\ta.fq\ta.bam\n")
    cfg = _write(
        tmp_path / "own.yaml", {"variants": {"reference": str(ref), "samples": str(sheet)}}
    )
    proc = snakemake(tmp_path, "-n", "case_study_variants", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    assert f"{sheet}:2: sample 's1' has both FASTQ and bam" in proc.stderr
    half = _write(tmp_path / "half.yaml", {"variants": {"samples": str(sheet)}})
    proc = snakemake(tmp_path, "-n", "case_study_variants", configfiles=(TINY, half))
    assert "variants.samples is set but variants.reference is not" in proc.stderr


def _bad_bams(src_bam: Path, ref: Path, d: Path) -> dict[str, Path]:
    """BAMs that must fail: no index, unsorted, truncated, and a mismatching reference."""
    d.mkdir()
    out = {}
    noindex = d / "noindex.bam"
    shutil.copy(src_bam, noindex)
    out["noindex"] = noindex
    unsorted = d / "unsorted.bam"
    with pysam.AlignmentFile(str(src_bam)) as bam:
        recs = list(bam.fetch(until_eof=True))
        header = bam.header.to_dict()
    header["HD"]["SO"] = "unsorted"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as o:
        for r in reversed(recs):
            o.write(pysam.AlignedSegment.fromstring(r.to_string(), o.header))
    shutil.copy(f"{src_bam}.bai", f"{unsorted}.bai")
    out["unsorted"] = unsorted
    truncated = d / "truncated.bam"
    data = src_bam.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    shutil.copy(f"{src_bam}.bai", f"{truncated}.bai")
    out["truncated"] = truncated
    return out


@pytest.mark.slow
def test_own_data_bad_bams_fail_with_one_line_and_no_vcf(tiny_run: Path, tmp_path: Path) -> None:
    src = tiny_run / "results" / "align" / "sim.bam"
    ref = tiny_run / "results" / "data" / "reference.fa"
    bams = _bad_bams(src, ref, tmp_path / "bams")
    other_ref = tmp_path / "other.fa"
    with pysam.FastaFile(str(ref)) as fa:
        other_ref.write_text("".join(f">{n}_x\n{fa.fetch(n)}\n" for n in fa.references))
    reads = tiny_run / "results" / "data" / "reads"
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tbam\tfq1\tfq2\n"
        + "".join(f"{k}\t{v}\t\t\n" for k, v in bams.items())
        + f"fastq\t\t{reads / 'sim_R1.fastq.gz'}\t{reads / 'sim_R2.fastq.gz'}\n"
    )
    work = tmp_path / "run"
    work.mkdir()
    expected = {
        "noindex": "BAM index not found",
        "unsorted": "BAM is not coordinate-sorted (header @HD SO:unsorted)",
        "truncated": "truncated BAM",
    }
    cfg = _write(
        tmp_path / "own.yaml",
        {
            "variants": {
                "reference": str(ref),
                "samples": str(sheet),
                "peers": [],
                "bench": {"repeats": 0},
            }
        },
    )
    proc = snakemake(work, "--keep-going", "case_study_variants", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    for sample, message in expected.items():
        lines = [
            ln
            for ln in proc.stderr.splitlines()
            if ln.startswith("error: ") and str(bams[sample]) in ln
        ]
        assert any(message in ln for ln in lines), (sample, proc.stderr[-3000:])
        assert not (work / "results" / "variants" / f"{sample}.vcf.gz").exists()
        assert not list((work / "results" / "variants").glob(f".{sample}.vcf.gz*"))
        log = (work / "logs" / "variants" / f"biometal_{sample}.log").read_text()
        assert "Traceback" not in log and message in log
    # the sample given as FASTQ was mapped and called despite the failing ones
    assert (work / "results" / "align" / "fastq.bam.bai").exists()
    assert (work / "results" / "variants" / "fastq.vcf.gz.tbi").exists()
    # a reference that does not match the BAM's contigs
    good_sheet = tmp_path / "one.tsv"
    shutil.copy(src, tmp_path / "bams" / "good.bam")
    shutil.copy(f"{src}.bai", tmp_path / "bams" / "good.bam.bai")
    good_sheet.write_text(f"sample\tbam\ngood\t{tmp_path / 'bams' / 'good.bam'}\n")
    cfg2 = _write(
        tmp_path / "own2.yaml",
        {
            "variants": {
                "reference": str(other_ref),
                "samples": str(good_sheet),
                "peers": [],
                "bench": {"repeats": 0},
            }
        },
    )
    proc = snakemake(work, "--keep-going", "case_study_variants", configfiles=(TINY, cfg2))
    assert proc.returncode != 0
    assert "contig 'chr1' of the BAM is not in the reference" in proc.stderr
    assert not (work / "results" / "variants" / "good.vcf.gz").exists()
