"""case_study_cohort on a cohort the project did not simulate: a random reference, a truth
VCF written here (3 samples and one more the sheet leaves out), haplotypes made by
``bcftools consensus``, reads by ``wgsim``; one sample paired FASTQ, one single-end FASTQ,
one BAM aligned by ``bwa mem`` whose read group names another sample. The real snakemake
runs the target with cohort.reference / samples / truth / region; bcftools must accept the
joint VCF and the scores against the truth must be sane. Then the same cohort without a
truth: the calls are counted, not scored. Last, the same reads served as ENA runs by a
local server imitating ENA and UCSC, through config/1000g_cohort.yaml's keys (cohort.source:
ena, the workflow's ENA download path)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml

from .conftest import REPO, TINY, snakemake
from .test_seedfilter_workflow import _Handler
from .test_workflow import _jobs

TOOLS = ("wgsim", "bcftools", "bwa", "samtools", "bgzip")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"
)
CONTIGS = {"chrA": 30_000, "chrB": 12_000}
REGION = ("chrA", 2_000, 28_000)  # 0-based start, end: chrA:2001-28000
SAMPLES = ["S1", "S2", "S3"]
ALL = [*SAMPLES, "S9"]  # S9: in the truth, not in the sheet


def _sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, (cmd, out.stderr[-2000:])
    return out


def _cohort(d: Path) -> dict:
    """Reference, truth VCF, reads and the sample sheet of the test's own cohort."""
    rng = np.random.default_rng(11)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CONTIGS.items()}
    ref = d / "ref.fa"
    ref.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    lines = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={c},length={n}>" for c, n in CONTIGS.items()),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ALL),
    ]
    truth = {s: {} for s in ALL}  # sample -> {(contig, pos0, ref, alt): zygosity}
    for c, s in seqs.items():
        pos = 300
        while pos < len(s) - 300:
            indel = rng.random() < 0.1
            r = s[pos]
            if indel and rng.random() < 0.5:  # deletion of 1-3 bases
                r = s[pos : pos + 1 + rng.integers(1, 4)]
                a = s[pos]
            elif indel:  # insertion of 1-3 bases
                a = s[pos] + "".join(rng.choice(list("ACGT"), rng.integers(1, 4)))
            else:
                a = rng.choice([b for b in "ACGT" if b != r])
            f = rng.choice([0.1, 0.3, 0.5, 0.8])
            gts = [(int(rng.random() < f), int(rng.random() < f)) for _ in ALL]
            if any(sum(g) for g in gts):
                cols = [f"{x}|{y}" for x, y in gts]
                lines.append(f"{c}\t{pos + 1}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t" + "\t".join(cols))
                for name, g in zip(ALL, gts, strict=True):
                    if sum(g):
                        truth[name][(c, pos, r, a)] = "hom" if sum(g) == 2 else "het"
            pos += int(rng.integers(60, 140))
    vcf = d / "truth.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    _sh("bgzip", "-f", str(vcf))
    _sh("bcftools", "index", "-t", f"{vcf}.gz")
    reads = {}
    for k, name in enumerate(SAMPLES):
        parts = {1: [], 2: []}
        for h in (1, 2):
            hap = d / f"{name}_h{h}.fa"
            _sh("bcftools", "consensus", "-s", name, "-H", str(h), "-f", str(ref),
                "-o", str(hap), f"{vcf}.gz")  # fmt: skip
            fq = [d / f"{name}_h{h}_{m}.fq" for m in (1, 2)]
            # ~12x per haplotype: 42 kb * 12 / 200 bp; no extra mutations, 0.1% errors
            _sh("wgsim", "-N", "2500", "-1", "100", "-2", "100", "-d", "300", "-s", "30",
                "-e", "0.001", "-r", "0", "-R", "0", "-X", "0", "-S", str(10 * k + h),
                str(hap), *map(str, fq))  # fmt: skip
            for m in (1, 2):
                parts[m].append(fq[m - 1].read_text())
        reads[name] = {}
        for m in (1, 2):
            path = d / f"{name}_R{m}.fastq.gz"
            with gzip.open(path, "wt") as fh:
                fh.write("".join(parts[m]))
            reads[name][m] = path
    # S3: a BAM from bwa mem, its read group naming another sample (lab3)
    _sh("bwa", "index", str(ref))
    sam = _sh(
        "bwa", "mem", "-R", r"@RG\tID:r3\tSM:lab3", str(ref),
        str(reads["S3"][1]), str(reads["S3"][2]),
    ).stdout  # fmt: skip
    bam = d / "S3.bam"
    _sh("samtools", "sort", "-o", str(bam), "-", input=sam)
    _sh("samtools", "index", str(bam))
    sheet = d / "cohort.tsv"
    sheet.write_text(
        "sample\tfq1\tfq2\tbam\n"
        f"S1\t{reads['S1'][1].name}\t{reads['S1'][2].name}\t\n"
        f"S2\t{reads['S2'][1].name}\t\t\n"  # single-end: the first mates only
        "S3\t\t\tS3.bam\n"
    )
    return {
        "ref": ref, "truth": Path(f"{vcf}.gz"), "sheet": sheet, "alleles": truth, "reads": reads,
    }  # fmt: skip


