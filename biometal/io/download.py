"""Public sequencing data over HTTP(S): ENA run metadata, FASTQ files, reference sequences.

- :func:`ena_filereport`: the run table of a study from the ENA portal API (``filereport``:
  run accession, sample accession and alias, FASTQ URLs, MD5s, sizes, read count), written
  as TSV; :func:`select_runs` picks runs by accession/sample or the first N paired runs.
- :func:`download_file`: a whole file, written to ``dest.part`` and renamed only when its
  size and MD5 match. Network failures (refused or dropped connections, timeouts, HTTP 5xx
  or 429) are retried with exponential backoff, resuming from the bytes already in
  ``.part`` (HTTP ``Range``); a ``.part`` left by an interrupted run is resumed the same way.
  A wrong MD5 removes the download (and, when it had been resumed, downloads once more
  from scratch before giving up). HTTP 4xx (404...) fails at once. Every failure is one
  :class:`DownloadError` line naming the URL; the destination never holds a partial file.
- :func:`stream_head_pairs`: the first N read pairs of two (gzipped) FASTQ URLs, streamed
  (:func:`biometal.io.fastx.read_fastq`) without downloading the rest, written atomically;
  a dropped stream is retried from the start.
- :func:`fetch_reference`: a reference FASTA (plain or gzip) by URL with its MD5, given
  directly or looked up in an ``md5sum.txt``-style checksum file by URL.

Nothing here runs in the default workflow (which is offline); ``config/1000g.yaml`` turns it
on, and every URL (portal, FASTQ host, reference) can be pointed elsewhere, e.g. at a
mirror or at the local test server of ``tests/unit/test_download.py``.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.progress import Progress

log = logging.getLogger(__name__)

ENA_PORTAL = "https://www.ebi.ac.uk/ena/portal/api"
ENA_FASTQ_BASE = "https://ftp.sra.ebi.ac.uk"
FILEREPORT_FIELDS = (
    "run_accession",
    "sample_accession",
    "sample_alias",
    "fastq_ftp",
    "fastq_md5",
    "fastq_bytes",
    "read_count",
)
_CHUNK = 1 << 20


class DownloadError(BiometalError):
    """A download failed; the one-line message names the URL and what went wrong."""


@dataclass(frozen=True)
class Retry:
    """Retry policy: ``retries`` more attempts after the first, waiting ``backoff * 2**k``
    seconds before retry k (capped at ``max_wait``); ``timeout`` seconds of silence (connect
    or between reads) is a failure."""

    retries: int = 5
    backoff: float = 1.0
    max_wait: float = 60.0
    timeout: float = 60.0

    def wait(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * (2 ** (attempt - 1)))


def _one_line(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())


class _Fatal(Exception):
    """A failure that retrying cannot fix (HTTP 4xx, wrong checksum)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {_one_line(exc.reason or '')}".strip()
    if isinstance(exc, urllib.error.URLError):
        r = exc.reason
        if isinstance(r, (TimeoutError, socket.timeout)):
            return "timed out"
        return f"cannot connect: {r if isinstance(r, str) else _one_line(r)}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return "connection closed before the end of the body"
    return f"network error: {_one_line(exc)}"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    return isinstance(exc, (OSError, http.client.HTTPException, _Incomplete))


class _Incomplete(Exception):
    """The body ended before Content-Length bytes arrived."""


def _with_retries(what: str, fn: Callable[[int], object], retry: Retry, sleep=time.sleep):
    """Call ``fn(attempt)`` until it succeeds; retry retryable errors with backoff."""
    attempt = 0
    while True:
        try:
            return fn(attempt)
        except _Fatal as exc:
            raise DownloadError(f"{what}: {exc}") from None
        except BiometalError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified just below
            if not _retryable(exc):
                raise DownloadError(f"{what}: {_describe(exc)}") from None
            attempt += 1
            if attempt > retry.retries:
                raise DownloadError(
                    f"{what}: {_describe(exc)} (gave up after {retry.retries} retries)"
                ) from None
            wait = retry.wait(attempt)
            log.warning("%s: %s; retry %d in %.1f s", what, _describe(exc), attempt, wait)
            sleep(wait)


def _open(url: str, timeout: float, headers: dict | None = None):
    req = urllib.request.Request(url, headers={"User-Agent": "biometal", **(headers or {})})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only


def fetch_text(url: str, retry: Retry | None = None) -> str:
    """A small text resource (with retries)."""
    retry = retry or Retry()

    def once(_: int) -> str:
        with _open(url, retry.timeout) as resp:
            data = resp.read()
            missing = getattr(resp, "length", None)
            if missing:
                raise _Incomplete(f"{missing} bytes missing")
            return data.decode("utf-8")

    return _with_retries(url, once, retry)


