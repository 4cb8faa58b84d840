"""biometal.io: streaming FASTQ/FASTA readers, read chunks, FastqWriter, input sources."""

from __future__ import annotations

import gzip
import http.server
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.errors import BiometalError, InputFormatError
from biometal.io import (
    FastaRecord,
    FastqRecord,
    FastqWriter,
    ReadChunk,
    decode,
    encode,
    open_input,
    read_fasta,
    read_fastq,
    read_fastq_chunks,
    read_fastx,
)

# ----------------------------------------------------------------------------- helpers

NAME_CHARS = st.characters(min_codepoint=33, max_codepoint=126)
names = st.builds(
    lambda a, b: a + (" " + b if b else ""),
    st.text(NAME_CHARS, max_size=12),
    st.text(NAME_CHARS, max_size=6),
)


@st.composite
def fastq_records(draw, max_len: int = 40) -> FastqRecord:
    seq = draw(st.text(st.sampled_from("ACGTNacgtnRYKMSWBDHV"), max_size=max_len))
    qual = draw(
        st.text(
            st.characters(min_codepoint=33, max_codepoint=126), min_size=len(seq), max_size=len(seq)
        )
    )
    return FastqRecord(draw(names), seq, qual)


record_lists = st.lists(fastq_records(), max_size=30)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def fastq_text(records) -> bytes:
    return "".join(f"@{n}\n{s}\n+\n{q}\n" for n, s, q in records).encode()


