"""The ``biometal`` command: help and version, each subcommand's output against the library
function it wraps (and ``bwa fastmap`` where installed), ``-`` for stdin/stdout, exit codes
(1 for bad input with one line on stderr, 2 for usage errors, 130 for Ctrl-C), no partial
outputs. Real files; subprocess runs of ``python -m biometal`` and in-process ``main``."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from variant_data import dataset

from biometal import __version__
from biometal.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = (
    "pileup",
    "call",
    "joint",
    "vcf",
    "index",
    "quant",
    "fmindex",
    "fastmap",
    "align",
    "tokenize",
    "qc",
    "recalibrate",
    "config",
    "trim",
    "intervals",
    "coverage",
    "assemble",
    "classify",
    "dnabert-export",
)


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``python -m biometal ARGS`` in a fresh process (bytes in, bytes out)."""
    return subprocess.run(
        [sys.executable, "-m", "biometal", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def one_error_line(stderr: str, command: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"biometal {command}: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    """Temporary files of the atomic writers left in ``directory``."""
    return [p.name for p in directory.iterdir() if ".tmp" in p.name]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    """20 kb reference (2 contigs), 8x paired reads, mappy BAM with read group SM=S1."""
    return dataset(tmp_path_factory.mktemp("cli"), length=20_000, coverage=8.0)


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fastq(path: Path, n: int, seed: int = 0, length: int = 60) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for i in range(n):
            seq = "".join(rng.choice(list("ACGTN"), length, p=[0.24, 0.25, 0.25, 0.24, 0.02]))
            qual = "".join(chr(33 + int(q)) for q in rng.integers(2, 41, length))
            fh.write(f"@read{i} extra words\n{seq}\n+\n{qual}\n")
    return path


# ------------------------------------------------------------------ help, version, usage


def _parsers(parser: argparse.ArgumentParser):
    yield "biometal", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_option_has_help() -> None:
    parsers = dict(_parsers(build_parser()))
    assert set(COMMANDS) <= set(parsers)
    for name, parser in parsers.items():
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, choice.dest


def _parse_output(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str, object]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = vars(parser.parse_args(argv))
        except SystemExit as exc:
            result = exc.code
    return out.getvalue(), err.getvalue(), result


def test_one_command_parser_parses_as_the_full_one() -> None:
    """``main`` builds only its command's parser in full (``build_parser(only)``): the help
    of every command and of ``biometal``, a parse, and the errors of a bad option and of an
    unknown command are what the full parser gives."""
    full = build_parser()
    commands = full._subparsers._group_actions[0].choices  # noqa: SLF001
    argvs = [[c, "--help"] for c in commands]
    argvs += [[c, "--no-such-option"] for c in commands]
    argvs += [["classify", m, "--help"] for m in ("build", "reads")]
    argvs += [["pileup", "a.bam", "r.fa", "o.tsv", "-q", "20", "-Q", "13", "--threads", "1"]]
    argvs += [["joint", "r.fa", "o.vcf.gz", "a.bam", "b.bam", "--evidence-min-alt", "2"]]
    argvs += [["classify", "reads", "r1.fq", "-x", "i.npz", "--min-hits", "3"]]
    for argv in argvs:
        got = _parse_output(build_parser(argv[0]), argv)
        assert got == _parse_output(build_parser(), argv), argv
        assert got[0] or got[1] or isinstance(got[2], dict), argv  # help, error or a parse
    for argv in (["--help"], ["no-such-command"], []):
        for only in ("pileup", "classify", "no-such-command"):
            assert _parse_output(build_parser(only), argv) == _parse_output(full, argv), argv
    # the others are listed, not built
    assert not build_parser("pileup")._subparsers._group_actions[0].choices["call"]._actions  # noqa: SLF001


def test_help_and_version_fast_and_light() -> None:
    """``biometal --help`` imports neither numpy, numba, pandas nor torch."""
    code = (
        "import sys\nfrom biometal.cli import main\nrc = main(['--help'])\n"
        "heavy = [m for m in ('numpy', 'numba', 'pandas', 'torch', 'scipy') if m in sys.modules]\n"
        "sys.stderr.write(f'rc={rc} heavy={heavy}')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.stderr == "rc=0 heavy=[]", proc.stderr
    out = proc.stdout
    for command in COMMANDS:
        assert re.search(rf"^    {command}\s", out, re.M), command  # long names wrap
    assert "exit status" in out and "130" in out and "BIOMETAL_BACKEND" in out
    version = run("--version")
    assert version.returncode == 0 and version.stdout.decode().strip() == f"biometal {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_help(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: biometal {command}") and "example:" in out
    assert "exit status" in out


def test_usage_errors_exit_2(capsys) -> None:
    assert main(["qc", "--no-such-option", "x.fq"]) == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
    assert main(["index", "tx.fa", "i.npz", "-k", "24"]) == 2  # k must be odd
    assert "odd integer" in capsys.readouterr().err
    assert main(["call", "a.bam", "r.fa", "-"]) == 2  # a VCF + index cannot go to stdout
    assert main(["nosuchcommand"]) == 2
    # the joint step's threshold is joint's option alone (call would ignore it)
    assert main(["call", "--joint-min-qual", "5", "a.bam", "r.fa", "o.vcf.gz"]) == 2
    assert "unrecognized arguments: --joint-min-qual" in capsys.readouterr().err
    assert main([]) == 2
    proc = run("align", "--mode", "sideways", "q.fa", "t.fa")
    assert proc.returncode == 2 and b"invalid choice: 'sideways'" in proc.stderr


# ------------------------------------------------------------------ pileup and call


def test_pileup_equals_library(ds, work: Path) -> None:
    from biometal.pileup.engine import PileupParams
    from biometal.pileup.tsv import write_pileup_tsv

    args = [str(ds.bam), str(ds.reference)]
    assert main(["pileup", *args, "cli.tsv.gz", "-q", "20", "-t", "2"]) == 0
    write_pileup_tsv(ds.bam, work / "lib.tsv.gz", PileupParams(min_mapq=20), reference=ds.reference)
    lib = gzip.decompress((work / "lib.tsv.gz").read_bytes())
    assert gzip.decompress((work / "cli.tsv.gz").read_bytes()) == lib
    assert lib.count(b"\n") > 15_000
    # '-': the plain TSV on stdout; python -m biometal.pileup is the same command
    proc = run("pileup", *args, "-", "-q", "20")
    assert proc.returncode == 0 and proc.stdout == lib, proc.stderr
    old = subprocess.run(
        [sys.executable, "-m", "biometal.pileup", *args, str(work / "old.tsv.gz"), "-q", "20"],
        capture_output=True,
        check=False,
    )
    assert old.returncode == 0, old.stderr
    assert gzip.decompress((work / "old.tsv.gz").read_bytes()) == lib


def test_call_equals_library(ds, work: Path) -> None:
    from biometal.pileup.engine import PileupParams
    from biometal.variants.call import call_variants

    assert main(["call", str(ds.bam), str(ds.reference), "cli.vcf.gz"]) == 0
    call_variants(
        ds.bam, ds.reference, work / "lib.vcf.gz", sample="S1", pileup=PileupParams(min_mapq=20)
    )
    cli = gzip.decompress((work / "cli.vcf.gz").read_bytes()).decode()
    assert cli == gzip.decompress((work / "lib.vcf.gz").read_bytes()).decode()
    assert (work / "cli.vcf.gz.tbi").stat().st_size > 0
    assert "\tS1\n" in cli and sum(not ln.startswith("#") for ln in cli.splitlines()) > 10


def test_joint_equals_library(ds, work: Path, capsys) -> None:
    """`biometal joint` (two samples: the same BAM under two names) writes what
    gvcf_joint_job writes, gVCFs into --gvcf-dir, CPU JSONs into --cpu-dir."""
    from biometal.pileup.engine import PileupParams
    from biometal.variants.call import CallParams
    from biometal.variants.cohort_report import gvcf_joint_job
    from biometal.variants.gvcf import GvcfParams

    bam, ref = str(ds.bam), str(ds.reference)
    argv = ["joint", ref, "out/joint.vcf.gz", bam, bam, "--samples", "A,B"]
    assert main([*argv, "--gvcf-dir", "g", "--cpu-dir", "cpu", "--gq-bands", "5,20"]) == 0
    lib = work / "lib"
    gvcf_joint_job(
        [bam, bam], ["A", "B"], ref, [lib / "A.g.vcf.gz", lib / "B.g.vcf.gz"], None,
        lib / "joint.vcf.gz", None, pileup=PileupParams(min_mapq=20, threads=1),
        calling=CallParams(), gvcf=GvcfParams(gq_bands=(5, 20)),
    )  # fmt: skip

    def body(path: Path) -> str:  # the ## header names paths and the command
        text = gzip.decompress(path.read_bytes()).decode()
        return "".join(ln for ln in text.splitlines(True) if not ln.startswith("##"))

    for name in ("A", "B"):
        assert body(work / "g" / f"{name}.g.vcf.gz") == body(lib / f"{name}.g.vcf.gz")
        assert (work / "g" / f"{name}.g.vcf.gz.tbi").stat().st_size > 0
        assert json.loads((work / "cpu" / f"gvcf_{name}.json").read_text())["cpu_s"] > 0
    joint = body(work / "out" / "joint.vcf.gz")
    assert joint == body(lib / "joint.vcf.gz") and joint.count("\n") > 10
    assert "\tFORMAT\tA\tB\n" in joint and "<NON_REF>" not in joint
    assert (work / "out" / "joint.vcf.gz.tbi").stat().st_size > 0
    # default sample names: each BAM's read-group SM; gVCFs next to OUT
    assert main(["joint", ref, "one/joint.vcf.gz", bam]) == 0
    assert (work / "one" / "S1.g.vcf.gz").is_file() and not (work / "one" / "cpu").exists()
    capsys.readouterr()


def test_joint_errors_are_one_line(ds, work: Path, capsys) -> None:
    bam, ref = str(ds.bam), str(ds.reference)
    assert main(["joint", ref, "j.vcf.gz", bam, bam]) == 1  # both BAMs are SM S1
    assert "sample 'S1' is named by more than one BAM" in one_error_line(
        capsys.readouterr().err, "joint"
    )
    assert main(["joint", ref, "j.vcf.gz", bam, "--samples", "A,B"]) == 1
    assert "--samples: 2 names for 1 BAMs" in one_error_line(capsys.readouterr().err, "joint")
    assert main(["joint", ref, "j.vcf.gz", bam, "missing.bam", "--samples", "A,B"]) == 1
    assert "missing.bam: BAM file not found" in one_error_line(capsys.readouterr().err, "joint")
    assert main(["joint", ref, "j.vcf.gz", bam, "--gq-bands", "20,5"]) == 1
    assert "gq_bands must be increasing" in one_error_line(capsys.readouterr().err, "joint")
    assert not list(work.iterdir())  # nothing written, not even the first sample's gVCF
    assert main(["joint", ref, "-", bam]) == 2  # a VCF + index cannot go to stdout


def test_bam_errors_are_one_line(ds, work: Path, capsys) -> None:
    assert main(["pileup", "missing.bam", str(ds.reference), "out.tsv.gz"]) == 1
    assert "missing.bam: BAM file not found" in one_error_line(capsys.readouterr().err, "pileup")
    assert main(["pileup", str(ds.bam), str(ds.reference), "o.tsv.gz", "--ff", "NOPE"]) == 1
    assert "unknown SAM flag name 'NOPE'" in one_error_line(capsys.readouterr().err, "pileup")
    assert not list(work.iterdir())


# ------------------------------------------------------------------ index + quant


def test_index_and_quant_equal_library(ds, work: Path, capsys) -> None:
    from biometal.rnaseq.quant import quantify, write_quant

    assert main(["index", str(ds.reference), "tx.npz", "-k", "25", "--stats", "tx.json"]) == 0
    assert (work / "tx.npz").stat().st_size > 0 and '"k": 25' in (work / "tx.json").read_text()
    reads = [str(ds.r1), str(ds.r2)]
    assert main(["quant", "tx.npz", *reads, "-o", "q.tsv", "--info", "q.json", "-t", "1"]) == 0
    write_quant(quantify(work / "tx.npz", *reads, threads=1), work / "lib.tsv")
    assert (work / "q.tsv").read_text() == (work / "lib.tsv").read_text()
    assert '"paired": true' in (work / "q.json").read_text()
    capsys.readouterr()
    assert main(["quant", "tx.npz", reads[0], "-t", "1"]) == 0  # single-end, to stdout
    out = capsys.readouterr().out
    assert out.startswith("transcript_id\tlength\teffective_length\test_counts\ttpm\n")
    assert len(out.splitlines()) == 3


# ------------------------------------------------------------------ fmindex + fastmap


@pytest.fixture(scope="module")
def fm(ds, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fm") / "ref.fm.npz"
    assert main(["fmindex", str(ds.reference), str(out)]) == 0
    return out


@pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed (oracle)")
def test_fastmap_equals_bwa_fastmap(ds, fm: Path, work: Path) -> None:
    ref = work / "ref.fa"
    shutil.copy(ds.reference, ref)
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    for opts in ([], ["-l", "25", "-w", "3"]):
        bwa = subprocess.run(
            ["bwa", "fastmap", *opts, str(ref), str(ds.r1)], check=True, capture_output=True
        ).stdout
        assert main(["fastmap", str(fm), str(ds.r1), "-o", "ours.txt", *opts]) == 0
        assert (work / "ours.txt").read_bytes() == bwa, opts
        assert bwa.count(b"\nEM\t") > 500


def test_fastmap_stdin_and_fasta_reference(ds, fm: Path, work: Path) -> None:
    from biometal.align.smem import FMIndex, find_smems, format_fastmap
    from biometal.io.fastx import read_fastq_chunks

    reads = gzip.decompress(ds.r1.read_bytes())
    proc = run("fastmap", str(ds.reference), "-", stdin=reads)  # FASTA: indexed in memory
    assert proc.returncode == 0, proc.stderr
    chunk = next(read_fastq_chunks(ds.r1, 100_000, with_names=True))
    names = [n.decode().split()[0] for n in chunk.names]
    index = FMIndex.load(fm)
    seeds = find_smems(index, chunk.codes, chunk.offsets, 17)
    assert proc.stdout.decode() == format_fastmap(index, names, np.diff(chunk.offsets), seeds)


# ------------------------------------------------------------------ align


def test_align_equals_library(work: Path, capsys) -> None:
    from biometal.align import Scoring, align_batch

    rng = np.random.default_rng(5)
    queries = ["".join(rng.choice(list("ACGT"), int(rng.integers(0, 80)))) for _ in range(50)]
    targets = []
    for q in queries:  # a mutated copy with flanks
        t = [c if rng.random() > 0.1 else "ACGT"[int(rng.integers(4))] for c in q]
        targets.append("GATTACA" + "".join(t) + "CCA")
    (work / "q.fa").write_text("".join(f">q{i} d\n{s}\n" for i, s in enumerate(queries)))
    (work / "t.fq").write_text(
        "".join(f"@t{i}\n{s}\n+\n{'I' * len(s)}\n" for i, s in enumerate(targets))
    )
    scoring = Scoring(match=1, mismatch=-2, gap_open=3, gap_extend=1)
    opts = ["--match", "1", "--mismatch", "-2", "--gap-open", "3", "--gap-extend", "1"]
    for mode in ("local", "global", "semiglobal"):
        assert main(["align", "q.fa", "t.fq", "-m", mode, *opts, "-o", f"{mode}.tsv"]) == 0
        rows = [ln.split("\t") for ln in (work / f"{mode}.tsv").read_text().splitlines()]
        assert rows[0][:3] == ["query", "target", "score"] and len(rows) == 51
        want = align_batch(queries, targets, scoring, mode, traceback=True).to_records()
        for i, (row, rec) in enumerate(zip(rows[1:], want, strict=True)):
            assert row[:2] == [f"q{i}", f"t{i}"]
            assert [int(x) for x in row[2:7]] == [
                rec[k] for k in ("score", "query_start", "query_end", "target_start", "target_end")
            ]
            assert row[9] == (rec["cigar"] or "*")  # an empty alignment: *, as in SAM
    # one target record: every query against it, to stdout
    (work / "one.fa").write_text(f">only\n{targets[0]}\n")
    capsys.readouterr()
    assert main(["align", "q.fa", "one.fa", "--no-traceback", "--batch", "7"]) == 0
    rows = [ln.split("\t") for ln in capsys.readouterr().out.splitlines()[1:]]
    want = align_batch(queries, [targets[0]] * len(queries), Scoring()).score.tolist()
    assert [int(r[2]) for r in rows] == want and {r[1] for r in rows} == {"only"}
    assert {r[9] for r in rows} == {"*"}
    # different record counts: one line, no output file
    (work / "two.fa").write_text(">a\nACGT\n>b\nACGT\n")
    assert main(["align", "q.fa", "two.fa", "-o", "bad.tsv"]) == 1
    err = one_error_line(capsys.readouterr().err, "align")
    assert "q.fa has 50 records but two.fa has 2" in err
    assert not (work / "bad.tsv").exists() and not leftovers(work)


# ------------------------------------------------------------------ tokenize


def test_tokenize_npy_and_tsv_equal_library(work: Path, capsys, monkeypatch) -> None:
    from biometal.io.fastx import read_fastq_chunks
    from biometal.ml.tokenizer import KmerTokenizer

    fq = _fastq(work / "r.fq", 300, length=40)
    assert main(["tokenize", "-k", "4", "--max-length", "20", "--chunk-reads", "64", str(fq),
                 "-o", "t.npy", "--save-vocab", "vocab.txt"]) == 0  # fmt: skip
    got = np.load(work / "t.npy")
    tok = KmerTokenizer(4)
    want = tok.encode_chunk(next(read_fastq_chunks(fq, 1000)), max_length=20)
    assert got.dtype == np.int32 and np.array_equal(got, want.ids)
    assert (work / "vocab.txt").read_text().splitlines() == tok.vocab
    # TSV on stdout from stdin, vocabulary from the file, quality masking
    data = fq.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["tokenize", "--vocab", "vocab.txt", "--mask-below", "20", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    masked = tok.encode_chunk(next(read_fastq_chunks(fq, 1000)), max_length=512, mask_below=20)
    assert lines[0] == "read\tn_tokens\ttoken_ids" and len(lines) == 301
    for i in (0, 150, 299):
        name, n, ids = lines[i + 1].split("\t")
        assert name == f"read{i}" and int(n) == masked.n_tokens[i]
        assert [int(x) for x in ids.split()] == masked.ids[i, : int(n)].tolist()
    assert tok.mask_id in masked.ids
    assert main(["tokenize", "-k", "3", "--stride", "4", str(fq)]) == 1
    assert "stride must be an integer in 1..k (3)" in capsys.readouterr().err


# ------------------------------------------------------------------ qc and input errors


def test_qc_equals_library(work: Path, capsys) -> None:
    from biometal.qc import SUMMARY_COLUMNS, fastq_stats

    r1, r2 = _fastq(work / "s_R1.fq", 200, 1), _fastq(work / "s_R2.fq", 150, 2, length=75)
    assert main(["qc", str(r1), str(r2), "--hist", "h.tsv", "-Q", "25", "-t", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == SUMMARY_COLUMNS and len(lines) == 3
    for line, path in zip(lines[1:], (r1, r2), strict=True):
        row = dict(zip(SUMMARY_COLUMNS, line.split("\t"), strict=True))
        want = fastq_stats(path, quality_threshold=25).summary()
        assert row["sample"] == "s_R1" and row["file"] == str(path)
        assert int(row["reads"]) == want["reads"] and int(row["bases"]) == want["bases"]
        assert float(row["mean_quality"]) == pytest.approx(want["mean_quality"], rel=1e-5)
        assert float(row["gc_fraction"]) == pytest.approx(want["gc_fraction"], rel=1e-5)
    assert "gc_fraction" in (work / "h.tsv").read_text()


def test_missing_and_malformed_input(work: Path, capsys) -> None:
    proc = run("qc", str(work / "missing.fq"))  # a real process: no traceback, exit 1
    assert proc.returncode == 1 and proc.stdout == b""
    assert "missing.fq: no such file" in one_error_line(proc.stderr.decode(), "qc")
    good = _fastq(work / "good.fq", 20)
    bad = work / "bad.fq"
    bad.write_text(good.read_text() + "@broken\nACGT\n+\nIII\n")
    (work / "ref.fa").write_text(">c\n" + "ACGTTGCAAGGCTTAACCGGTA" * 40 + "\n")
    cases = {
        "qc": [str(good), str(bad)],
        "tokenize": [str(bad)],
        "fastmap": ["ref.fa", str(bad)],
        "align": [str(bad), str(good)],
        "quant": ["missing.idx.npz", str(bad)],
        "index": ["missing.fa", "idx.npz"],
    }
    for command, args in cases.items():
        out = [] if command == "index" else ["-o", "out.txt"]
        code = main([command, *args, *out])
        err = capsys.readouterr().err
        assert code == 1, (command, err)
        line = one_error_line(err, command)
        if command in ("quant", "index"):
            assert "missing." in line and ("no such file" in line or "not found" in line), line
        else:
            assert f"{bad}:84: sequence length 4 != quality length 3" in line, line
        assert not (work / "out.txt").exists() and not leftovers(work)


def test_backend_and_unwritable_output(work: Path, capsys) -> None:
    from biometal.kernels import metal_available

    fq = _fastq(work / "r.fq", 10)
    if not metal_available():
        assert main(["qc", str(fq), "--backend", "metal"]) == 1
        assert "metal" in one_error_line(capsys.readouterr().err, "qc")
    (work / "file").write_text("")
    assert main(["qc", str(fq), "-o", str(work / "file" / "sub" / "x.tsv")]) == 1
    one_error_line(capsys.readouterr().err, "qc")


def test_interrupt_exits_130_without_partial_output(work: Path, capsys, monkeypatch) -> None:
    import biometal.qc

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    fq = _fastq(work / "r.fq", 10)
    monkeypatch.setattr(biometal.qc, "fastq_stats", interrupted)
    assert main(["qc", str(fq), "-o", "out.tsv"]) == 130
    assert capsys.readouterr().err == "biometal qc: interrupted\n"
    assert not (work / "out.tsv").exists() and not leftovers(work)


def test_ctrl_c_inside_a_compiled_call_is_an_interrupt() -> None:
    """numba turns a KeyboardInterrupt raised while it loads or runs a function into a
    SystemError caused by it; that is still Ctrl-C (exit 130), any other SystemError a bug."""
    from biometal.cli import _interrupted

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("returned a result with an exception set") from ki
    except SystemError as exc:
        assert _interrupted(exc)
    assert not _interrupted(SystemError("other"))
    assert _interrupted(KeyboardInterrupt())


def test_ctrl_c_in_a_real_process(work: Path) -> None:
    """SIGINT while the command streams stdin: exit 130, one line, no output file."""
    reads = b"".join(b"@r%d\n%s\n+\n%s\n" % (i, b"ACGT" * 40, b"I" * 160) for i in range(6000))
    # the child starts with SIGINT's default action: a suite started in the background by a
    # non-interactive shell (`cmd &`) has SIGINT ignored, which children inherit and Python
    # then leaves ignored (the cause of the hangs this test saw in such runs: its stacks
    # showed the main thread polling and SIGINT never handled)
    proc = subprocess.Popen(
        [sys.executable, "-m", "biometal", "qc", "-", "-o", "out.tsv", "-v", "--chunk-reads",
         "100"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=work,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        proc.stdin.write(reads)
        proc.stdin.flush()
        assert b"reads" in proc.stderr.readline()  # it is streaming; stdin stays open
        proc.send_signal(signal.SIGINT)
        # the OS may deliver the signal to any thread (numba's workers, the stdin reader):
        # the main thread must still notice it while stdin stays open and idle: on a hang,
        # SIGABRT makes faulthandler print every thread's stack, so the failure says where
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            proc.wait(30)
            pytest.fail("no exit 60 s after SIGINT; stacks:\n" + proc.stderr.read().decode())
        assert code == 130
        assert proc.stderr.read().decode().splitlines()[-1] == "biometal qc: interrupted"
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stderr.close()
    assert not (work / "out.tsv").exists() and not leftovers(work)


# ------------------------------------------------------------------ README


def _readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## The biometal command\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_examples_run(ds, work: Path) -> None:
    """Every example of the README's section runs as printed, from a stand-in repository root
    holding what ``make run`` makes (links to the small data set)."""
    lines = _readme_examples()
    used = {line.split()[1] for line in lines if line.startswith("biometal ")}
    assert used == set(COMMANDS) - {"align"} and any("| biometal align" in ln for ln in lines)
    checkpoint = _tiny_dnabert(work / "stand-in")
    links = {
        "results/data/reference.fa": ds.reference,
        "results/data/reference.fa.fai": Path(f"{ds.reference}.fai"),
        "results/align/sim.bam": ds.bam,
        "results/align/sim.bam.bai": Path(f"{ds.bam}.bai"),
        "results/data/reads/sim_R1.fastq.gz": ds.r1,
        "results/data/reads/sim_R2.fastq.gz": ds.r2,
        "results/data/transcriptome/transcripts.fa": ds.reference,
        "results/data/rnaseq/rna01_R1.fastq.gz": ds.r1,
        "results/data/rnaseq/rna01_R2.fastq.gz": ds.r2,
        "results/data/metagenome/meta_R1.fastq.gz": ds.r1,
        "results/data/metagenome/meta_R2.fastq.gz": ds.r2,
        "results/data/metagenome/genomes.fa": ds.reference,
        "results/cohort/data/ref.fa": ds.reference,
        "results/cohort/data/ref.fa.fai": Path(f"{ds.reference}.fai"),
        **{
            f"results/cohort/bam/C0{i}.bam{x}": Path(f"{ds.bam}{x}")
            for i in (1, 2, 3)
            for x in ("", ".bai")
        },
        "results/dnabert/models/standard.pt": checkpoint,
        "config": ROOT / "config",
    }
    for name, target in links.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).symlink_to(target)
    python = f"{sys.executable} -m biometal "
    for line in lines:
        command = re.sub(r"(^|\| )biometal ", lambda m: m.group(1) + python, line)
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, (line, proc.stderr)
        assert "error" not in proc.stderr, (line, proc.stderr)
    out = work / "results/cli"
    for name in (
        "sim.pileup.tsv.gz",
        "sim.vcf.gz.tbi",
        "rna01.quant.tsv",
        "sim_R1.smems.txt",
        "cohort.vcf.gz.tbi",
        "gvcf/C03.g.vcf.gz.tbi",
    ):
        assert (out / name).stat().st_size > 0, name
    assert np.load(out / "meta_R1.tokens.npy").shape[1] == 64
    assert "project: PRJEB31736" in (out / "1000g.config.yaml").read_text()
    rows = [ln.split("\t") for ln in (out / "meta.classes.tsv").read_text().splitlines()]
    assert rows[0][:2] == ["read", "class"] and len(rows) - 1 == _count_reads(ds.r1)
    right = sum(r[1] == r[0].rsplit("_", 1)[0] for r in rows[1:])  # reads named contig_i
    assert right > 0.9 * (len(rows) - 1)
    assert json.loads((out / "dnabert.export.json").read_text())["output"] == "hidden"


def _count_reads(fastq: Path) -> int:
    return gzip.decompress(fastq.read_bytes()).count(b"\n") // 4


def _tiny_dnabert(directory: Path) -> Path:
    """A small random DNABERT encoder checkpoint, as the case study saves one."""
    import torch

    from biometal.ml.dnabert.model import BertConfig, BertMLM

    torch.manual_seed(0)
    model = BertMLM(BertConfig(5 + 4**3, 24, 32, 2, 4, 64)).eval()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "standard.pt"
    torch.save({"state_dict": model.state_dict(), "meta": {"model": model.config.to_dict()}}, path)
    return path


def test_config_checks_layered_files(tmp_path: Path, capsys) -> None:
    """`biometal config`: what the workflow would run with, or one line naming file:line/key."""
    assert main(["config", "-w", str(ROOT), str(ROOT / "config" / "1000g.yaml")]) == 0
    out = capsys.readouterr().out
    assert "source: ena" in out and "chunk_reads: 65536" in out  # preset on the defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("qc:\n  samples: [1\n")
    cases = {
        str(tmp_path / "missing.yaml"): "missing.yaml: config file not found",
        str(bad): "bad.yaml:3: not valid YAML",
    }
    for path, message in cases.items():
        assert main(["config", "-w", str(ROOT), path]) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and message in err, err
    bad.write_text("qc:\n  quality_treshold: 3\n")
    assert main(["config", "-w", str(ROOT), str(bad)]) == 1
    assert "did you mean 'quality_threshold'?" in capsys.readouterr().err
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tfq1\nx\tnot_there.fq\n")
    bad.write_text(f"qc:\n  samples: {sheet}\n")
    assert main(["config", "-w", str(ROOT), str(bad)]) == 1
    assert "s.tsv:2:" in capsys.readouterr().err


def test_calling_commands_start_one_blas_thread(tmp_path) -> None:
    """Commands that call no BLAS (pileup, call, joint, fastmap, ...) set
    OPENBLAS_NUM_THREADS=1 before numpy loads, unless the user set it; the ML commands
    leave it alone."""
    from biometal.cli import NO_BLAS, build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    assert NO_BLAS <= set(commands)
    assert not NO_BLAS & {"qc", "recalibrate", "classify", "dnabert-export"}
    code = (
        "import os, sys; from biometal.cli import main; main(sys.argv[1:]); "
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    missing = str(tmp_path / "missing.fa")

    def run(*argv: str, **extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True,
            env={**env, **extra}, cwd=tmp_path,
        )  # fmt: skip
        return out.stdout.strip()

    assert run("joint", missing, "o.vcf.gz", "x.bam") == "1 True"
    assert run("call", "x.bam", missing, "o.vcf.gz") == "1 True"
    assert run("joint", missing, "o.vcf.gz", "x.bam", OPENBLAS_NUM_THREADS="2") == "2 True"
    assert run("fastmap", str(tmp_path / "missing.fm.npz"), missing).startswith("1 ")
    assert run("config", "--help").endswith("None False")


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys) -> None:
    """An output naming one of the command's inputs (also through a link) is a one-line error
    and the input is untouched (`biometal index tx.fa tx.fa` replaced the FASTA with the
    index; found by a third-party sweep)."""
    fa = tmp_path / "tx.fa"
    fa.write_text(">t1\nACGTACGTACGTACGTACGTACGTACGTACGTACGTAC\n")
    fq = tmp_path / "r.fq"
    fq.write_text("@r1\nACGTACGTAC\n+\nIIIIIIIIII\n")
    link = tmp_path / "link.fq"
    link.symlink_to(fq)
    before = fa.read_bytes(), fq.read_bytes()
    for argv in (
        ["index", str(fa), str(fa)],
        ["tokenize", str(fq), "-o", str(fq)],
        ["trim", str(fq), "-o", str(link)],
        ["qc", str(fq), "-o", str(fq)],
    ):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "this output is also an input" in err and err.count("\n") == 1, err
    assert (fa.read_bytes(), fq.read_bytes()) == before
    assert main(["qc", str(fq), "-o", str(tmp_path / "qc.tsv")]) == 0  # another name: fine


def test_call_and_joint_want_a_bgzipped_vcf_name(tmp_path, capsys) -> None:
    """call / joint write a bgzipped VCF and its .tbi: a plain .vcf name is refused before
    any work (joint wrote BGZF under j.vcf)."""
    out = str(tmp_path / "x.vcf")
    for argv in (["call", "a.bam", "r.fa", out], ["joint", "r.fa", out, "a.bam"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "x.vcf: the VCF is written bgzipped with a .tbi index; name it OUT.vcf.gz" in err
    assert not any(tmp_path.iterdir())