# ---------------------------------------------------------------------------- ENA metadata


@dataclass(frozen=True)
class EnaRun:
    """One sequencing run of the filereport (URLs already made absolute)."""

    run: str
    sample: str
    sample_alias: str
    fastq: tuple[str, ...]
    md5: tuple[str, ...]
    bytes: tuple[int, ...]
    read_count: int | None = None

    @property
    def paired(self) -> bool:
        return len(self.fastq) == 2


def filereport_url(accession: str, portal: str = ENA_PORTAL) -> str:
    """The ENA portal API query of a study's read runs."""
    q = urllib.parse.urlencode(
        {
            "accession": accession,
            "result": "read_run",
            "fields": ",".join(FILEREPORT_FIELDS),
            "format": "tsv",
        }
    )
    return f"{portal.rstrip('/')}/filereport?{q}"


def fastq_url(ftp_field: str, base: str = ENA_FASTQ_BASE) -> str:
    """ENA's ``fastq_ftp`` entry (``host/path``, no scheme) as a URL on ``base``."""
    entry = ftp_field.strip()
    if "://" in entry:
        entry = entry.split("://", 1)[1]
    path = entry.split("/", 1)[1] if "/" in entry else entry
    return f"{base.rstrip('/')}/{path}"


def parse_filereport(text: str, source: str, fastq_base: str = ENA_FASTQ_BASE) -> list[EnaRun]:
    """Runs of a filereport TSV (``source`` names it in errors)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DownloadError(f"{source}: empty filereport (no such study, or no read runs)")
    header = lines[0].split("\t")
    need = ("run_accession", "fastq_ftp", "fastq_md5")
    missing = [c for c in need if c not in header]
    if missing:
        raise DownloadError(f"{source}: filereport lacks column(s) {', '.join(missing)}")
    col = {c: i for i, c in enumerate(header)}
    runs = []
    for ln, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) != len(header):
            raise DownloadError(f"{source}:{ln}: {len(f)} fields, the header has {len(header)}")

        def get(name: str, f=f) -> str:
            return f[col[name]] if name in col else ""

        urls = tuple(fastq_url(u, fastq_base) for u in get("fastq_ftp").split(";") if u)
        md5 = tuple(m for m in get("fastq_md5").split(";") if m)
        size = tuple(int(b) for b in get("fastq_bytes").split(";") if b)
        if len(md5) != len(urls) or (size and len(size) != len(urls)):
            raise DownloadError(
                f"{source}:{ln}: {len(urls)} FASTQ URLs but {len(md5)} MD5s / {len(size)} sizes"
            )
        rc = get("read_count")
        runs.append(
            EnaRun(
                run=get("run_accession"),
                sample=get("sample_accession"),
                sample_alias=get("sample_alias"),
                fastq=urls,
                md5=md5,
                bytes=size,
                read_count=int(rc) if rc.isdigit() else None,
            )
        )
    return runs


def ena_filereport(
    accession: str,
    out: str | os.PathLike | None = None,
    *,
    portal: str = ENA_PORTAL,
    fastq_base: str = ENA_FASTQ_BASE,
    retry: Retry | None = None,
) -> list[EnaRun]:
    """Fetch and parse a study's filereport; write it to ``out`` (TSV, atomic) if given."""
    url = filereport_url(accession, portal)
    text = fetch_text(url, retry)
    runs = parse_filereport(text, url, fastq_base)
    if out is not None:
        with atomic_path(out) as tmp:
            tmp.write_text(text if text.endswith("\n") else text + "\n")
    return runs


def select_runs(
    runs: Sequence[EnaRun], samples: Sequence[str] = (), n_samples: int = 1
) -> list[EnaRun]:
    """Paired runs named in ``samples`` (run accession, sample accession or alias), in that
    order; or, when ``samples`` is empty, the first ``n_samples`` paired runs by accession."""
    paired = [r for r in runs if r.paired]
    if samples:
        out = []
        for s in samples:
            hit = [r for r in paired if s in (r.run, r.sample, r.sample_alias)]
            if not hit:
                raise DownloadError(f"no paired-end run of sample or run {s!r} in the filereport")
            out.append(hit[0])
        return out
    chosen = sorted(paired, key=lambda r: r.run)[:n_samples]
    if len(chosen) < n_samples:
        raise DownloadError(f"the filereport has {len(chosen)} paired runs, {n_samples} wanted")
    return chosen


