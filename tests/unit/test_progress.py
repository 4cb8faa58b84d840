"""biometal.progress: the log lines of long work (amount, total and percent, rate, ETA) and
where the library uses them: downloads (a real HTTP server), mapping, pileup, FM-index and
k-mer index builds, quantification and training, each on real inputs with the interval set
to 0 by the environment variable."""

from __future__ import annotations

import gzip
import http.server
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from biometal.progress import ENV_VAR, EVERY_S, Progress, format_amount, format_seconds, interval

RATE = re.compile(r"[\d.,]+ (?:[kMGT] )?\S+/s")
ETA = re.compile(r"ETA (\d|\?)")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _lines(caplog, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


def test_format_amount_and_seconds() -> None:
    assert format_amount(1_500_000_000, "bytes") == "1.50 GB"
    assert format_amount(999, "bytes") == "999 B"
    assert format_amount(45_600_000, "bytes") == "45.6 MB"
    assert format_amount(3_100_000, "bp") == "3.10 Mb"
    assert format_amount(12_345, "reads") == "12,345 reads"
    assert format_amount(32_100_000, "reads") == "32.1 M reads"
    assert format_amount(2.5, "steps") == "2.5 steps"
    assert format_seconds(4.25) == "4.2 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(2 * 3600 + 7 * 60) == "2 h 07 min"


def test_lines_at_most_every_interval_with_rate_and_eta(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    p = Progress(logging.getLogger("t"), "work", total=1000, unit="reads", every_s=30, clock=clock)
    for _ in range(10):  # 10 updates over 50 s: lines at 30 s only (then again from 60 s)
        clock.t += 5
        p.update(50)
    assert p.lines == 1
    line = _lines(caplog, "work:")[0]
    assert line.startswith("work: 300 of 1,000 reads (30.0%)"), line
    assert "10 reads/s" in line and "30 s elapsed" in line and "ETA 1 min 10 s" in line
    clock.t += 50
    p.update(500)
    p.done()
    last = _lines(caplog, "work:")[-1]
    assert last == "work: done, 1,000 reads in 1 min 40 s, 10 reads/s", last


def test_unknown_total_has_no_eta_and_set_is_absolute(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    p = Progress(logging.getLogger("t"), "dl", unit="bytes", every_s=0, clock=clock)
    clock.t += 2
    p.set(4_000_000, "note")
    assert _lines(caplog, "dl:") == ["dl: 4.00 MB, 2.00 MB/s, 2.0 s elapsed; note"]


def test_interval_from_environment(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert interval() == EVERY_S
    monkeypatch.setenv(ENV_VAR, "0")
    assert interval() == 0.0
    assert interval(12) == 12.0
    monkeypatch.setenv(ENV_VAR, "soon")  # unreadable: the default
    assert interval() == EVERY_S


def test_progress_imports_no_numpy() -> None:
    import subprocess
    import sys

    code = "import sys, biometal.progress; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- in the library


@pytest.fixture
def every_update(monkeypatch, caplog):
    monkeypatch.setenv(ENV_VAR, "0")
    caplog.set_level(logging.INFO)
    return caplog


def _assert_progress(lines: list[str], *, eta: bool) -> None:
    assert lines, "no progress line"
    body = [ln for ln in lines if ": done, " not in ln]
    assert body, lines
    assert any(RATE.search(ln) for ln in body), body
    if eta:
        assert any(ETA.search(ln) and "%)" in ln for ln in body), body
    assert any(": done, " in ln for ln in lines), lines


def test_download_logs_bytes_percent_rate_eta(serve, every_update, tmp_path: Path) -> None:
    from biometal.io.download import download_file

    body = np.random.default_rng(0).integers(0, 256, 5 << 20, dtype=np.uint8).tobytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    url = serve(Handler) + "/ref.fa.gz"
    download_file(url, tmp_path / "ref.fa.gz")
    lines = _lines(every_update, "download ref.fa.gz:")
    _assert_progress(lines, eta=True)
    assert any("of 5.24 MB (" in ln for ln in lines), lines
    assert any("MB/s" in ln for ln in lines), lines


def _transcriptome(tmp_path: Path, n: int = 20, pairs: int = 3000):
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(400, 1200)))) for _ in range(n)]
    fa = tmp_path / "tx.fa"
    fa.write_text("".join(f">ENST{i:04d}.1\n{s}\n" for i, s in enumerate(seqs)))
    comp = str.maketrans("ACGT", "TGCA")
    r1, r2 = [], []
    for i in range(pairs):
        s = seqs[int(rng.integers(n))]
        a = int(rng.integers(0, len(s) - 250))
        f = s[a : a + 250]
        r1.append(f"@p{i} 1:N:0\n{f[:100]}\n+\n{'I' * 100}\n")
        r2.append(f"@p{i} 2:N:0\n{f[-100:].translate(comp)[::-1]}\n+\n{'I' * 100}\n")
    fq1, fq2 = tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz"
    fq1.write_bytes(gzip.compress("".join(r1).encode()))
    fq2.write_bytes(gzip.compress("".join(r2).encode()))
    return fa, fq1, fq2


