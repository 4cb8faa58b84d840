"""Docs that run: every `snakemake` command printed in the README (code blocks and inline code)
and in the config files' headers is dry-run as written, so a doc that rots fails CI.

Placeholders the docs use for the reader's own files (my.yaml, my_samples.tsv, tx.fa.gz, ...)
are written as small valid stand-ins in the working directory; the tiny config goes first in
the list of config files so the dry runs stay quick. A command is otherwise run as printed:
same target, same options, same order (a target written after --configfile/--config would be
swallowed by them and fail here as it fails for a user).
"""

from __future__ import annotations

import gzip
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, TINY

DOCS = [REPO / "README.md", *sorted((REPO / "config").glob("*.yaml"))]


def _commands(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found: list[str] = []
    if path.suffix == ".md":
        # every fence, whatever its language, so that a ```python block cannot shift the
        # pairing of the fences after it; only shell blocks hold commands
        for lang, block in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S):
            if lang not in ("", "bash", "sh", "console"):
                continue
            for line in block.splitlines():
                if line.strip().startswith("snakemake "):
                    found.append(line.strip())
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`(snakemake [^`]+)`", prose):
            found.append(" ".join(span.split()))
    else:  # YAML headers: "#   snakemake ..."
        for line in text.splitlines():
            m = re.match(r"#\s+(snakemake .*)", line)
            if m:
                found.append(m.group(1).strip())
    out = []
    for cmd in found:
        # a shell comment after the command; "<target>" is a template, not a command
        cmd = re.split(r"\s+#\s", cmd)[0].strip()
        if "<" not in cmd:
            out.append(cmd)
    return list(dict.fromkeys(out))


CASES = [(p, c) for p in DOCS for c in _commands(p)]


def test_docs_have_commands() -> None:
    readme = [c for p, c in CASES if p.name == "README.md"]
    assert len(readme) >= 10, readme
    assert any("--configfile" in c for c in readme) and any("--config " in c for c in readme)


def _fastq(path: Path, name: str = "r") -> None:
    with gzip.open(path, "wt") as fh:
        for i in range(4):
            fh.write(f"@{name}{i}\nACGTACGTAC\n+\nIIIIIIIIII\n")


def _placeholders(work: Path) -> None:
    """Stand-ins for the files the README asks the reader to provide."""
    (work / "my.yaml").write_text("qc:\n  quality_threshold: 25\n")
    _fastq(work / "mine_R1.fastq.gz")
    _fastq(work / "mine_R2.fastq.gz")
    (work / "my_samples.tsv").write_text(
        "sample\tfq1\tfq2\nmine\tmine_R1.fastq.gz\tmine_R2.fastq.gz\n"
    )
    with gzip.open(work / "tx.fa.gz", "wt") as fh:
        fh.write(">t1\n" + "ACGT" * 50 + "\n>t2\n" + "GGCA" * 50 + "\n")
    (work / "genes.gtf").write_text(
        'c\ts\ttranscript\t1\t200\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
        'c\ts\ttranscript\t1\t200\t.\t+\t.\tgene_id "g2"; transcript_id "t2";\n'
    )
    (work / "rna.tsv").write_text(
        "sample\tcondition\tfq1\tfq2\na1\tA\tmine_R1.fastq.gz\t\nb1\tB\tmine_R2.fastq.gz\t\n"
    )
    (work / "ref.fa").write_text(">chr1\n" + "ACGTTGCA" * 100 + "\n")
    (work / "dna.tsv").write_text("sample\tfq1\tfq2\nd1\tmine_R1.fastq.gz\tmine_R2.fastq.gz\n")
    (work / "giab.vcf.gz").write_bytes(b"")


def _run(cmd: str, work: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(cmd)
    assert argv[0] == "snakemake"
    args = argv[1:]
    if "--configfile" in args:  # the tiny config first, the documented file(s) on top
        i = args.index("--configfile")
        args[i + 1 : i + 1] = [str(TINY)]
    else:
        args += ["--configfile", str(TINY)]
    if "--report" not in args:
        args.insert(0, "-n")
    env = {k: v for k, v in os.environ.items() if k != "BIOMETAL_BACKEND"}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _prepare(work: Path) -> None:
    for shared in ("profiles", "config"):  # paths the docs give relative to the repository
        if not (work / shared).exists():
            (work / shared).symlink_to(REPO / shared)


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict:
    """Every dry run of the docs (each in its own directory with the placeholders), a few
    at a time: they are independent processes, and one at a time they took ~8 minutes of
    the suite."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[int, tuple[Path, str]]):
        i, (doc, cmd) = item
        work = tmp_path_factory.mktemp(f"docs{i}")
        _placeholders(work)
        _prepare(work)
        return (doc, cmd), _run(cmd, work)

    todo = [(d, c) for d, c in CASES if "--report" not in c]
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        return dict(pool.map(one, enumerate(todo)))


@pytest.mark.slow
@pytest.mark.parametrize("doc,cmd", CASES, ids=[f"{p.name}:{c[10:60]}" for p, c in CASES])
def test_documented_command_runs(doc: Path, cmd: str, request) -> None:
    if "--report" in cmd:
        # a report needs results: take the tiny run of `all` (a real run, shared)
        work = request.getfixturevalue("tiny_run")
        _prepare(work)
        proc = _run(cmd, work)
    else:
        proc = request.getfixturevalue("dry_runs")[(doc, cmd)]
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{doc.name}: `{cmd}` failed:\n{out[-3000:]}"
    assert "Traceback" not in out, f"{doc.name}: `{cmd}` printed a traceback:\n{out[-3000:]}"