def read_filereport(path: str | os.PathLike, fastq_base: str = ENA_FASTQ_BASE) -> list[EnaRun]:
    """Runs of a filereport TSV written by :func:`ena_filereport`."""
    return parse_filereport(Path(path).read_text(), str(path), fastq_base)


def runs_table(runs: Sequence[EnaRun]) -> pd.DataFrame:
    """One row per run: run, sample, alias, fastq_1/2, md5_1/2, bytes_1/2."""
    rows = []
    for r in runs:
        row = {"run": r.run, "sample": r.sample, "sample_alias": r.sample_alias}
        for i in range(len(r.fastq)):
            row[f"fastq_{i + 1}"] = r.fastq[i]
            row[f"md5_{i + 1}"] = r.md5[i]
            row[f"bytes_{i + 1}"] = r.bytes[i] if r.bytes else ""
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- whole files


def md5sum(path: str | os.PathLike) -> str:
    """Hex MD5 of a file."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _State:
    resumed: bool = False
    attempts: list[str] = field(default_factory=list)
    progress: Progress | None = None


def _fetch_into(url: str, part: Path, retry: Retry, state: _State) -> None:
    """One attempt: append the missing bytes of ``url`` to ``part`` (Range when possible)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(url, retry.timeout, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the .part is complete
            return
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise _Fatal(_describe(exc)) from None
        raise
    with resp:
        status = getattr(resp, "status", 200)
        if have and status == 206:
            rng = resp.headers.get("Content-Range", "")
            if not rng.startswith(f"bytes {have}-"):
                raise _Incomplete(f"unexpected Content-Range {rng!r}")
            mode = "ab"
            state.resumed = True
        else:
            mode = "wb"  # a server without Range support sends everything again
        done = have if mode == "ab" else 0
        progress = state.progress
        if progress is not None and progress.total is None:
            length = resp.headers.get("Content-Length", "")
            if length.isdigit():
                progress.total = done + int(length)
        with open(part, mode) as fh:
            while True:
                block = resp.read(_CHUNK)
                if not block:
                    break
                fh.write(block)
                done += len(block)
                if progress is not None:
                    progress.set(done)
        missing = getattr(resp, "length", None)
        if missing:
            raise _Incomplete(f"connection closed with {missing} bytes still to come")


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    md5: str | None = None,
    size: int | None = None,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download ``url`` to ``dest`` (see the module doc); returns ``dest``.

    An existing ``dest`` whose MD5 matches is kept without any request."""
    retry = retry or Retry()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and md5 and md5sum(dest) == md5:
        log.info("%s: already present, MD5 matches", dest)
        return dest
    part = dest.with_name(dest.name + ".part")
    state = _State(progress=Progress(log, f"download {dest.name}", total=size, unit="bytes"))
    for fresh in (False, True):
        if fresh:
            part.unlink(missing_ok=True)
        try:
            _with_retries(url, lambda _a: _fetch_into(url, part, retry, state), retry, sleep)
        except DownloadError as exc:
            if part.exists():
                kept = part.stat().st_size
                raise DownloadError(f"{exc} ({kept} bytes kept in {part.name} to resume)") from None
            raise
        got_size = part.stat().st_size
        problem = None
        if size is not None and got_size != size:
            problem = f"size {got_size} bytes, expected {size}"
        elif md5:
            got = md5sum(part)
            if got != md5.lower():
                problem = f"MD5 {got}, expected {md5.lower()}"
        if problem is None:
            os.replace(part, dest)
            state.progress.n = got_size
            state.progress.done(f"{url} -> {dest}")
            return dest
        part.unlink(missing_ok=True)
        if not state.resumed or fresh:
            break
        log.warning("%s: %s after resuming; downloading again from scratch", url, problem)
        state.resumed = False
    raise DownloadError(f"{url}: {problem}; the download was removed")


# ---------------------------------------------------------------------------- streamed head


def stream_head_pairs(
    url1: str,
    url2: str,
    n_pairs: int,
    out1: str | os.PathLike,
    out2: str | os.PathLike,
    *,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write the first ``n_pairs`` read pairs of two FASTQ URLs (plain or gzip) to
    ``out1``/``out2`` (atomic, gzip by suffix) without downloading the rest; returns the
    pairs written (fewer when the files are shorter). Mate names must agree."""
    from biometal.io.fastx import FastqWriter, read_fastq
    from biometal.io.mates import mate_id
    from biometal.io.sources import InputSourceError

    retry = retry or Retry()
    if n_pairs < 1:
        raise DownloadError(f"n_pairs must be >= 1, got {n_pairs}")

    def once(_attempt: int) -> int:
        it1 = read_fastq(url1)
        it2 = read_fastq(url2)
        k = 0
        progress = Progress(log, f"stream {url1} + mate", total=n_pairs, unit="pairs")
        try:
            with FastqWriter(out1) as w1, FastqWriter(out2) as w2:
                for r1, r2 in zip(it1, it2):  # noqa: B905 - shorter mate ends the pairs
                    a, b = mate_id(r1.name), mate_id(r2.name)
                    if a != b:
                        raise DownloadError(f"{url2}: record {k + 1} is {b!r} but {url1} has {a!r}")
                    w1.write(r1)
                    w2.write(r2)
                    k += 1
                    if k % 4096 == 0:
                        progress.update(4096)
                    if k == n_pairs:
                        break
        except InputSourceError as exc:
            if exc.what.startswith("HTTP 4"):
                raise _Fatal(exc.what) from None
            raise _Incomplete(exc.what) from None
        finally:
            for it in (it1, it2):  # stop reading: the prefetch thread closes the connection
                close = getattr(it, "close", None)
                if close is not None:
                    close()
            del it1, it2
        progress.n = k
        progress.done()
        return k

    n = _with_retries(f"{url1} + {url2}", once, retry, sleep)
    log.info("streamed %d read pairs of %s", n, url1)
    return n


# ---------------------------------------------------------------------------- reference


def checksum_from_list(text: str, filename: str, source: str) -> str:
    """The MD5 of ``filename`` in an ``md5sum``-style list (``<md5>  <name>`` lines)."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and os.path.basename(parts[-1].lstrip("*")) == filename:
            return parts[0].lower()
    raise DownloadError(f"{source}: no checksum for {filename}")


def fetch_reference(
    url: str,
    dest: str | os.PathLike,
    *,
    md5: str = "",
    md5_url: str = "",
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download a reference (checksum required: ``md5`` or ``md5_url`` listing it)."""
    retry = retry or Retry()
    if not md5 and not md5_url:
        raise DownloadError(f"{url}: a reference needs a checksum (md5 or md5_url)")
    if not md5:
        name = os.path.basename(urllib.parse.urlparse(url).path)
        md5 = checksum_from_list(fetch_text(md5_url, retry), name, md5_url)
    return download_file(url, dest, md5=md5, retry=retry, sleep=sleep)


# ---------------------------------------------------------------------------- workflow steps


def ena_runs_file(
    project: str,
    report_out: str | os.PathLike,
    runs_out: str | os.PathLike,
    *,
    portal: str = ENA_PORTAL,
    fastq_base: str = ENA_FASTQ_BASE,
    samples: Sequence[str] = (),
    n_samples: int = 1,
    retry: Retry | None = None,
) -> pd.DataFrame:
    """Fetch the filereport (``report_out``) and write the chosen paired runs (``runs_out``,
    TSV of :func:`runs_table`)."""
    runs = ena_filereport(project, None, portal=portal, fastq_base=fastq_base, retry=retry)
    chosen = select_runs(runs, samples, n_samples)
    table = runs_table(chosen)
    with atomic_path(report_out) as tmp:
        runs_table(runs).to_csv(tmp, sep="\t", index=False)
    with atomic_path(runs_out) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    log.info("%s: %d runs, chosen %s", project, len(runs), ", ".join(r.run for r in chosen))
    return table


def fetch_run_reads(
    runs_tsv: str | os.PathLike,
    run: str,
    out1: str | os.PathLike,
    out2: str | os.PathLike,
    *,
    mode: str = "head",
    n_pairs: int = 10000,
    retry: Retry | None = None,
) -> None:
    """Reads of one chosen run: ``head`` streams the first ``n_pairs`` pairs; ``whole``
    downloads both files (size and MD5 checked, resumable) to ``out1``/``out2``."""
    table = pd.read_csv(runs_tsv, sep="\t", dtype=str)
    rows = table[table["run"] == run]
    if rows.empty:
        raise DownloadError(f"{runs_tsv}: run {run} is not among the chosen runs")
    row = rows.iloc[0]
    if mode == "head":
        stream_head_pairs(row["fastq_1"], row["fastq_2"], n_pairs, out1, out2, retry=retry)
    elif mode == "whole":
        for mate, out in ((1, out1), (2, out2)):
            size = row.get(f"bytes_{mate}")
            download_file(
                row[f"fastq_{mate}"],
                out,
                md5=row[f"md5_{mate}"],
                size=int(size) if isinstance(size, str) and size.isdigit() else None,
                retry=retry,
            )
    else:
        raise DownloadError(f"unknown download mode {mode!r}; use head or whole")
