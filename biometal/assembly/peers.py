"""Run an assembler on read pairs and measure it: biometal (this package's assembler, in a
fresh Python process, as the peers run) and the peers minia, velvet, megahit, spades.

Each run is a child process (or two, velvet's velveth + velvetg) started through GNU
``time`` where installed (else waited for with ``os.wait4``, whose peak includes the memory
a forked child shares with this process): ``cpu_s`` = user + system CPU seconds of the tool
and its descendants, ``max_rss_mb`` = the largest peak resident set (MiB), ``wall_s`` =
elapsed.
One thread each. k: biometal and minia use the configured k; velvet min(k, 31) (Debian's
build allows at most 31); megahit and spades choose their own k lists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from biometal.errors import BiometalError

TOOLS = ("biometal", "minia", "velvet", "megahit", "spades")
#: executables each tool needs on PATH (biometal: none)
EXECUTABLES = {
    "biometal": (),
    "minia": ("minia",),
    "velvet": ("velveth", "velvetg"),
    "megahit": ("megahit",),
    "spades": ("spades.py",),
}
VELVET_MAX_K = 31


def available(tool: str) -> bool:
    """True when every executable of ``tool`` is on PATH."""
    return all(shutil.which(x) for x in EXECUTABLES[tool])


def run_measured(cmds: list[list[str]], cwd: str | os.PathLike, log) -> dict:
    """Run commands in turn (cwd, stdout+stderr to the open file ``log``); their summed CPU
    seconds, the largest peak RSS (MiB) and the wall seconds. Raises BiometalError naming
    the command when one fails."""
    cpu = 0.0
    rss = 0
    t0 = time.perf_counter()
    gnu_time = shutil.which("time") if sys.platform != "darwin" else None
    for cmd in cmds:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        out = Path(cwd) / ".time.txt"
        # GNU time forks the tool from a small process: a child forked from this (large)
        # Python process would report the parent's resident set as its own peak
        full = [gnu_time, "-f", "%U %S %M", "-o", str(out), *cmd] if gnu_time else cmd
        proc = subprocess.Popen(full, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if gnu_time and out.exists() and proc.returncode == 0:
            user, system, maxrss = out.read_text().split()[-3:]
            cpu += float(user) + float(system)
            rss = max(rss, int(maxrss))
        else:
            cpu += ru.ru_utime + ru.ru_stime
            rss = max(rss, ru.ru_maxrss)
        if proc.returncode != 0:
            raise BiometalError(f"{cmd[0]} failed with exit code {proc.returncode} (see the log)")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {
        "cpu_s": round(cpu, 3),
        "wall_s": round(time.perf_counter() - t0, 3),
        "max_rss_mb": round(rss * scale / 2**20, 1),
    }


def commands(
    tool: str, r1: str, r2: str, out: Path, k: int, threads: int = 1, min_contig: int = 500
) -> tuple:
    """(commands, contigs path) of ``tool`` on mates r1/r2 writing under ``out``."""
    r1, r2 = os.path.abspath(r1), os.path.abspath(r2)
    if tool == "biometal":
        cmd = [sys.executable, "-m", "biometal.assembly.example_assembler", r1, r2,
               "-o", str(out / "biometal"), "-k", str(k),
               "--min-contig", str(min_contig)]  # fmt: skip
        return [cmd], out / "biometal.fa"
    if tool == "minia":
        cmd = ["minia", "-in", f"{r1},{r2}", "-kmer-size", str(k), "-abundance-min", "2",
               "-nb-cores", str(threads), "-out", str(out / "minia"),
               "-out-tmp", str(out)]  # fmt: skip
        return [cmd], out / "minia.contigs.fa"
    if tool == "velvet":
        d = str(out / "velvet")
        kv = min(k or VELVET_MAX_K, VELVET_MAX_K)
        return [
            ["velveth", d, str(kv), "-fastq.gz", "-shortPaired", "-separate", r1, r2],
            ["velvetg", d, "-exp_cov", "auto", "-cov_cutoff", "auto"],
        ], out / "velvet" / "contigs.fa"
    if tool == "megahit":
        d = out / "megahit"
        cmd = ["megahit", "-1", r1, "-2", r2, "-o", str(d), "-t", str(threads)]
        return [cmd], d / "final.contigs.fa"
    if tool == "spades":
        d = out / "spades"
        cmd = ["spades.py", "-1", r1, "-2", r2, "-o", str(d), "-t", str(threads), "-m", "8"]
        return [cmd], d / "contigs.fasta"
    raise BiometalError(f"unknown assembler {tool!r}; choose one of {', '.join(TOOLS)}")


def run_assembler(
    tool: str,
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    contigs_out: str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    k: int = 0,
    threads: int = 1,
    min_contig: int = 500,
    log_path: str | os.PathLike | None = None,
) -> dict:
    """Assemble mates with ``tool``, copy its contigs to ``contigs_out``; returns ``tool``,
    ``cpu_s``, ``wall_s``, ``max_rss_mb``. ``workdir`` is emptied first and kept (GFA,
    statistics, the tool's own files)."""
    work = Path(workdir).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if tool == "minia" and k == 0:
        k = 31
    cmds, contigs = commands(tool, os.fspath(r1), os.fspath(r2), work, k, threads, min_contig)
    with open(log_path or work / "run.log", "w") as log:
        stats = run_measured(cmds, work, log)
    if not contigs.exists():
        raise BiometalError(f"{tool} wrote no contigs ({contigs})")
    Path(contigs_out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(contigs_out).with_suffix(".tmp")
    shutil.copyfile(contigs, tmp)
    os.replace(tmp, contigs_out)
    return {"tool": tool, **stats}
