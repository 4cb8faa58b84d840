"""The k-mer index of a transcriptome: canonical k-mer -> equivalence class of transcripts.

Transcript names are the FASTA IDs, GENCODE's ``|``-separated headers cut to their first
field (the transcript ID, as salmon's ``--gencode``). Built once per transcriptome (rule
``rnaseq_index``), saved as one uncompressed ``.npz`` (fast
to load: each sample job reads it whole, ~16 bytes per hash slot), loaded by every
quantification job.

Structure (all numpy arrays, no Python objects per k-mer):

* every canonical k-mer (``min(kmer, revcomp(kmer))``, 2-bit packed in a ``uint64``; ``k`` odd,
  <= 31) of every transcript, windows holding a non-ACGT base skipped;
* its *equivalence class* (EC): the set of transcripts that contain it. Class ``t`` for
  ``t < n_transcripts`` is the singleton ``{t}`` (every transcript has one, as in kallisto);
  larger classes follow. Classes are stored as CSR (``ec_off``, ``ec_tx``, transcripts sorted);
* the k-mers are compacted into *unitigs*: maximal non-branching paths of the (node-centric)
  de Bruijn graph whose k-mers all share one class. The hash table (open addressing, linear
  probing, load <= 0.65) maps a k-mer to ``unitig << 32 | position << 1 | strand``; a unitig
  knows its length and class. The pseudoaligner uses this to skip along a read
  (:mod:`biometal.rnaseq.pseudoalign`);
* where each unitig lies in each transcript (for fragment-length estimation).

:func:`build_index` raises :class:`~biometal.errors.BiometalError` for an empty
transcriptome, duplicate transcript names or a bad ``k``; FASTA format errors come from
:func:`biometal.io.read_fasta` (``path:line: what``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError, ConfigError
from biometal.io import ReadChunk, read_fasta
from biometal.io.atomic import atomic_path
from biometal.io.encoding import ENCODE_LUT
from biometal.progress import Progress
from biometal.rnaseq.em import run_em
from biometal.rnaseq.kmer_index import KmerIndex
from biometal.rnaseq.pseudoalign import ECRegistry, pseudoalign
from biometal.rnaseq.tables import transcript_id

log = logging.getLogger(__name__)

#: the default k-mer length (kallisto's).
DEFAULT_K = 31
#: highest fill of the hash table.
MAX_LOAD = 0.65
_FORMAT = 1

_ARRAYS = (
    "lengths",
    "table",
    "contig_len",
    "useq",
    "uoff",
    "contig_ec",
    "ec_off",
    "ec_tx",
    "pl_off",
    "pl_tx",
    "pl_pos",
    "pl_fw",
)


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ConfigError(f"rnaseq.k: expected an odd integer in 3..31, got {k!r}")
    if not 3 <= int(k) <= 31 or int(k) % 2 == 0:
        raise ConfigError(
            f"rnaseq.k: expected an odd integer in 3..31 (odd: no k-mer is its own reverse "
            f"complement), got {k}"
        )
    return int(k)


def read_transcripts(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, codes uint8[n_bases], offsets int64[n+1]) of a transcript FASTA (plain/gz).

    A name is the header up to the first whitespace, or the first ``|``-separated field of a
    GENCODE header (:func:`biometal.rnaseq.tables.transcript_id`).
    """
    names: list[str] = []
    seen: dict[str, int] = {}
    parts: list[np.ndarray] = []
    for i, rec in enumerate(read_fasta(path)):
        name = transcript_id(rec.id)
        if not name:
            raise BiometalError(f"{path}: record {i + 1} has an empty name")
        if name in seen:
            raise BiometalError(
                f"{path}: duplicate transcript name {name!r} (records {seen[name]} and {i + 1})"
            )
        seen[name] = i + 1
        names.append(name)
        parts.append(ENCODE_LUT[np.frombuffer(rec.seq.encode("ascii"), np.uint8)])
    if not names:
        raise BiometalError(f"{path}: no transcripts (empty FASTA)")
    lengths = np.fromiter((p.size for p in parts), dtype=np.int64, count=len(parts))
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return names, np.concatenate(parts), offsets


def build_index(transcripts: str | os.PathLike, k: int = DEFAULT_K) -> KmerIndex:
    """Build the k-mer index of a transcript FASTA (see the module docstring)."""
    k = _check_k(k)
    t0 = time.perf_counter()
    names, codes, offsets = read_transcripts(transcripts)
    return _build(names, codes, offsets, k, str(transcripts), t0)


