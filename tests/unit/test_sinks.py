"""OutputFile: atomic, deterministic gzip, plain by suffix, nothing left on failure."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from biometal.io.sinks import OutputFile, write_bytes


def test_gzip_is_deterministic_and_plain_by_suffix(tmp_path: Path) -> None:
    data = b"hello\n" * 100_000
    write_bytes(tmp_path / "a.txt.gz", data)
    write_bytes(tmp_path / "b.txt.gz", data)
    write_bytes(tmp_path / "c.txt", data)
    a, b = (tmp_path / "a.txt.gz").read_bytes(), (tmp_path / "b.txt.gz").read_bytes()
    assert a == b and a[:2] == b"\x1f\x8b"
    assert a[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(a) == data
    assert (tmp_path / "c.txt").read_bytes() == data


def test_many_blocks_in_order(tmp_path: Path) -> None:
    with OutputFile(tmp_path / "x.gz") as out:
        for i in range(200):
            out.write(b"%d\n" % i)
    lines = gzip.decompress((tmp_path / "x.gz").read_bytes()).split()
    assert [int(x) for x in lines] == list(range(200))


def test_exception_leaves_nothing_and_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.gz"
    write_bytes(target, b"old")
    with pytest.raises(RuntimeError, match="boom"), OutputFile(target) as out:
        out.write(b"new data")
        raise RuntimeError("boom")
    assert gzip.decompress(target.read_bytes()) == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gz"]


def test_mode_follows_umask(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    write_bytes(tmp_path / "m.txt", b"x")
    assert (tmp_path / "m.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_read_benchmark_parses_snakemake_benchmark_files(tmp_path: Path) -> None:
    from biometal.errors import BiometalError
    from biometal.io.tables import read_benchmark

    bench = tmp_path / "b.tsv"
    bench.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "2.5\t0:00:02\t123.4\t200\t100\t110\t0\t1\t95\t2.1\n"
    )
    assert read_benchmark(bench) == {"wall_s": 2.5, "cpu_s": 2.1, "max_rss_mb": 123.4}
    (tmp_path / "bad.tsv").write_text("x\ty\n1\t2\n")
    with pytest.raises(BiometalError, match="not a Snakemake benchmark file"):
        read_benchmark(tmp_path / "bad.tsv")


def test_writing_to_a_device_or_fifo_keeps_it(tmp_path: Path) -> None:
    """`-o /dev/null` once renamed a temporary file over /dev/null: a path that is not a
    regular file is written in place."""
    import stat

    from biometal.io.atomic import atomic_path

    with atomic_path(os.devnull) as p:
        assert str(p) == os.devnull
        p.write_bytes(b"gone")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with atomic_path(fifo) as p:
        assert p == fifo
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [f.name for f in tmp_path.iterdir()] == ["pipe"]


def test_unwritable_place_names_the_output_not_the_temporary_file(tmp_path: Path) -> None:
    """An output whose folder cannot hold a file: the error names the file asked for (it
    named the hidden temporary file), and the CLI prints it as one line."""
    import subprocess
    import sys

    from biometal.io.atomic import atomic_path

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OSError) as err, atomic_path(blocker / "out.tsv"):
        pass
    assert err.value.filename == str(blocker / "out.tsv") and "not a directory" in str(err.value)
    fasta = tmp_path / "s.fa"
    fasta.write_text(">c\nACGTACGTTTGACCA\n")
    proc = subprocess.run(
        [sys.executable, "-m", "biometal", "fmindex", str(fasta), str(blocker / "o.npz")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{blocker / 'o.npz'}: cannot write a file in {blocker} (not a directory)" in proc.stderr
    with pytest.raises(OSError) as err, atomic_path("/proc/biometal_test.tsv"):
        pass
    assert err.value.filename == "/proc/biometal_test.tsv" and ".tmp" not in str(err.value)


@pytest.mark.parametrize("lines", [50_000, 10])
def test_standard_output_closed_early_is_exit_141(tmp_path: Path, lines: int) -> None:
    """A reader that stops early ('| head'): exit status 141 and no traceback, also when the
    whole output goes out in one write larger than the buffer (a short write that CPython
    returns without an error; `biometal intervals` exited 0 there, having written 64 kB);
    an output that fits the pipe is written whole and exits 0."""
    import subprocess
    import sys

    bed = tmp_path / "a.bed"
    bed.write_text("".join(f"chr1\t{10 * i}\t{10 * i + 5}\tname{i}\n" for i in range(lines)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "biometal", "intervals", "merge", str(bed), "-d", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout.read(10) == b"chr1\t0\t5\nc"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == (141 if lines > 1000 else 0) and "Traceback" not in err, err


@pytest.mark.parametrize("command", ["align", "tokenize"])
def test_input_error_found_early_leaves_standard_output_empty(tmp_path: Path, command) -> None:
    """The TSV header is written before the reads are; a bad first record (or any error
    within the first 64 KiB of output) leaves nothing on standard output: one line on
    standard error and exit 1."""
    import subprocess
    import sys

    bad = tmp_path / "bad.fq"
    bad.write_text("@r1\nACGT\n+\nIIII\nbad\nACGT\n+\nIIII\n")
    target = tmp_path / "t.fa"
    target.write_text(">t1\nACGTACGTAA\n")
    args = [str(bad), str(target)] if command == "align" else [str(bad)]
    proc = subprocess.run(
        [sys.executable, "-m", "biometal", command, *args], capture_output=True, text=True
    )
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout
    assert proc.stderr.count("\n") == 1 and f"{bad}:5:" in proc.stderr, proc.stderr


def test_standard_output_holds_back_then_writes_through(capfdbinary) -> None:
    from biometal.io.sinks import StdoutSink

    with pytest.raises(RuntimeError), StdoutSink() as out:
        out.write(b"header\n")
        raise RuntimeError("bad input")
    assert capfdbinary.readouterr().out == b""
    buffer = bytearray(b"x" * 1000)
    with StdoutSink() as out:
        for i in range(100):  # 100 kB: past the hold, written through in order
            buffer[:4] = b"%04d" % i
            out.write(buffer)  # the caller reuses its buffer: the held copies keep it
    got = capfdbinary.readouterr().out
    assert len(got) == 100_000 and [got[k * 1000 : k * 1000 + 4] for k in (0, 64, 99)] == [
        b"0000", b"0064", b"0099",
    ]  # fmt: skip