def chunks_concat(chunks: list[ReadChunk]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """(codes, qual, offsets, names) of all chunks joined into one."""
    if not chunks:
        return np.empty(0, np.uint8), np.empty(0, np.uint8), np.zeros(1, np.int64), []
    offsets = [np.zeros(1, np.int64)]
    base = 0
    for c in chunks:
        offsets.append(c.offsets[1:] + base)
        base += int(c.offsets[-1])
    all_names = [n for c in chunks for n in (c.names or [])]
    return (
        np.concatenate([c.codes for c in chunks]),
        np.concatenate([c.qual for c in chunks]),
        np.concatenate(offsets),
        all_names,
    )


def expected_arrays(records) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    codes = encode("".join(r.seq for r in records))
    qual = np.frombuffer("".join(r.qual for r in records).encode(), np.uint8) - 33
    offsets = np.zeros(len(records) + 1, np.int64)
    np.cumsum([len(r.seq) for r in records], out=offsets[1:])
    return codes, qual.astype(np.uint8), offsets, [r.name.encode() for r in records]


def assert_chunks_match(chunks: list[ReadChunk], records) -> None:
    got = chunks_concat(chunks)
    want = expected_arrays(records)
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_array_equal(g, w)
    if chunks and chunks[0].names is not None:
        assert got[3] == want[3]


def random_reads(path: Path, n: int, length: int = 150, seed: int = 0, level: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    with FastqWriter(path, compresslevel=level) as out:
        for start in range(0, n, 65536):
            k = min(65536, n - start)
            codes = rng.integers(0, 5, k * length, dtype=np.uint8)
            qual = rng.integers(2, 41, k * length, dtype=np.uint8)
            out.write_chunk(ReadChunk(codes, qual, np.arange(k + 1, dtype=np.int64) * length))
    return path


# ----------------------------------------------------------------------------- encoding


def test_encoding_table_and_round_trip():
    np.testing.assert_array_equal(encode("ACGTacgtNnRYx-"), [0, 1, 2, 3, 0, 1, 2, 3] + [4] * 6)
    np.testing.assert_array_equal(encode(b"GATTACA"), [2, 0, 3, 3, 0, 1, 0])
    assert encode("é").tolist() == [4]  # non-ASCII keeps length
    assert decode(encode("ACGTNacgtRY")) == "ACGTNACGTNN"
    assert decode(np.array([], np.uint8)) == ""
    with pytest.raises(ValueError):
        decode(np.array([5], np.uint8))


# ----------------------------------------------------------------------------- round trips


@SETTINGS
@given(records=record_lists, gz=st.booleans())
def test_writer_reader_round_trip(tmp_path_factory, records, gz):
    path = tmp_path_factory.mktemp("rt") / ("r.fastq.gz" if gz else "r.fastq")
    with FastqWriter(path) as out:
        for r in records[: len(records) // 2]:
            out.write(r)
        out.write_many(
            (r.name.encode(), r.seq.encode(), r.qual) for r in records[len(records) // 2 :]
        )
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    assert list(read_fastq(path)) == records
    assert list(read_fastx(path)) == records
    assert_chunks_match(list(read_fastq_chunks(path, chunk_reads=7, with_names=True)), records)
    assert_chunks_match(list(read_fastq_chunks(path)), records)


@SETTINGS
@given(records=record_lists, gz=st.booleans())
def test_write_chunk_round_trip(tmp_path_factory, records, gz):
    tmp = tmp_path_factory.mktemp("wc")
    src = tmp / "src.fastq"
    src.write_bytes(fastq_text(records))
    out_path = tmp / ("out.fastq.gz" if gz else "out.fastq")
    with FastqWriter(out_path) as out:
        for chunk in read_fastq_chunks(src, chunk_reads=5, with_names=True):
            out.write_chunk(chunk)
    upper = [FastqRecord(n, decode(encode(s)), q) for n, s, q in records]
    assert list(read_fastq(out_path)) == upper
    chunks = list(read_fastq_chunks(out_path, chunk_reads=3))
    assert [r for c in chunks for r in c.records()] == [FastqRecord("", s, q) for _, s, q in upper]


def test_write_chunk_without_names_numbers_reads(tmp_path):
    path = tmp_path / "x.fastq"
    chunk = ReadChunk(
        np.array([0, 1, 2, 3, 4], np.uint8),
        np.array([0, 10, 20, 30, 40], np.uint8),
        np.array([0, 2, 5]),
    )
    with FastqWriter(path) as out:
        out.write(("first", "A", "I"))
        out.write_chunk(chunk)
    assert path.read_text() == "@first\nA\n+\nI\n@read2\nAC\n+\n!+\n@read3\nGTN\n+\n5?I\n"


# ----------------------------------------------------------------------------- block boundaries


@SETTINGS
@given(
    records=st.lists(fastq_records(max_len=25), min_size=1, max_size=25),
    block_size=st.integers(1, 300),
    chunk_reads=st.integers(1, 9),
    crlf=st.booleans(),
)
def test_small_blocks_give_same_records_and_chunks(
    tmp_path_factory, records, block_size, chunk_reads, crlf
):
    path = tmp_path_factory.mktemp("blk") / "b.fastq"
    text = fastq_text(records)
    path.write_bytes(text.replace(b"\n", b"\r\n") if crlf else text)
    assert list(read_fastq(path, block_size=block_size)) == records
    chunks = list(read_fastq_chunks(path, chunk_reads, True, block_size=block_size))
    assert [len(c) for c in chunks[:-1]] == [chunk_reads] * (len(chunks) - 1)
    assert 1 <= len(chunks[-1]) <= chunk_reads
    assert [c.first_line for c in chunks] == [1 + 4 * chunk_reads * i for i in range(len(chunks))]
    assert_chunks_match(chunks, records)


def test_read_longer_than_block(tmp_path):
    rng = np.random.default_rng(3)
    records = [FastqRecord(f"r{i}", decode(rng.integers(0, 4, 5000)), "I" * 5000) for i in range(3)]
    path = tmp_path / "long.fastq"
    path.write_bytes(fastq_text(records))
    assert list(read_fastq(path, block_size=64)) == records
    assert_chunks_match(list(read_fastq_chunks(path, 2, block_size=64)), records)


def test_crlf_equals_lf(tmp_path):
    records = [
        FastqRecord("r1 x", "ACGTN", "IIII#"),
        FastqRecord("r2", "", ""),
        FastqRecord("r3", "gg", "!!"),
    ]
    lf, crlf = tmp_path / "lf.fastq", tmp_path / "crlf.fastq"
    lf.write_bytes(fastq_text(records))
    crlf.write_bytes(fastq_text(records).replace(b"\n", b"\r\n"))
    for block_size in (1, 5, 1 << 20):
        assert list(read_fastq(crlf, block_size=block_size)) == list(read_fastq(lf)) == records
        a = chunks_concat(list(read_fastq_chunks(lf, 2, True, block_size=block_size)))
        b = chunks_concat(list(read_fastq_chunks(crlf, 2, True, block_size=block_size)))
        for x, y in zip(a[:3], b[:3], strict=True):
            np.testing.assert_array_equal(x, y)
        assert a[3] == b[3]


def test_utf8_bom_at_the_start_is_skipped(tmp_path):
    """A text editor's byte-order mark before the first record (it was "expected '@' ...,
    found 'ï»¿@...'"): FASTQ and FASTA read as without it, plain and gzip, at any block size
    (the mark split over reads too)."""
    records = [FastqRecord("r1 x", "ACGTN", "IIII#"), FastqRecord("r2", "gg", "!!")]
    plain, bom, bom_gz = tmp_path / "a.fq", tmp_path / "bom.fq", tmp_path / "bom.fq.gz"
    plain.write_bytes(fastq_text(records))
    bom.write_bytes(b"\xef\xbb\xbf" + fastq_text(records))
    bom_gz.write_bytes(gzip.compress(bom.read_bytes()))
    for path in (bom, bom_gz):
        for block_size in (1, 2, 3, 5, 1 << 20):
            assert list(read_fastq(path, block_size=block_size)) == records
    fa, fa_bom = tmp_path / "a.fa", tmp_path / "bom.fa"
    fa.write_text(">c1 d\nACGT\nAC\n>c2\nGG\n")
    fa_bom.write_bytes(b"\xef\xbb\xbf" + fa.read_bytes())
    for block_size in (1, 2, 4, 1 << 20):
        assert list(read_fasta(fa_bom, block_size=block_size)) == list(read_fasta(fa))
    only = tmp_path / "only.fq"
    only.write_bytes(b"\xef\xbb\xbf")
    assert list(read_fastq(only)) == []


def test_empty_input_and_empty_reads(tmp_path):
    empty = tmp_path / "empty.fastq"
    empty.write_bytes(b"")
    assert list(read_fastq(empty)) == []
    assert list(read_fastq_chunks(empty)) == []
    assert list(read_fastx(empty)) == []
    gz = tmp_path / "empty.fastq.gz"
    gz.write_bytes(gzip.compress(b""))
    assert list(read_fastq(gz)) == []
    zero = tmp_path / "zero.fastq"
    zero.write_bytes(b"@r\n\n+\n\n@s\nA\n+\nI\n")
    assert list(read_fastq(zero)) == [FastqRecord("r", "", ""), FastqRecord("s", "A", "I")]
    (chunk,) = read_fastq_chunks(zero)
    assert chunk.offsets.tolist() == [0, 0, 1] and len(chunk) == 2


def test_missing_final_newline_and_trailing_blank_lines(tmp_path):
    path = tmp_path / "x.fastq"
    path.write_bytes(b"@a\nAC\n+\nII\n@b\nG\n+\nI")
    assert [r.name for r in read_fastq(path)] == ["a", "b"]
    path.write_bytes(b"@a\nAC\n+\nII\n\n\n")
    assert [r.name for r in read_fastq(path)] == ["a"]


def test_gzip_by_magic_and_multi_member(tmp_path):
    a = fastq_text([FastqRecord("a", "AC", "II")])
    b = fastq_text([FastqRecord("b", "GT", "##")])
    member = tmp_path / "plain_name.fastq"  # gzip content, no .gz suffix
    member.write_bytes(gzip.compress(a) + gzip.compress(b))
    assert [r.name for r in read_fastq(member)] == ["a", "b"]
    plain = tmp_path / "really_plain.fastq.gz"  # plain content, .gz suffix
    plain.write_bytes(a)
    assert [r.name for r in read_fastq(plain)] == ["a"]
    pysam = pytest.importorskip("pysam")
    src = tmp_path / "src.fastq"
    src.write_bytes(a + b)
    pysam.tabix_compress(str(src), str(tmp_path / "bgzf.fq.gz"))  # BGZF with EOF block
    assert [r.name for r in read_fastq(tmp_path / "bgzf.fq.gz")] == ["a", "b"]


def test_against_pysam(tmp_path):
    pysam = pytest.importorskip("pysam")
    path = random_reads(tmp_path / "r.fastq.gz", 3000, length=101)
    want = [(r.name, r.sequence, r.quality) for r in pysam.FastxFile(str(path))]
    assert [tuple(r) for r in read_fastq(path, block_size=4096)] == want


@pytest.mark.parametrize("prefetch", [True, False])
def test_prefetch_thread_on_and_off(tmp_path, monkeypatch, prefetch):
    from biometal.io import fastx

    monkeypatch.setattr(fastx, "PREFETCH", prefetch)
    path = random_reads(tmp_path / "r.fastq.gz", 5000, length=60)
    plain = tmp_path / "r.fastq"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    assert list(read_fastq(path, block_size=5000)) == list(read_fastq(plain))
    a = chunks_concat(list(read_fastq_chunks(path, 999, True, block_size=3000)))
    b = chunks_concat(list(read_fastq_chunks(plain, 999, True)))
    for x, y in zip(a[:3], b[:3], strict=True):
        np.testing.assert_array_equal(x, y)
    assert a[3] == b[3]
    cut = tmp_path / "cut.fastq.gz"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputFormatError, match="truncated gzip stream"):
        list(read_fastq(cut, block_size=5000))


def test_abandoned_iteration_stops_reader_thread(tmp_path):
    import gc

    path = random_reads(tmp_path / "r.fastq.gz", 20000, length=100)
    records = read_fastq(path, block_size=4096)
    assert next(records).name == "read1"
    chunks = read_fastq_chunks(path, 10, block_size=4096)
    assert len(next(chunks)) == 10
    assert any(t.name == "biometal-read" for t in threading.enumerate())
    del records, chunks
    gc.collect()
    deadline = time.monotonic() + 5
    while any(t.name == "biometal-read" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "reader thread still running"
        time.sleep(0.01)


def test_open_input_streams(tmp_path):
    text = fastq_text([FastqRecord(f"r{i}", "ACGT", "IIII") for i in range(100)])
    path = tmp_path / "x.fq.gz"
    path.write_bytes(gzip.compress(text))
    with open_input(path) as f:
        assert f.readline() == b"@r0\n"
        assert f.readline() + f.read() == text[4:]
    with pytest.raises(BiometalError, match="nope.fq: no such file"):
        open_input(tmp_path / "nope.fq")


# ----------------------------------------------------------------------------- errors

GOOD = b"@r1\nACGT\n+\nIIII\n"
MALFORMED = [
    (
        "missing_at",
        GOOD + b"r2\nACGT\n+\nIIII\n",
        5,
        "expected '@' at start of FASTQ record header",
    ),
    ("blank_line", GOOD + b"\n" + GOOD, 5, "expected '@' at start of FASTQ record header"),
    ("missing_plus", GOOD + b"@r2\nACGT\n-\nIIII\n", 7, "expected '+'"),
    ("three_line_record", b"@r1\nACGT\nIIII\n" + GOOD, 3, "expected '+'"),
    ("length_mismatch", GOOD + b"@r2\nACGT\n+\nIII\n", 8, "sequence length 4 != quality length 3"),
    ("truncated_after_header", GOOD + b"@r2\n", 5, "truncated FASTQ record"),
    ("truncated_in_sequence", GOOD + b"@r2\nAC", 6, "truncated FASTQ record"),
    ("truncated_after_plus", GOOD + b"@r2\nACGT\n+\n", 7, "truncated FASTQ record"),
    ("truncated_in_quality", GOOD + b"@r2\nACGT\n+\nII", 8, "truncated FASTQ record"),
    ("non_ascii_header", GOOD + b"@r\xc3\xa9\nACGT\n+\nIIII\n", 5, "non-ASCII byte 0xC3"),
    ("non_ascii_sequence", GOOD * 3 + b"@r2\nAC\xffT\n+\nIIII\n", 14, "non-ASCII byte 0xFF"),
    ("quality_below_bang", GOOD + b"@r2\nACGT\n+\nII I\n", 8, "below '!'"),
    ("quality_tab", GOOD + b"@r2\nACGT\n+\nII\tI\n", 8, "below '!'"),
    ("space_in_sequence", GOOD + b"@r2\nAC T\n+\nIIII\n", 6, "in sequence"),
    ("lone_cr_in_quality", GOOD + b"@r2\nACGT\n+\nII\rI\n", 8, "below '!'"),
    (
        "crlf_missing_plus",
        (GOOD + b"@r2\nACGT\nx\nIIII\n").replace(b"\n", b"\r\n"),
        7,
        "expected '+'",
    ),
]


@pytest.mark.parametrize("block_size", [3, 1 << 20])
@pytest.mark.parametrize(("case", "data", "line", "what"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_fastq_names_file_and_line(tmp_path, case, data, line, what, block_size):
    path = tmp_path / f"{case}.fastq"
    path.write_bytes(data)
    readers = [
        lambda: list(read_fastq(path, block_size=block_size)),
        lambda: list(read_fastq_chunks(path, 1, block_size=block_size)),
        lambda: list(read_fastx(path, block_size=block_size)),
    ]
    for read in readers:
        with pytest.raises(InputFormatError) as info:
            read()
        message = str(info.value)
        assert message.startswith(f"{path}:{line}: "), message
        assert what in message
        assert "\n" not in message
        assert info.value.line == line


def test_malformed_in_gzip_reports_line(tmp_path):
    path = tmp_path / "bad.fastq.gz"
    path.write_bytes(gzip.compress(GOOD * 1000 + b"@x\nAC\n+\nI\n"))
    with pytest.raises(
        InputFormatError, match=rf"^{path}:4004: sequence length 2 != quality length 1"
    ):
        list(read_fastq(path, block_size=4096))


def test_truncated_gzip(tmp_path):
    full = random_reads(tmp_path / "full.fastq.gz", 2000, length=100)
    data = full.read_bytes()
    cut = tmp_path / "cut.fastq.gz"
    cut.write_bytes(data[: len(data) // 2])
    for read in (read_fastq, read_fastq_chunks, read_fastx):
        with pytest.raises(InputFormatError) as info:
            for _ in read(cut):
                pass
        assert str(info.value).startswith(f"{cut}: truncated gzip stream")
        assert "\n" not in str(info.value)
    with pytest.raises(InputFormatError, match="truncated gzip stream"), open_input(cut) as f:
        f.read()


def test_corrupt_gzip(tmp_path):
    data = bytearray(random_reads(tmp_path / "ok.fastq.gz", 500, length=50).read_bytes())
    data[100:140] = b"\xff" * 40
    bad = tmp_path / "bad.fastq.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match=rf"^{bad}: (corrupt|truncated) gzip stream"):
        list(read_fastq(bad))


# ----------------------------------------------------------------------------- FASTA


def test_read_fasta_multiline_crlf_and_blocks(tmp_path):
    text = b">chr1 first\nACGT\nacgtNN\n\n>empty\n>chr2\nGG\nT"
    want = [
        FastaRecord("chr1 first", "ACGTacgtNN"),
        FastaRecord("empty", ""),
        FastaRecord("chr2", "GGT"),
    ]
    path = tmp_path / "x.fa"
    for data in (text, text.replace(b"\n", b"\r\n")):
        path.write_bytes(data)
        for block_size in (1, 4, 7, 1 << 20):
            assert list(read_fasta(path, block_size=block_size)) == want
            assert list(read_fastx(path, block_size=block_size)) == want
    assert want[0].id == "chr1"
    path.write_bytes(gzip.compress(text))
    assert list(read_fasta(path)) == want


def test_fasta_errors(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_bytes(b"\nACGT\n>s\nAC\n")
    with pytest.raises(InputFormatError, match=rf"^{path}:2: expected '>' at start of FASTA"):
        list(read_fasta(path))
    path.write_bytes(b">s\nAC\nG\xe9T\n")
    with pytest.raises(InputFormatError, match=rf"^{path}:3: non-ASCII byte 0xE9"):
        list(read_fasta(path, block_size=2))
    path.write_bytes(b"\n\nhello\n")
    with pytest.raises(
        InputFormatError, match=rf"^{path}:3: expected '@' \(FASTQ\) or '>' \(FASTA\)"
    ):
        list(read_fastx(path))


# ----------------------------------------------------------------------------- stdin, http

STDIN_CHILD = textwrap.dedent(
    """
    import sys
    from biometal.io import read_fastq, read_fastq_chunks
    records = list(read_fastq("-"))
    print(len(records), records[-1].name, records[-1].seq)
    """
)


@pytest.mark.parametrize("gz", [False, True])
def test_stdin(tmp_path, gz):
    records = [FastqRecord(f"r{i}", "ACGT" * (i % 5), "I" * (4 * (i % 5))) for i in range(5000)]
    data = fastq_text(records)
    data = gzip.compress(data) if gz else data
    out = subprocess.run(
        [sys.executable, "-c", STDIN_CHILD], input=data, capture_output=True, timeout=60, check=True
    )
    assert out.stdout.decode().split() == ["5000", "r4999", "ACGT" * 4]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


class _Dropping(_Quiet):
    """Promises 1 MB, sends 1000 bytes, closes the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        self.wfile.write(b"@r\nACGT\n+\nIIII\n" * 62)
        self.wfile.flush()
        self.close_connection = True


class _Stalling(_Quiet):
    """Sends part of the body, then goes silent without closing."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        self.wfile.write(b"@r\nACGT\n+\nIIII\n" * 62)
        self.wfile.flush()
        time.sleep(4)


def _run_bounded(fn, seconds: float):
    """Run fn in a thread; fail the test if it does not finish in time (a hang)."""
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_http_url_matches_local(tmp_path, serve):
    path = random_reads(tmp_path / "reads.fastq.gz", 3000, length=80)
    base = serve(partial(_Quiet, directory=str(tmp_path)))
    url = f"{base}/reads.fastq.gz"
    assert _run_bounded(lambda: list(read_fastq(url, block_size=8192)), 30) == list(
        read_fastq(path)
    )
    got = _run_bounded(lambda: list(read_fastq_chunks(url, 1000)), 30)
    want = list(read_fastq_chunks(path, 1000))
    assert len(got) == len(want) == 3
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.codes, w.codes)
        np.testing.assert_array_equal(g.qual, w.qual)
        np.testing.assert_array_equal(g.offsets, w.offsets)
    with pytest.raises(BiometalError) as info:
        list(read_fastq(f"{base}/missing.fastq.gz"))
    assert str(info.value) == f"{base}/missing.fastq.gz: HTTP 404 File not found"


def test_http_dropped_connection(serve):
    url = serve(_Dropping) + "/x.fastq"
    with pytest.raises(BiometalError) as info:
        _run_bounded(lambda: list(read_fastq(url)), 20)
    assert str(info.value).startswith(f"{url}: ")
    assert "incomplete download" in str(info.value)


def test_http_stalled_connection_times_out(serve):
    url = serve(_Stalling) + "/x.fastq"

    def read():
        with open_input(url, timeout=0.5) as f:
            return f.read()

    with pytest.raises(BiometalError, match=rf"^{url}: timed out while reading"):
        _run_bounded(read, 20)


def test_unreachable_url():
    with pytest.raises(BiometalError, match=r"^http://127\.0\.0\.1:9/x\.fq: cannot open URL"):
        open_input("http://127.0.0.1:9/x.fq", timeout=5)


# ----------------------------------------------------------------------------- writer


def test_writer_exception_leaves_no_file(tmp_path):
    for name in ("out.fastq", "out.fastq.gz"):
        path = tmp_path / name
        with pytest.raises(RuntimeError), FastqWriter(path) as out:
            out.write(("r", "ACGT", "IIII"))
            raise RuntimeError("boom")
        assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    with (
        pytest.raises(ValueError, match="sequence length 2 != quality length 1"),
        FastqWriter(tmp_path / "bad.fastq") as out,
    ):
        out.write(("r", "AC", "I"))
    assert list(tmp_path.iterdir()) == []


def test_gzip_output_is_deterministic(tmp_path):
    records = [FastqRecord(f"r{i}", "ACGT" * 10, "I" * 40) for i in range(1000)]
    blobs = []
    for i in range(2):
        path = tmp_path / f"run{i}" / "same.fastq.gz"
        with FastqWriter(path, compresslevel=6) as out:
            out.write_many(records)
        blobs.append(path.read_bytes())
        time.sleep(1.1 if i == 0 else 0)  # a different second would change a real mtime
    assert blobs[0] == blobs[1]
    assert blobs[0][3] & 0x08 == 0  # no FNAME field
    assert blobs[0][4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(blobs[0]) == fastq_text(records)


# ----------------------------------------------------------------------------- memory

# The child reports its own peak RSS. Not ru_maxrss: on Linux a child's ru_maxrss (from
# wait4 or getrusage in the child) starts at the parent's peak, because exec keeps the
# high-water mark of the (v)forked address space; VmHWM counts the new process image only.
RSS_CHILD = textwrap.dedent(
    """
    import resource, sys
    from biometal.io import read_fastq, read_fastq_chunks
    n = sum(len(c) for c in read_fastq_chunks(sys.argv[1], chunk_reads=16384))
    m = sum(1 for _ in read_fastq(sys.argv[1]))
    assert n == m, (n, m)
    try:
        with open("/proc/self/status") as f:
            peak = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # macOS: bytes
    print(n, peak)
    """
)


def _peak_rss_kib(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(path)], capture_output=True, check=True, timeout=120
    )
    n, peak = out.stdout.split()
    return int(n), int(peak)


def test_peak_rss_independent_of_file_size(tmp_path):
    n = 50_000
    small = random_reads(tmp_path / "small.fastq.gz", n, seed=1)
    large = random_reads(tmp_path / "large.fastq.gz", 10 * n, seed=2)
    (n_small, rss_small), (n_large, rss_large) = _peak_rss_kib(small), _peak_rss_kib(large)
    assert (n_small, n_large) == (n, 10 * n)
    # the decompressed large file is ~150 MB: holding it would far exceed 10%
    assert abs(rss_large - rss_small) < 0.10 * rss_small, (rss_small, rss_large)


def test_fasta_spaces_and_tabs_in_sequence_lines_are_layout(tmp_path):
    """Spaces and tabs inside FASTA sequence lines are not bases (they were counted: a
    'ACGT ACGT' line gave a 9-base sequence); the header keeps its description."""
    fa = tmp_path / "s.fa"
    fa.write_text(">t1 a description\nACGT ACGT \n\tAC\n>t2\nGG\n")
    assert [(r.name, r.seq) for r in read_fasta(fa)] == [("t1 a description", "ACGTACGTAC"),
                                                       ("t2", "GG")]  # fmt: skip