def _build(
    names: list[str],
    codes: np.ndarray,
    offsets: np.ndarray,
    k: int,
    source: str,
    t0: float,
    timings: dict | None = None,
) -> KmerIndex:
    """The index of transcripts ``codes``/``offsets``; ``timings``, if given, receives
    (wall s, CPU s, peak RSS so far in KiB) per stage (bench/rnaseq_index_build.py)."""
    from biometal.rnaseq import _kernels

    n_tx = len(names)
    progress = Progress(log, f"index of {source}", total=6, unit="stages")
    mark = [(time.perf_counter(), time.process_time())]

    def lap(name: str) -> None:
        if timings is not None:
            import resource

            r = resource.getrusage(resource.RUSAGE_SELF)
            now = (time.perf_counter(), r.ru_utime + r.ru_stime)
            timings[name] = (now[0] - mark[0][0], now[1] - mark[0][1], r.ru_maxrss)
            mark[0] = now

    kmers, tx = _kernels.transcript_kmers(codes, offsets, k)
    if kmers.size == 0:
        raise BiometalError(f"{source}: no transcript has a {k}-mer of A/C/G/T only")
    progress.update(1, f"{kmers.size:,} k-mers listed")
    lap("k-mer extraction")
    order = np.argsort(kmers, kind="stable")  # transcripts stay ascending within a k-mer
    lap("sort")
    kmers = kmers[order]  # each input freed as soon as it is gathered: lower peak
    tx = tx[order]
    del order
    lap("gather")
    uniq, set_off, set_tx = _kernels.group_kmers(kmers, tx)
    del kmers, tx
    progress.update(1, f"{uniq.size:,} distinct k-mers")
    lap("group")
    ec, ec_off, ec_tx = _kernels.assign_ecs(set_off, set_tx, n_tx)
    del set_off, set_tx
    progress.update(1, "equivalence classes")
    lap("equivalence classes")
    capacity = 1 << max(4, int(np.ceil(np.log2(uniq.size / MAX_LOAD))))
    table = _kernels.build_table(uniq, capacity)
    progress.update(1, "hash table")
    lap("hash table")
    cnt, node, nstr = _kernels.neighbours(uniq, table, k)
    lap("neighbours")
    contig, pos, orient, contig_len = _kernels.build_unitigs(cnt, node, nstr, ec)
    del cnt, node, nstr
    lap("unitig walk")
    contig_ec = np.empty(len(contig_len), np.int32)
    contig_ec[contig] = ec
    _kernels.pack_table(table, contig, pos, orient)
    lap("pack")
    useq, uoff = _kernels.unitig_sequences(uniq, contig, pos, orient, contig_len, k)
    del contig, pos, orient
    progress.update(1, f"{len(contig_len):,} unitigs")
    lap("unitig sequences")
    pl_off, pl_tx, pl_pos, pl_fw = _kernels.contig_placements(
        codes, offsets, k, table, len(contig_len)
    )
    progress.update(1, "unitig placements")
    lap("contig placements")
    progress.done()
    no_kmer = np.setdiff1d(np.arange(n_tx), pl_tx)
    if no_kmer.size:
        shown = ", ".join(names[t] for t in no_kmer[:5].tolist())
        log.warning(
            "%s: %d transcript(s) have no %d-mer of A/C/G/T only (shorter than k, or N "
            "throughout): %s%s; they stay in the index and get no reads (est_counts 0), as "
            "with kallisto",
            source,
            no_kmer.size,
            k,
            shown,
            ", ..." if no_kmer.size > 5 else "",
        )
    index = KmerIndex(
        k=k,
        names=names,
        lengths=np.diff(offsets),
        table=table,
        contig_len=contig_len,
        useq=useq,
        uoff=uoff,
        contig_ec=contig_ec,
        ec_off=ec_off,
        ec_tx=ec_tx,
        pl_off=pl_off,
        pl_tx=pl_tx,
        pl_pos=pl_pos,
        pl_fw=pl_fw,
    )
    index.stats = {
        "k": k,
        "transcripts": n_tx,
        "transcript_bp": int(offsets[-1]),
        "kmers": int(uniq.size),
        "transcripts_without_kmers": int(no_kmer.size),
        "unitigs": int(len(contig_len)),
        "equivalence_classes": int(index.n_ecs),
        "hash_capacity": int(capacity),
        "build_seconds": round(time.perf_counter() - t0, 3),
    }
    log.info(
        "index: %d transcripts, %d k-mers (k=%d), %d unitigs, %d classes in %.2f s",
        n_tx,
        uniq.size,
        k,
        len(contig_len),
        index.n_ecs,
        index.stats["build_seconds"],
    )
    return index


def save_index(index: KmerIndex, path: str | os.PathLike) -> int:
    """Write ``index`` to ``path`` (uncompressed .npz, atomically); return its size in bytes."""
    arrays = {name: getattr(index, name) for name in _ARRAYS}
    meta = {"format": _FORMAT, "k": index.k, "stats": index.stats}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            names=np.array(index.names, dtype=str),
            meta=np.array(json.dumps(meta)),
            **arrays,
        )
    return Path(path).stat().st_size


