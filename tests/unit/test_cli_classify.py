"""``biometal classify build|reads`` (the exact k-mer classifier) against an independent
naive classifier in pure Python (k-mer strings, dicts), and ``biometal dnabert-export``
against the torch model it exports (ONNX Runtime output vs torch's forward). Real files;
in-process ``main`` and subprocess runs; bad input is one line, exit 1, no output left."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biometal.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMP = str.maketrans("ACGT", "TGCA")


def one_error_line(stderr: str, command: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"biometal {command}: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp" in p.name]


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ the naive oracle


def _canon(s: str) -> str:
    return min(s, s.translate(COMP)[::-1])


def naive_index(classes: dict[str, list[str]], k: int) -> dict[str, str | None]:
    """canonical k-mer -> its class, or None when several classes have it."""
    owner: dict[str, set[str]] = {}
    for name, seqs in classes.items():
        for seq in seqs:
            for j in range(len(seq) - k + 1):
                if "N" not in seq[j : j + k]:
                    owner.setdefault(_canon(seq[j : j + k]), set()).add(name)
    return {km: next(iter(s)) if len(s) == 1 else None for km, s in owner.items()}


def naive_classify(index, mates: list[str], k: int, min_hits: int = 1):
    """(class or 'unclassified', best class's hits, shared hits, k-mers) of a read / pair."""
    hits: dict[str, int] = {}
    shared = n = 0
    for seq in mates:
        for j in range(len(seq) - k + 1):
            km = seq[j : j + k]
            if "N" in km:
                continue
            n += 1
            if _canon(km) not in index:
                continue
            owner = index[_canon(km)]
            if owner is None:
                shared += 1
            else:
                hits[owner] = hits.get(owner, 0) + 1
    best = max(hits.values(), default=0)
    winners = [c for c, h in hits.items() if h == best]
    cls = winners[0] if best >= min_hits and len(winners) == 1 else "unclassified"
    return cls, best, shared, n


# ------------------------------------------------------------------ data


def _mutate(rng, s: str, rate: float) -> str:
    out = [c if rng.random() > rate else "ACGTN"[int(rng.integers(5))] for c in s]
    return "".join(out)


def _genomes(rng, n: int = 3, length: int = 1500) -> dict[str, list[str]]:
    """``n`` random genomes of two contigs each; genome 1 shares 300 bp with genome 0 and
    genome 2 carries a copy of a piece of genome 1 (shared k-mers, ties)."""
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    seqs[1] = seqs[0][:300] + seqs[1][300:]
    seqs[2] = seqs[2][:700] + seqs[1][900:1000] + seqs[2][800:]
    return {f"genome{i}": [s[: length // 2], s[length // 2 :]] for i, s in enumerate(seqs)}


def _write_fastas(work: Path, genomes: dict[str, list[str]]) -> list[Path]:
    paths = []
    for name, contigs in genomes.items():
        path = work / f"{name}.fa.gz"
        text = "".join(f">{name}_c{j + 1} contig\n{c}\n" for j, c in enumerate(contigs))
        path.write_bytes(gzip.compress(text.encode()))
        paths.append(path)
    return paths


def _reads(rng, genomes, n: int, length: int = 80, rate: float = 0.03):
    """Pairs from the genomes (both strands, mutations and Ns), plus random pairs."""
    flat = [s for contigs in genomes.values() for s in contigs]
    pairs = []
    for i in range(n):
        if i % 10 == 9:
            r1, r2 = ("".join(rng.choice(list("ACGT"), length)) for _ in range(2))
        else:
            src = flat[int(rng.integers(len(flat)))]
            p = int(rng.integers(0, len(src) - 2 * length))
            frag = src[p : p + int(rng.integers(length, 2 * length))]
            if rng.random() < 0.5:
                frag = frag.translate(COMP)[::-1]
            r1 = _mutate(rng, frag[:length], rate)
            r2 = _mutate(rng, frag[-length:].translate(COMP)[::-1], rate)
        pairs.append((r1, r2[: int(rng.integers(20, length + 1))]))  # mates of any length
    return pairs


def _fastqs(work: Path, pairs) -> tuple[Path, Path]:
    for mate in (1, 2):
        text = "".join(
            f"@p{i}/{mate} x\n{p[mate - 1]}\n+\n{'I' * len(p[mate - 1])}\n"
            for i, p in enumerate(pairs)
        )
        (work / f"R{mate}.fq.gz").write_bytes(gzip.compress(text.encode()))
    return work / "R1.fq.gz", work / "R2.fq.gz"


def _table(text: str) -> list[list[str]]:
    rows = [line.split("\t") for line in text.splitlines()]
    assert rows[0] == ["read", "class", "hits", "shared_hits", "kmers"]
    return rows[1:]


def _summary(unit: str, counts: dict[str, int]) -> str:
    per = ", ".join(f"{c} {n}" for c, n in counts.items())
    return f"biometal classify: {sum(counts.values())} {unit}s: {per}"


# ------------------------------------------------------------------ classify


@pytest.mark.parametrize("k", [9, 31])
def test_classify_pairs_and_singles_equal_naive(work: Path, capsys, k: int) -> None:
    rng = np.random.default_rng(k)
    genomes = _genomes(rng)
    fastas = _write_fastas(work, genomes)
    pairs = _reads(rng, genomes, 120)
    r1, r2 = _fastqs(work, pairs)
    assert main(["classify", "build", *map(str, fastas), "--per-file", "-k", str(k),
                 "-o", "idx.npz"]) == 0  # fmt: skip
    index = naive_index(genomes, k)
    assert sum(v is None for v in index.values()) >= 300 - k + 1  # shared region
    classes = sorted(genomes)
    for mates, reads, unit in (([0, 1], [r1, r2], "pair"), ([0], [r1], "read")):
        capsys.readouterr()
        # small chunks: the streaming path crosses chunk boundaries
        args = ["classify", "reads", *map(str, reads), "-x", "idx.npz", "--chunk-reads", "7"]
        assert main([*args, "-o", "out.tsv", "-t", "1"]) == 0
        rows = _table((work / "out.tsv").read_text())
        want = [naive_classify(index, [p[m] for m in mates], k) for p in pairs]
        assert len(rows) == len(pairs)
        for i, (row, w) in enumerate(zip(rows, want, strict=True)):
            rid = f"p{i}" if unit == "pair" else f"p{i}/1"  # pairs: the mate ID, no /1
            assert row == [rid, w[0], *map(str, w[1:])], (i, row, w)
        counts = {c: sum(w[0] == c for w in want) for c in [*classes, "unclassified"]}
        assert capsys.readouterr().err.strip() == _summary(unit, counts)
        assert 0 < counts["unclassified"] < len(pairs) and min(counts.values()) > 0
    # the other ways of naming classes give the same index
    (work / "map.tsv").write_text(
        "# contig\tclass\n" + "".join(f"{g}_c{j}\t{g}\n" for g in genomes for j in (1, 2))
    )
    for how in (["--map", "map.tsv"], [], ["--group", r"_c\d$"]):
        assert main(["classify", "build", *map(str, fastas), "-k", str(k), *how,
                     "-o", "other.npz"]) == 0  # fmt: skip
        a, b = np.load(work / "idx.npz"), np.load(work / "other.npz")
        for key in ("k", "classes", "keys", "vals"):
            assert np.array_equal(a[key], b[key]), (how, key)
    # --group '': one class per contig
    assert main(["classify", "build", str(fastas[0]), "--group", "", "-o", "c.npz"]) == 0
    assert np.load(work / "c.npz")["classes"].tolist() == ["genome0_c1", "genome0_c2"]


def test_classify_min_hits_stdin_gzip_and_real_process(work: Path, capsys, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    genomes = _genomes(rng, length=1000)
    fa = work / "all.fa"
    fa.write_text("".join(f">{g}_c{j + 1}\n{s}\n" for g, ss in genomes.items()
                          for j, s in enumerate(ss)))  # fmt: skip
    pairs = _reads(rng, genomes, 60, length=50, rate=0.08)
    r1, _ = _fastqs(work, pairs)
    proc = subprocess.run(
        [sys.executable, "-m", "biometal", "classify", "build", str(fa), "-k", "15", "-o",
         "idx.npz"], capture_output=True, text=True, cwd=work, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == "", proc.stderr
    index = naive_index(genomes, 15)
    want = [naive_classify(index, [p[0]], 15, min_hits=20) for p in pairs]
    assert {w[0] for w in want} > {"unclassified"}  # min_hits cuts some, not all
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.decompress(r1.read_bytes())))
    )
    assert (
        main(["classify", "reads", "-", "-x", "idx.npz", "--min-hits", "20", "-o", "o.tsv.gz"]) == 0
    )
    rows = _table(gzip.decompress((work / "o.tsv.gz").read_bytes()).decode())
    assert [r[1:] for r in rows] == [[w[0], *map(str, w[1:])] for w in want]
    capsys.readouterr()
    proc = subprocess.run(
        [sys.executable, "-m", "biometal", "classify", "reads", str(r1), "--index", "idx.npz",
         "--min-hits", "20"], capture_output=True, text=True, cwd=work, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == gzip.decompress((work / "o.tsv.gz").read_bytes()).decode()
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(
        "biometal classify: 60 reads: "
    )


def test_classify_bad_input_is_one_line_without_output(work: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    genomes = _genomes(rng, length=600)
    fastas = _write_fastas(work, genomes)
    r1, r2 = _fastqs(work, _reads(rng, genomes, 30, length=40))
    assert main(["classify", "build", *map(str, fastas), "--per-file", "-o", "idx.npz"]) == 0
    bad = work / "bad.fq"
    bad.write_text(gzip.decompress(r1.read_bytes()).decode() + "@broken\nACGT\n+\nIII\n")
    short = work / "short.fq"
    short.write_text("".join(gzip.decompress(r2.read_bytes()).decode().splitlines(True)[:-8]))
    np.savez(work / "other.npz", k=31, offsets=np.zeros(3))
    (work / "map.tsv").write_text("genome0_c1\tgenome0\n")
    (work / "bad_map.tsv").write_text("genome0_c1 genome0\n")
    (work / "empty.fa").write_text("")
    reads = ["classify", "reads", "-o", "out.tsv"]
    build = ["classify", "build", "-o", "out.tsv"]
    cases = [
        ([*reads, "missing.fq", "-x", "idx.npz"], "missing.fq: no such file"),
        ([*reads, str(bad), "-x", "idx.npz"], "bad.fq:124: sequence length 4 != quality length 3"),
        ([*reads, str(r1), str(short), "-x", "idx.npz"], "has 30 reads but its mate file"),
        ([*reads, str(r1), str(r1), "-x", "idx.npz"], "is the same file as"),
        ([*reads, str(r1), "-x", "missing.npz"], "missing.npz: no such k-mer classifier index"),
        ([*reads, str(r1), "-x", str(fastas[0])], "not a k-mer classifier index (not an .npz"),
        ([*reads, str(r1), "-x", "other.npz"], "other.npz: not a k-mer classifier index"),
        ([*build, "missing.fa"], "missing.fa: no such file"),
        ([*build, str(r1)], "R1.fq.gz"),  # a FASTQ is not a FASTA
        ([*build, *map(str, fastas), "--map", "map.tsv"], "contig 'genome0_c2' has no class"),
        ([*build, str(fastas[0]), "--map", "bad_map.tsv"], "bad_map.tsv:1: expected two"),
        ([*build, str(fastas[0]), "--group", "("], "bad class pattern '('"),
        ([*build, str(fastas[0]), "empty.fa", "--per-file"], "empty.fa: no FASTA records"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        line = one_error_line(capsys.readouterr().err, "classify")
        assert message in line, (argv, line)
        assert not (work / "out.tsv").exists() and not leftovers(work), argv
    assert main(["classify", "build", "x.fa", "-k", "32", "-o", "i.npz"]) == 2
    assert main(["classify", "reads", "x.fq"]) == 2  # --index is required
    assert main(["classify"]) == 2
    assert "required: MODE" in capsys.readouterr().err


# ------------------------------------------------------------------ dnabert-export


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    pytest.importorskip("onnxruntime")
    torch = pytest.importorskip("torch")
    from biometal.ml.dnabert.model import BertConfig, BertMLM

    torch.manual_seed(0)
    model = BertMLM(BertConfig(5 + 4**3, 24, 32, 2, 4, 64)).eval()
    path = tmp_path_factory.mktemp("bert") / "enc.pt"
    torch.save({"state_dict": model.state_dict(), "meta": {"model": model.config.to_dict()}}, path)
    return path


def test_dnabert_export_equals_torch(checkpoint: Path, work: Path, capsys) -> None:
    import onnxruntime as ort
    import torch

    from biometal.ml.dnabert.export import random_tokens
    from biometal.ml.dnabert.train import load_model

    argv = ["--checkpoint", str(checkpoint), "--onnx", "enc.onnx", "--report", "rep.json",
            "--batch-sizes", "1,3"]  # fmt: skip
    assert main(["dnabert-export", *argv]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((work / "rep.json").read_text())
    assert report["output"] == "hidden" and report["length"] == 24
    assert set(report["onnx"]["max_abs_diff_vs_torch"]) == {"1", "3"}
    model, _ = load_model(checkpoint)
    sess = ort.InferenceSession(str(work / "enc.onnx"), providers=["CPUExecutionProvider"])
    ids = random_tokens(5, 24, 5 + 4**3, seed=9)
    with torch.no_grad():
        t = torch.from_numpy(ids).long()
        want = model(t, (t != 0).long()).numpy()
    got = sess.run(["hidden"], {"input_ids": ids})[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_dnabert_export_errors_leave_nothing(checkpoint: Path, work: Path, capsys, monkeypatch):
    from biometal.ml.dnabert import export as ex

    (work / "junk.pt").write_bytes(b"not a checkpoint")
    cases = [
        (["--checkpoint", "junk.pt"], "junk.pt: not a DNABERT checkpoint"),
        (["--checkpoint", "none.pt"], "none.pt: no such DNABERT checkpoint"),
        (["--hf-dir", "nodir/"], "nodir"),
        (["--checkpoint", str(checkpoint), "--length", "25"], "exceeds the model's max_length 24"),
    ]
    for argv, message in cases:
        assert main(["dnabert-export", *argv, "--onnx", "x.onnx", "--report", "r.json"]) == 1
        assert message in one_error_line(capsys.readouterr().err, "dnabert-export"), argv
        assert sorted(p.name for p in work.iterdir()) == ["junk.pt"], argv

    def fails(*args, **kwargs):  # the check runs after the ONNX file is written
        raise ex.ExportError("x.onnx: ONNX Runtime differs from torch by 1 at batch 1")

    monkeypatch.setattr(ex, "check_onnx", fails)
    argv = [
        "dnabert-export",
        "--checkpoint",
        str(checkpoint),
        "--onnx",
        "x.onnx",
        "--batch-sizes",
        "1",
    ]
    assert main(argv) == 1
    assert "differs from torch" in one_error_line(capsys.readouterr().err, "dnabert-export")
    assert sorted(p.name for p in work.iterdir()) == ["junk.pt"]
    assert main(["dnabert-export", "--onnx", "x.onnx"]) == 2  # a model is required
    assert (
        main(["dnabert-export", "--checkpoint", "a.pt", "--onnx", "x", "--batch-sizes", "0"]) == 2
    )
    assert "expected positive integers" in capsys.readouterr().err
