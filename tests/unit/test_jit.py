"""biometal.kernels.jit: numba's decorators applied lazily, and the ahead-of-time build of
the kernels short jobs run (a cohort gVCF + joint job, a pileup command) that lets those
jobs run without importing numba. The build is made here, in a scratch folder, with
numba.pycc; whole jobs run in fresh processes on it and on numba alone, and their outputs
must be the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from biometal.kernels import jit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """A copy of the build `make setup` made, when it is fresh for this checkout (the tests
    may not touch the one jobs run); else a new build here (~60 s on a 2-core Zen 3)."""
    out = tmp_path_factory.mktemp("aot") / "build"
    if jit.status(jit.AOT_DIR) == (True, "fresh"):
        shutil.copytree(jit.AOT_DIR, out)
        manifest = json.loads((out / "manifest.json").read_text())
    else:
        manifest = jit.build(out)
    assert {(k["module"], k["qualname"]) for k in manifest["kernels"]} >= {
        ("biometal.io._bam_kernels", "parse_records"),
        ("biometal.kernels.site_stats_cpu", "site_stats_cpu_serial"),
        ("biometal.variants._kernels", "support_loci"),
        ("biometal.io._kernels", "fill_codes"),
        ("biometal.rnaseq._kernels", "pseudoalign_chunk_serial"),
    }
    return out


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> dict:
    """Three simulated samples mapped by mappy (as biometal warmup's cohort section)."""
    from biometal.simulate import simulate_reference
    from biometal.simulate.cohort import simulate_cohort
    from biometal.variants.mapping import map_reads

    work = tmp_path_factory.mktemp("cohort")
    samples = ["s1", "s2", "s3"]
    simulate_reference(work / "ref.fa", n_contigs=1, total_length=60_000, seed=3)
    simulate_cohort(
        work / "ref.fa", work / "region.fa", work / "truth.vcf.gz", samples, work,
        region_length=40_000, indel_rate=2e-3, seed=3,
    )  # fmt: skip
    bams = []
    for s in samples:
        bams.append(work / f"{s}.bam")
        map_reads(work / "region.fa", work / f"{s}_R1.fastq.gz", work / f"{s}_R2.fastq.gz",
                  bams[-1], sample=s, threads=1)  # fmt: skip
    return {"work": work, "samples": samples, "bams": bams, "ref": work / "region.fa"}


JOB = """
import json, sys
from biometal.config import load_configs
from biometal.pileup.params import pileup_params
from biometal.variants.call import CallParams
from biometal.variants.cohort_report import gvcf_joint_job
from biometal.variants.gvcf import GvcfParams

out, ref, samples, bams = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4:]
cfg = load_configs([])
g = cfg["cohort"]["gvcf"]
gvcf_joint_job(
    bams, samples, ref, [f"{out}/{s}.g.vcf.gz" for s in samples],
    [f"{out}/{s}.json" for s in samples], f"{out}/joint.vcf.gz", f"{out}/joint.json",
    pileup=pileup_params(cfg["variants"]["pileup"], threads=1, backend="cpu"),
    calling=CallParams(**cfg["variants"]["calling"]),
    gvcf=GvcfParams(gq_bands=tuple(g["gq_bands"]), evidence_min_alt=g["evidence_min_alt"]),
    backend="cpu",
)
print(json.dumps({m: m in sys.modules for m in ("numba", "scipy.special")}))
"""


def _env(aot: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (jit.ENV, jit.DIR_ENV)}
    if aot is None:
        env[jit.ENV] = "0"
    else:
        env[jit.DIR_ENV] = str(aot)
    return env


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.suffix == ".json"}