def _config(d: Path, data: dict, *, truth: bool) -> Path:
    cfg = {
        "cohort": {
            "reference": str(data["ref"]),
            "samples": str(data["sheet"]),
            "truth": str(data["truth"]) if truth else "",
            "region": f"{REGION[0]}:{REGION[1] + 1}-{REGION[2]}",
        }
    }
    path = d / ("own_truth.yaml" if truth else "own.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_own_cohort_end_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = _cohort(data_dir)
    work = tmp_path / "run"
    work.mkdir()
    proc = snakemake(
        work, "case_study_cohort", configfiles=(TINY, _config(tmp_path, data, truth=True))
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    co = work / "results/cohort"
    bcftools = shutil.which("bcftools")
    for vcf in (co / "joint.vcf.gz", co / "peers/bcftools.vcf.gz"):
        out = subprocess.run([bcftools, "view", "-Ou", "-o", "/dev/null", str(vcf)],
                             capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 0, out.stderr
        with pysam.VariantFile(str(vcf)) as fh:
            # the BAM's SM (lab3) is renamed to the sheet's S3 for bcftools too
            assert list(fh.header.samples) == SAMPLES
            recs = list(fh)
        assert len(recs) > 50
        # every BAM was cut to the region: calls there (reads reach ~300 bp past its ends)
        assert {r.chrom for r in recs} == {"chrA"}
        assert all(REGION[1] - 400 <= r.pos <= REGION[2] + 400 for r in recs)
    # the truth as scored: the samples and region of the config, AC recounted
    with pysam.VariantFile(str(co / "data/truth.vcf.gz")) as fh:
        assert list(fh.header.samples) == SAMPLES
        for r in fh:
            gts = [a for s in SAMPLES for a in r.samples[s]["GT"]]
            assert r.info["AC"][0] == sum(a == 1 for a in gts) > 0
    ev = pd.read_csv(co / "evaluation.tsv", sep="\t")
    assert set(ev["caller"]) == {"single", "joint", "bcftools"}
    # TP + FN of every sample and type = the truth alleles written here inside the region
    for s in SAMPLES:
        inside = [
            k for k in data["alleles"][s] if k[0] == REGION[0] and REGION[1] <= k[1] < REGION[2]
        ]
        n_snp = sum(len(k[2]) == len(k[3]) == 1 for k in inside)
        for caller in ("joint", "bcftools"):
            row = ev[(ev.caller == caller) & (ev["sample"] == s)].set_index("type")
            assert row.loc["SNP", "TP"] + row.loc["SNP", "FN"] == n_snp
            assert row.loc["INDEL", "TP"] + row.loc["INDEL", "FN"] == len(inside) - n_snp
    tot = ev[ev["sample"] == "all"].set_index(["caller", "type"])
    for caller in ("joint", "bcftools", "single"):
        assert tot.loc[(caller, "SNP"), "precision"] > 0.95, tot
        assert tot.loc[(caller, "SNP"), "recall"] > 0.9, tot
    assert tot.loc[("joint", "INDEL"), "recall"] > 0.6, tot
    assert tot.loc[("joint", "SNP"), "gt_concordance"] > 0.9, tot
    rec = pd.read_csv(co / "recall_by_af_depth.tsv", sep="\t")
    assert set(rec["caller"]) == {"single", "joint", "bcftools"}
    tp = pd.read_csv(co / "site_stats_throughput.tsv", sep="\t").set_index("path")
    # covered positions of the first sample inside the region, not the whole reference
    assert 0.9 * (REGION[2] - REGION[1]) < tp.loc["numba_1t", "positions"] <= 27_000
    for f in ("recall", "throughput"):
        png = work / f"results/figures/cohort_{f}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the same cohort without a truth: calls made and counted, the table says not scored
    proc = snakemake(
        work, "case_study_cohort", configfiles=(TINY, _config(tmp_path, data, truth=False))
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    counted = pd.read_csv(co / "evaluation.tsv", sep="\t")
    assert "F1" not in counted.columns
    assert counted["note"].str.contains("no truth VCF").all()
    both = counted.merge(ev, on=["caller", "sample", "type"])
    assert (both["calls"] == both["TP"] + both["FP"]).all()
    assert pd.read_csv(co / "recall_by_af_depth.tsv", sep="\t").empty


def _scores_are_sane(co: Path) -> pd.DataFrame:
    ev = pd.read_csv(co / "evaluation.tsv", sep="\t")
    tot = ev[ev["sample"] == "all"].set_index(["caller", "type"])
    for caller in ("joint", "bcftools"):
        assert tot.loc[(caller, "SNP"), "F1"] > 0.95, tot
    return ev


@pytest.fixture
def ena_cohort(tmp_path: Path):
    """The test's cohort served as ENA runs ERR1-3 (sample aliases S1-S3) and its reference
    as UCSC's chr20.fa.gz with md5sum.txt, by a local HTTP server."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = _cohort(data_dir)
    root = tmp_path / "site"
    (root / "hg38").mkdir(parents=True)
    ref = gzip.compress(data["ref"].read_bytes())
    (root / "hg38" / "chr20.fa.gz").write_bytes(ref)
    (root / "hg38" / "md5sum.txt").write_text(f"{hashlib.md5(ref).hexdigest()}  chr20.fa.gz\n")
    rows = ["run_accession\tsample_accession\tsample_alias\tfastq_ftp\tfastq_md5\tfastq_bytes"]
    for k, name in enumerate(SAMPLES, start=1):
        run = f"ERR{k}"
        (root / "vol1" / "fastq" / run).mkdir(parents=True)
        urls, md5, size = [], [], []
        for m in (1, 2):
            dest = root / "vol1" / "fastq" / run / f"{run}_{m}.fastq.gz"
            shutil.copyfile(data["reads"][name][m], dest)
            urls.append(f"ftp.sra.ebi.ac.uk/vol1/fastq/{run}/{dest.name}")
            md5.append(hashlib.md5(dest.read_bytes()).hexdigest())
            size.append(str(dest.stat().st_size))
        rows.append("\t".join([run, f"SAMEA{k}", name, *map(";".join, (urls, md5, size))]))
    (root / "filereport.tsv").write_text("\n".join(rows) + "\n")
    _Handler.drop_once, _Handler.seen = set(), []
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", data
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_1000g_cohort_preset_keys_against_a_local_ena(ena_cohort, tmp_path: Path) -> None:
    url, data = ena_cohort
    cfg = yaml.safe_load((REPO / "config" / "1000g_cohort.yaml").read_text())
    sf = cfg["seedfilter"]
    sf["n_pairs"] = 5000  # every pair of the test's runs
    sf["ena"].update(
        samples=SAMPLES,
        portal=f"{url}/portal",
        fastq_base=url,
        retries=2,
        backoff=0.01,
        timeout=10,
        reference={
            "url": f"{url}/hg38/chr20.fa.gz",
            "md5": "",
            "md5_url": f"{url}/hg38/md5sum.txt",
        },
    )
    cfg["cohort"].update(
        region=f"{REGION[0]}:{REGION[1] + 1}-{REGION[2]}", truth=str(data["truth"])
    )
    path = tmp_path / "ena_cohort.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = tmp_path / "run"
    work.mkdir()
    proc = snakemake(work, "case_study_cohort", configfiles=(TINY, path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = pd.read_csv(work / "results/data/ena/PRJEB31736.runs.tsv", sep="\t")
    assert list(runs.run) == ["ERR1", "ERR2", "ERR3"]
    assert {f"/vol1/fastq/ERR{k}/ERR{k}_{m}.fastq.gz" for k in (1, 2, 3) for m in (1, 2)} <= set(
        _Handler.seen
    )
    co = work / "results/cohort"
    with pysam.VariantFile(str(co / "joint.vcf.gz")) as fh:
        assert list(fh.header.samples) == SAMPLES
    ev = _scores_are_sane(co)
    assert set(ev["sample"]) == {*SAMPLES, "all"}


def test_1000g_cohort_preset_dry_run(tmp_path: Path) -> None:
    """The preset as shipped resolves (no network in a dry run): the ENA rules, then the
    cohort's chain on the region."""
    proc = snakemake(
        tmp_path, "-n", "case_study_cohort", configfiles=(REPO / "config" / "1000g_cohort.yaml",)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert jobs.get("ena_filereport") == 1 and jobs.get("ena_reference") == 1
    assert jobs.get("cohort_reference") == 1 and "cohort_simulate" not in jobs
    for rule in ("cohort_map", "cohort_subset"):
        assert jobs.get(rule) == 5, (rule, jobs)
    # every gVCF and the joint VCF in one job (mapping stays per sample)
    assert jobs.get("cohort_gvcf_joint") == 1 and jobs.get("cohort_bcftools") == 1
    assert "cohort_gvcf" not in jobs and "cohort_joint" not in jobs