def test_rnaseq_index_and_quantification_log_progress(every_update, tmp_path: Path) -> None:
    from biometal.rnaseq.index import index_transcriptome
    from biometal.rnaseq.quant import quantify

    fa, fq1, fq2 = _transcriptome(tmp_path)
    index_transcriptome(fa, tmp_path / "idx.npz")
    stages = _lines(every_update, f"index of {fa}:")
    _assert_progress(stages, eta=True)
    assert any(" of 6 stages (" in ln and "unitigs" in ln for ln in stages), stages
    quantify(tmp_path / "idx.npz", fq1, fq2, sample="S1", chunk_reads=500)
    lines = _lines(every_update, "quantify S1:")
    _assert_progress(lines, eta=False)
    assert any("pairs/s" in ln for ln in lines) and "3,000 pairs" in lines[-1], lines


def test_mapping_pileup_and_fm_index_log_progress(every_update, tmp_path: Path) -> None:
    from biometal.align.smem import fm_index_file
    from biometal.pileup.tsv import write_pileup_tsv
    from biometal.variants.mapping import map_reads

    rng = np.random.default_rng(2)
    ref = "".join(rng.choice(list("ACGT"), size=20_000))
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr1\n" + "\n".join(ref[i : i + 60] for i in range(0, len(ref), 60)) + "\n")
    comp = str.maketrans("ACGT", "TGCA")
    r1, r2 = [], []
    for i in range(2000):
        a = int(rng.integers(0, len(ref) - 300))
        f = ref[a : a + 300]
        r1.append(f"@m{i}/1\n{f[:100]}\n+\n{'I' * 100}\n")
        r2.append(f"@m{i}/2\n{f[-100:].translate(comp)[::-1]}\n+\n{'I' * 100}\n")
    (tmp_path / "a_1.fq").write_text("".join(r1))
    (tmp_path / "a_2.fq").write_text("".join(r2))
    bam = tmp_path / "a.bam"
    map_reads(fa, tmp_path / "a_1.fq", tmp_path / "a_2.fq", bam, sample="a", chunk_pairs=200)
    mapping = _lines(every_update, "mapping a (a_1.fq):")
    _assert_progress(mapping, eta=False)
    assert "4,000 reads" in mapping[-1], mapping
    write_pileup_tsv(bam, tmp_path / "a.tsv.gz", reference=fa)
    pile = _lines(every_update, f"pileup of {bam}:")
    assert pile and ": done, 20.0 kb" in pile[-1] and "records" in pile[-1], pile
    fm_index_file(fa, tmp_path / "fm.npz")
    _assert_progress(_lines(every_update, f"FM-index of {fa}:"), eta=True)


def test_dnabert_training_logs_steps_with_eta(every_update, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from biometal.ml.dnabert.train import train_mlm

    rng = np.random.default_rng(3)
    reads = "".join(
        f"@d{i}\n{''.join(rng.choice(list('ACGT'), size=80))}\n+\n{'I' * 80}\n" for i in range(64)
    )
    (tmp_path / "d.fq").write_text(reads)
    train_mlm(
        [tmp_path / "d.fq"], tmp_path / "m.pt", tmp_path / "log.tsv", mode="standard", k=3,
        stride=1, max_length=32, hidden=16, layers=1, heads=2, ff=32, steps=4, batch_size=8,
        chunk_reads=32, num_workers=0, seed=1,
    )  # fmt: skip
    lines = _lines(every_update, "dnabert standard training:")
    _assert_progress(lines, eta=True)
    assert any("of 4 steps" in ln for ln in lines), lines