def test_cohort_job_same_bytes_without_numba(build, cohort, tmp_path):
    outs = {}
    for label, aot in (("aot", build), ("numba", None)):
        out = tmp_path / label
        out.mkdir()
        res = subprocess.run(
            [sys.executable, "-c", JOB, str(out), str(cohort["ref"]),
             ",".join(cohort["samples"]), *map(str, cohort["bams"])],
            capture_output=True, text=True, env=_env(aot), cwd=REPO,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        outs[label] = (json.loads(res.stdout.strip().splitlines()[-1]), _files(out))
    # the whole job ran on the build; neither way imported scipy.special's package
    assert outs["aot"][0] == {"numba": False, "scipy.special": False}
    assert outs["numba"][0] == {"numba": True, "scipy.special": False}
    assert outs["aot"][1] == outs["numba"][1]  # gVCFs, joint VCF and their .tbi, byte for byte
    assert len(outs["aot"][1]) == 8


def test_pileup_command_same_bytes_without_numba(build, cohort, tmp_path):
    code = (
        "import runpy, sys\n"
        "sys.argv = ['biometal.pileup', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('biometal.pileup', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "print('numba' in sys.modules)\n"
    )
    texts = {}
    # the default region, and small ones: many rolling-table blocks, each with the covered
    # spans cut from the table's (a Fortran-order copy of them once sent this to numba)
    for region in ("100000", "5000"):
        for label, aot in (("aot", build), ("numba", None)):
            out = tmp_path / f"{label}.{region}.tsv"
            res = subprocess.run(
                [sys.executable, "-c", code, str(cohort["bams"][0]), str(cohort["ref"]),
                 str(out), "-q", "20", "-Q", "13", "--threads", "1", "--region-size", region],
                capture_output=True, text=True, env=_env(aot), cwd=REPO,
            )  # fmt: skip
            assert res.returncode == 0, res.stderr[-2000:]
            assert res.stdout.strip().splitlines()[-1] == str(label == "numba")
            texts[label, region] = out.read_bytes()
    assert len(set(texts.values())) == 1 and texts["aot", "5000"].count(b"\n") > 30_000


QUANT = """
import sys
from biometal.cli import main

index, fq1, fq2, out = sys.argv[1:]
for args in ([fq1, fq2, "-o", out + ".pe.tsv"], [fq1, "-o", out + ".se.tsv"]):
    try:
        main(["quant", "-t", "1", index, *args])
    except SystemExit as e:
        assert not e.code, e.code
print("numba" in sys.modules)
"""


def test_quant_command_same_bytes_without_numba(build, tmp_path_factory, tmp_path):
    """``biometal quant -t 1``, paired and single-end: on the build without importing numba,
    the same tables as numba's."""
    from biometal.rnaseq.index import index_transcriptome
    from biometal.simulate import simulate_rnaseq, simulate_transcriptome

    d = tmp_path_factory.mktemp("rnaseq")
    simulate_transcriptome(d / "a.gtf", d / "tx.fa", n_genes=60, seed=8)
    simulate_rnaseq(
        d / "tx.fa", d / "a.gtf", d / "reads", d / "reads" / "samples.tsv", d / "counts.tsv",
        d / "tpm.tsv", d / "de.tsv", n_samples=2, reads_per_sample=5_000, seed=8,
    )  # fmt: skip
    index_transcriptome(d / "tx.fa", d / "index.npz", d / "index.json")
    fq1, fq2 = sorted((d / "reads").glob("*_R[12].fastq.gz"))[:2]
    tables = {}
    for label, aot in (("aot", build), ("numba", None)):
        out = tmp_path / label
        res = subprocess.run(
            [sys.executable, "-c", QUANT, str(d / "index.npz"), str(fq1), str(fq2), str(out)],
            capture_output=True, text=True, env=_env(aot), cwd=REPO,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        assert res.stdout.strip().splitlines()[-1] == str(label == "numba")
        tables[label] = [Path(f"{out}.{m}.tsv").read_bytes() for m in ("pe", "se")]
    assert tables["aot"] == tables["numba"]
    assert all(t.count(b"\n") > 40 for t in tables["aot"])


def test_stale_build_is_ignored(build, tmp_path):
    assert jit.status(build) == (True, "fresh")
    copy = tmp_path / "copy"
    shutil.copytree(build, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    first = sorted(manifest["sources"])[0]
    manifest["sources"][first] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    ok, why = jit.status(copy)
    assert not ok and why == f"{first} changed since the build"
    assert jit.load_exports(copy) == {}
    manifest["sources"][first] = jit._digest(first)
    manifest["cpu"] = "another"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert jit.status(copy) == (False, "built on another CPU")
    assert jit.status(tmp_path / "none")[0] is False


def test_disabled_by_environment(build, monkeypatch):
    monkeypatch.setenv(jit.ENV, "0")
    assert jit.status(build) == (False, f"{jit.ENV}=0")


def test_calls_the_build_was_not_made_for_go_to_numba(build):
    """A call whose arguments differ from the built signature (another dtype, a Fortran
    array, a read-only output) runs numba's dispatcher, with numba's result."""
    from biometal.io import _vcf_kernels as K

    exports = jit.load_exports(build)
    variants = exports[("biometal.io._vcf_kernels", "tabix_lines")]
    lazy = jit.LazyKernel(K.tabix_lines.py_func, {"cache": True, "nogil": True}, ("x",))
    call = jit._aot_caller(lazy, variants)
    text = b"c1\t5\t.\tA\tC\t.\t.\t.\nc1\t9\t.\tAT\tA\t.\t.\tEND=20\n"
    buf = np.frombuffer(text, np.uint8)

    def run(table):
        got = call(buf, table)
        return got, table.copy()

    ref_table = np.zeros((4, jit_table_cols()), np.int64)
    expected = lazy.real()(buf, ref_table)
    got, table = run(np.zeros((4, jit_table_cols()), np.int64))  # the build
    assert got == expected and (table == ref_table).all()
    got, table = run(np.asfortranarray(np.zeros((4, jit_table_cols()), np.int64)))  # numba
    assert got == expected and (table == ref_table).all()


def jit_table_cols() -> int:
    from biometal.io._vcf_kernels import TBX_COLUMNS

    return TBX_COLUMNS


def test_argument_checks_are_exact():
    check = jit._checker([["array", "<i8", 2, True], ["array", "|u1", 1, False],
                          ["scalar", "<i8"], ["scalar", "<u4"], ["scalar", "|b1"]])  # fmt: skip
    a = np.zeros((3, 2), np.int64)
    b = np.frombuffer(b"xyz", np.uint8)  # read-only: fine where the build only reads
    assert check(a, b, 5, np.uint32(3), True)
    assert check(a, b, np.int64(5), np.uint32(3), np.bool_(False))
    assert not check(a, b, 5, 3, True)  # a Python int is numba's int64, not uint32
    assert not check(a.astype(np.int32), b, 5, np.uint32(3), True)
    assert not check(a[:, :1], b, 5, np.uint32(3), True)  # not C-contiguous
    assert not check(a[0], b, 5, np.uint32(3), True)  # 1-d
    ro = a.copy()
    ro.flags.writeable = False
    assert not check(ro, b, 5, np.uint32(3), True)  # the build may write it
    assert not check(a, b, 5.0, np.uint32(3), True)
    assert not check(a, b, 5, np.uint32(3))


def test_lazy_functions_and_their_numba_objects():
    from biometal.kernels import site_stats_cpu

    with pytest.raises(ValueError, match="parallel"):
        jit.njit(parallel=True, aot="none(int64)")(lambda x: None)
    lazy = site_stats_cpu.__dict__.get("site_stats_cpu")
    real = lazy.real() if isinstance(lazy, jit.LazyKernel) else lazy
    # handed to numba: the module's globals are numba's objects, prange is numba's
    import numba

    assert site_stats_cpu.prange is numba.prange
    assert isinstance(site_stats_cpu._chunk, numba.core.registry.CPUDispatcher)
    assert real.py_func.__name__ == "site_stats_cpu"


def test_setup_build_is_fresh():
    """`make setup` (biometal warmup) built the kernels this checkout runs; after editing a
    kernel module, `python -m biometal.kernels.jit build` rebuilds them."""
    ok, why = jit.status(jit.AOT_DIR)
    if os.environ.get(jit.ENV) == "0":
        pytest.skip(f"{jit.ENV}=0")
    assert ok, f"{why}: run `python -m biometal.kernels.jit build`"


def test_worker_threads_go_to_numba(build):
    """The built functions hold the GIL; a kernel called from a worker thread (to run beside
    others, as numba's nogil dispatchers allow) runs numba's dispatcher."""
    import threading

    from biometal.io import _vcf_kernels as K

    variants = jit.load_exports(build)[("biometal.io._vcf_kernels", "tabix_lines")]
    buf = np.frombuffer(b"c1\t5\t.\tA\tC\t.\t.\t.\n", np.uint8)
    lazy = jit.LazyKernel(K.tabix_lines.py_func, {"cache": True, "nogil": True}, ("x",))
    call = jit._aot_caller(lazy, variants)
    main = call(buf, np.zeros((2, jit_table_cols()), np.int64))
    assert lazy._real is None  # the build ran it
    out = []
    worker = threading.Thread(target=lambda: out.append(
        call(buf, np.zeros((2, jit_table_cols()), np.int64))))  # fmt: skip
    worker.start()
    worker.join()
    assert lazy._real is not None and out == [main]