def load_index(path: str | os.PathLike) -> KmerIndex:
    """Read an index written by :func:`save_index`."""
    path = Path(path)
    if not path.is_file():
        raise BiometalError(f"{path}: k-mer index not found")
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
            raise BiometalError(
                f"{path}: not a biometal k-mer index (not an .npz file; build one from the "
                "transcript FASTA with `biometal index`)"
            )
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != _FORMAT:
                raise BiometalError(
                    f"{path}: index format {meta.get('format')!r}, expected {_FORMAT}; rebuild it"
                )
            arrays = {name: data[name] for name in _ARRAYS}
            names = data["names"].tolist()
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        what = " ".join(str(exc).split())
        raise BiometalError(f"{path}: not a biometal k-mer index ({what})") from None
    return KmerIndex(k=int(meta["k"]), names=names, stats=meta.get("stats", {}), **arrays)


def self_check(index: KmerIndex, codes: np.ndarray, offsets: np.ndarray, n: int = 1000) -> int:
    """Pseudoalign ``n`` error-free read pairs cut from the transcripts; run the EM on them.

    Each pair must land in a class that holds its transcript (every one of its k-mers is in
    that transcript); a failure is a bug, not a user error (RuntimeError). Also compiles (or
    loads from numba's cache) everything a quantification job runs, so that the sample jobs
    that follow, maybe in parallel, do not each compile it. Returns the pairs checked.
    """
    rng = np.random.default_rng(0)
    lengths = np.diff(offsets)
    ok = np.unique(index.pl_tx)  # transcripts with a k-mer of A/C/G/T only
    if ok.size == 0:
        return 0
    tx = rng.choice(ok, size=n)
    read_len = np.minimum(lengths[tx], 100)
    frag = np.minimum(lengths[tx], 250)
    start = (rng.random(n) * (lengths[tx] - frag + 1)).astype(np.int64) + offsets[tx]
    m1 = [codes[s : s + r] for s, r in zip(start, read_len, strict=True)]
    m2 = [3 - codes[s + f - r : s + f][::-1] for s, f, r in zip(start, frag, read_len, strict=True)]

    def chunk(parts):
        off = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([p.size for p in parts], out=off[1:])
        c = np.concatenate(parts).astype(np.uint8)
        c[c > 4] = 4  # a non-ACGT transcript base (4) became 3 - 4 < 0 on the reverse strand
        return ReadChunk(c, np.zeros_like(c), off)

    registry = ECRegistry(index)
    ec, _ = pseudoalign(index, registry, chunk(m1), chunk(m2))
    ec_off, ec_tx = registry.csr()
    for e, t, a, b in zip(ec.tolist(), tx.tolist(), m1, m2, strict=True):
        if e < 0 and not (_has_kmer(a, index.k) or _has_kmer(b, index.k)):
            continue  # both mates inside runs of N: no k-mer, rightly unassigned
        if e < 0 or t not in set(ec_tx[ec_off[e] : ec_off[e + 1]].tolist()):
            raise RuntimeError(f"index self-check: a read of {index.names[t]} got class {e}")
    counts = np.bincount(ec[ec >= 0], minlength=len(registry))
    run_em(ec_off, ec_tx, counts, np.maximum(index.lengths - 250 + 1, 1).astype(np.float64))
    return n


def _has_kmer(codes: np.ndarray, k: int) -> bool:
    """Whether ``codes`` hold ``k`` consecutive A/C/G/T bases (codes 0-3)."""
    bad = np.flatnonzero(codes >= 4)
    runs = np.diff(np.concatenate(([-1], bad, [codes.size]))) - 1
    return bool(runs.max() >= k)


def index_transcriptome(
    transcripts: str | os.PathLike,
    index_out: str | os.PathLike,
    stats_out: str | os.PathLike | None = None,
    *,
    k: int = DEFAULT_K,
) -> dict:
    """Build, self-check (:func:`self_check`) and save the index; stats as JSON.

    Stats: k, transcripts, k-mers, unitigs, classes, build seconds, file size.
    """
    k = _check_k(k)
    t0 = time.perf_counter()
    names, codes, offsets = read_transcripts(transcripts)
    index = _build(names, codes, offsets, k, str(transcripts), t0)
    checked = self_check(index, codes, offsets)
    size = save_index(index, index_out)
    stats = {
        **index.stats,
        "self_check_pairs": checked,
        "size_bytes": size,
        "total_seconds": round(time.perf_counter() - t0, 3),
    }
    log.info("index: %.1f MiB written to %s", size / 2**20, index_out)
    if stats_out is not None:
        with atomic_path(stats_out) as tmp:
            tmp.write_text(json.dumps(stats, indent=1) + "\n")
    return stats
