"""biometal.io.download against a real HTTP server on 127.0.0.1 that imitates ENA (portal
filereport, FASTQ host with Range support, md5sum.txt), with injected faults: connections
dropped mid-file, wrong MD5s, 404s, 5xx, slow responses. No test touches the internet."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from biometal.io.download import (
    DownloadError,
    Retry,
    download_file,
    ena_filereport,
    fetch_reference,
    read_filereport,
    select_runs,
    stream_head_pairs,
)
from biometal.io.fastx import read_fastq

FAST = Retry(retries=3, backoff=0.01, timeout=2.0)


def _fastq(n: int, mate: int, seed: int) -> bytes:
    """n random 100 bp reads named ERR001.<i> <i>/<mate> (vectorised: large files are cheap)."""
    rng = np.random.default_rng(seed)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (n, 100))]
    qual = (33 + rng.integers(2, 41, (n, 100))).astype(np.uint8)
    nl = np.full((n, 1), ord("\n"), np.uint8)
    plus = np.frombuffer(b"+\n", np.uint8)[None].repeat(n, 0)
    body = np.hstack([seq, nl, plus, qual, nl])
    names = [f"@ERR001.{i + 1} {i + 1}/{mate}\n".encode() for i in range(n)]
    rows = body.tobytes()
    w = body.shape[1]
    return b"".join(h + rows[i * w : (i + 1) * w] for i, h in enumerate(names))


class FakeENA:
    """Files by path; ``faults[path]`` is a list of faults used up one per request:
    ``drop`` (send half the body, close), ``slow`` (sleep before answering), ``500``,
    ``404``, ``norange`` (ignore Range). A path missing from ``files`` is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.sent: dict[str, int] = {}
        self.slow_seconds = 1.5
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = urllib.parse.urlparse(self.path).path
                rng = self.headers.get("Range")
                fake.requests.append((path, rng))
                faults = fake.faults.get(path) or []
                fault = faults.pop(0) if faults else None
                if fault == "slow":
                    time.sleep(fake.slow_seconds)
                if fault == "500":
                    return self._status(500)
                if fault == "404" or path not in fake.files:
                    return self._status(404)
                if path == "/api/filereport":
                    body = fake.files[path]
                    q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                    if q.get("accession") != ["PRJEB31736"] or q.get("result") != ["read_run"]:
                        body = b""
                    return self._send(200, body, path, fault)
                data = fake.files[path]
                start = 0
                if rng and fault != "norange":
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        return self._status(416)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    return self._body(data[start:], path, fault)
                self.send_response(200)
                return self._body(data, path, fault)

            def _status(self, code: int) -> None:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, code, body, path, fault) -> None:
                self.send_response(code)
                self._body(body, path, fault)

            def _body(self, body: bytes, path: str, fault) -> None:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                out = body[: len(body) // 2] if fault == "drop" else body
                try:
                    for s in range(0, len(out), 65536):
                        self.wfile.write(out[s : s + 65536])
                        fake.sent[path] = fake.sent.get(path, 0) + len(out[s : s + 65536])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if fault == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ena():
    fake = FakeENA()
    yield fake
    fake.close()


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def _add_runs(fake: FakeENA, n_reads: int = 200, wrong_md5: bool = False) -> dict:
    rows = [
        "\t".join(
            [
                "run_accession",
                "sample_accession",
                "sample_alias",
                "fastq_ftp",
                "fastq_md5",
                "fastq_bytes",
                "read_count",
            ]
        )
    ]
    files = {}
    for k, (run, alias) in enumerate((("ERR002", "HG00097"), ("ERR001", "HG00096"))):
        paths, md5s, sizes = [], [], []
        for mate in (1, 2):
            body = gzip.compress(_fastq(n_reads, mate, seed=10 * k + mate), compresslevel=1)
            path = f"/vol1/fastq/{run}/{run}_{mate}.fastq.gz"
            fake.files[path] = body
            files[(run, mate)] = (path, body)
            paths.append(f"ftp.sra.ebi.ac.uk{path}")
            md5s.append("0" * 32 if wrong_md5 else _md5(body))
            sizes.append(str(len(body)))
        rows.append(
            "\t".join(
                [
                    run,
                    f"SAMEA{k}",
                    alias,
                    ";".join(paths),
                    ";".join(md5s),
                    ";".join(sizes),
                    str(n_reads),
                ]
            )
        )
    rows.append(
        "\t".join(
            [
                "ERR003",
                "SAMEA9",
                "single",
                "ftp.sra.ebi.ac.uk/x/ERR003.fastq.gz",
                "a" * 32,
                "10",
                "5",
            ]
        )
    )
    fake.files["/api/filereport"] = ("\n".join(rows) + "\n").encode()
    return files


def test_filereport_select_and_download(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    out = tmp_path / "report.tsv"
    runs = ena_filereport(
        "PRJEB31736", out, portal=f"{ena.url}/api", fastq_base=ena.url, retry=FAST
    )
    assert [r.run for r in runs] == ["ERR002", "ERR001", "ERR003"]
    assert read_filereport(out, ena.url) == runs
    first = select_runs(runs, n_samples=1)
    assert [r.run for r in first] == ["ERR001"]  # by accession; the single-end run is skipped
    by_alias = select_runs(runs, samples=["HG00097"])
    assert by_alias[0].run == "ERR002" and by_alias[0].fastq[0].startswith(ena.url)
    with pytest.raises(DownloadError, match="no paired-end run of sample or run 'HG99999'"):
        select_runs(runs, samples=["HG99999"])
    run = first[0]
    dest = tmp_path / "r1.fastq.gz"
    download_file(run.fastq[0], dest, md5=run.md5[0], size=run.bytes[0], retry=FAST)
    assert dest.read_bytes() == files[("ERR001", 1)][1]
    n = len(ena.requests)
    download_file(run.fastq[0], dest, md5=run.md5[0], retry=FAST)  # present: no request
    assert len(ena.requests) == n


def test_unknown_study_is_a_clear_error(ena: FakeENA, tmp_path: Path) -> None:
    _add_runs(ena)
    with pytest.raises(DownloadError, match="empty filereport"):
        ena_filereport("PRJEB0", tmp_path / "r.tsv", portal=f"{ena.url}/api", retry=FAST)
    assert not (tmp_path / "r.tsv").exists()


def test_dropped_connection_resumes_with_range(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    path, body = files[("ERR001", 1)]
    ena.faults[path] = ["drop", "drop"]
    dest = tmp_path / "a.fastq.gz"
    download_file(ena.url + path, dest, md5=_md5(body), retry=FAST)
    assert dest.read_bytes() == body
    ranges = [r for p, r in ena.requests if p == path]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert not (tmp_path / "a.fastq.gz.part").exists()


def test_gives_up_keeps_part_then_resumes(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    path, body = files[("ERR001", 2)]
    ena.faults[path] = ["drop"] * 10
    dest = tmp_path / "b.fastq.gz"
    with pytest.raises(DownloadError) as err:
        download_file(ena.url + path, dest, md5=_md5(body), retry=Retry(retries=2, backoff=0.01))
    msg = str(err.value)
    assert "\n" not in msg and path in msg and "gave up after 2 retries" in msg
    assert "to resume" in msg
    assert not dest.exists()
    part = tmp_path / "b.fastq.gz.part"
    assert 0 < part.stat().st_size < len(body)
    assert body.startswith(part.read_bytes())  # the kept bytes are a true prefix
    ena.faults[path] = []
    download_file(ena.url + path, dest, md5=_md5(body), retry=FAST)  # a later run resumes
    assert dest.read_bytes() == body and not part.exists()
    assert ena.requests[-1][1] is not None  # resumed with Range, not from scratch


def test_wrong_md5_leaves_nothing(ena: FakeENA, tmp_path: Path) -> None:
    _add_runs(ena, wrong_md5=True)
    runs = ena_filereport(
        "PRJEB31736", None, portal=f"{ena.url}/api", fastq_base=ena.url, retry=FAST
    )
    run = select_runs(runs, n_samples=1)[0]
    dest = tmp_path / "c.fastq.gz"
    with pytest.raises(DownloadError, match=r"MD5 [0-9a-f]{32}, expected 0{32}; the download was"):
        download_file(run.fastq[0], dest, md5=run.md5[0], retry=FAST)
    assert list(tmp_path.iterdir()) == []


def test_wrong_md5_after_resume_retries_from_scratch(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    path, body = files[("ERR001", 1)]
    dest = tmp_path / "d.fastq.gz"
    # a stale .part from another version of the file: resuming gives a wrong MD5
    (tmp_path / "d.fastq.gz.part").write_bytes(b"X" * 100)
    download_file(ena.url + path, dest, md5=_md5(body), retry=FAST)
    assert dest.read_bytes() == body
    assert [r for p, r in ena.requests if p == path] == ["bytes=100-", None]


def test_404_fails_at_once(ena: FakeENA, tmp_path: Path) -> None:
    dest = tmp_path / "e.fastq.gz"
    with pytest.raises(DownloadError, match=r"/vol1/missing\.fastq\.gz: HTTP 404"):
        download_file(ena.url + "/vol1/missing.fastq.gz", dest, retry=FAST)
    assert len(ena.requests) == 1  # not retried
    assert list(tmp_path.iterdir()) == []


def test_slow_and_5xx_responses_are_retried(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    path, body = files[("ERR002", 1)]
    ena.faults[path] = ["slow", "500"]
    ena.slow_seconds = 1.5
    dest = tmp_path / "f.fastq.gz"
    t0 = time.perf_counter()
    download_file(
        ena.url + path, dest, md5=_md5(body), retry=Retry(retries=3, backoff=0.01, timeout=0.5)
    )
    assert dest.read_bytes() == body
    assert len([p for p, _ in ena.requests if p == path]) == 3
    assert time.perf_counter() - t0 < 10


def test_slow_beyond_retries_is_a_timeout(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena)
    path, _ = files[("ERR002", 2)]
    ena.faults[path] = ["slow"] * 5
    ena.slow_seconds = 0.6
    with pytest.raises(DownloadError, match="timed out .gave up after 1 retries"):
        download_file(ena.url + path, tmp_path / "g.gz", retry=Retry(1, 0.01, timeout=0.3))
    assert not (tmp_path / "g.gz").exists()


def _in_flight_bytes() -> int:
    """The most bytes of a response that can have left the server unread by the client: the
    receiver's and the sender's largest TCP buffers (Linux: the third field of tcp_rmem /
    tcp_wmem; the receive buffer grows to it while a reader keeps up), plus 8 MB for the
    client's own read-ahead (the reader's prefetch of 4 blocks, the gzip and HTTP buffers)."""
    total = 8 << 20
    for name in ("tcp_rmem", "tcp_wmem"):
        try:
            total += int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
        except (OSError, ValueError, IndexError):  # not Linux
            total += 8 << 20
    return total


def test_stream_first_pairs_without_the_whole_file(ena: FakeENA, tmp_path: Path) -> None:
    # The sent bytes are bounded by what the buffers hold, not by what the client read, so the
    # file is made larger than that (16 MB more; ~129 compressed bytes a read): a client that
    # read to the end would be seen. (A fixed 32 MB file failed once in CI at 17.6 MB sent of
    # 32.2: this machine's receive buffer grows to 32 MB.)
    in_flight = _in_flight_bytes()
    n_reads = (in_flight + (16 << 20)) // 128
    p1, p2 = "/vol1/fastq/ERR001/ERR001_1.fastq.gz", "/vol1/fastq/ERR001/ERR001_2.fastq.gz"
    b1 = ena.files[p1] = gzip.compress(_fastq(n_reads, 1, seed=1), compresslevel=1)
    ena.files[p2] = gzip.compress(_fastq(2_000, 2, seed=2), compresslevel=1)
    o1, o2 = tmp_path / "h_1.fastq.gz", tmp_path / "h_2.fastq.gz"
    n = stream_head_pairs(ena.url + p1, ena.url + p2, 500, o1, o2, retry=FAST)
    assert n == 500
    got1 = list(read_fastq(o1))
    assert len(got1) == 500 and len(list(read_fastq(o2))) == 500
    assert got1[0].name.startswith("ERR001.1 ") and got1[-1].name.startswith("ERR001.500 ")
    with gzip.GzipFile(fileobj=io.BytesIO(b1)) as fh:  # the first MB of text is enough
        text = fh.read(1 << 20).decode().split("\n")
    assert got1[499].seq == text[4 * 499 + 1]
    assert got1[499].name.endswith(" 500/1")
    # the client stopped early: no more than the buffers hold went over the wire
    assert ena.sent[p1] <= in_flight < len(b1), (ena.sent[p1], in_flight, len(b1))


def test_stream_retries_a_dropped_stream_and_fails_cleanly(ena: FakeENA, tmp_path: Path) -> None:
    files = _add_runs(ena, n_reads=3000)
    p1, _ = files[("ERR001", 1)]
    p2, _ = files[("ERR001", 2)]
    o1, o2 = tmp_path / "i_1.fastq.gz", tmp_path / "i_2.fastq.gz"
    ena.faults[p2] = ["drop"]
    assert stream_head_pairs(ena.url + p1, ena.url + p2, 3000, o1, o2, retry=FAST) == 3000
    assert len(list(read_fastq(o2))) == 3000
    o1.unlink()
    o2.unlink()
    ena.faults[p2] = ["drop"] * 10
    with pytest.raises(DownloadError) as err:
        stream_head_pairs(ena.url + p1, ena.url + p2, 3000, o1, o2, retry=Retry(1, 0.01, 60, 2))
    assert "\n" not in str(err.value) and "gave up after 1 retries" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no partial FASTQ survives
    with pytest.raises(DownloadError, match="HTTP 404"):
        stream_head_pairs(ena.url + p1, ena.url + "/nope_2.fastq.gz", 10, o1, o2, retry=FAST)
    assert list(tmp_path.iterdir()) == []


def test_reference_with_checksum_file(ena: FakeENA, tmp_path: Path) -> None:
    ref = gzip.compress(b">chr20\n" + b"ACGT" * 1000 + b"\n")
    ena.files["/hg38/chromosomes/chr20.fa.gz"] = ref
    ena.files["/hg38/chromosomes/md5sum.txt"] = (
        f"{'1' * 32}  chr1.fa.gz\n{_md5(ref)}  chr20.fa.gz\n".encode()
    )
    dest = tmp_path / "chr20.fa.gz"
    fetch_reference(
        ena.url + "/hg38/chromosomes/chr20.fa.gz",
        dest,
        md5_url=ena.url + "/hg38/chromosomes/md5sum.txt",
        retry=FAST,
    )
    assert dest.read_bytes() == ref
    with pytest.raises(DownloadError, match="needs a checksum"):
        fetch_reference(ena.url + "/hg38/chromosomes/chr20.fa.gz", tmp_path / "x.fa.gz")
    with pytest.raises(DownloadError, match="no checksum for chr20.fa.gz"):
        ena.files["/hg38/chromosomes/md5sum.txt"] = b"abc  chr1.fa.gz\n"
        fetch_reference(
            ena.url + "/hg38/chromosomes/chr20.fa.gz",
            tmp_path / "y.fa.gz",
            md5_url=ena.url + "/hg38/chromosomes/md5sum.txt",
            retry=FAST,
        )
    assert not (tmp_path / "y.fa.gz").exists()
