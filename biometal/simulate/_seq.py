"""Small sequence, FASTA and seeding helpers shared by the simulators.

Sequences are handled as ``numpy.uint8`` arrays of upper-case ASCII codes (``b"ACGTN"``),
so slicing, complementing and writing never go through Python strings.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pysam

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

#: ASCII codes of the four bases, indexed by the 2-bit code A=0, C=1, G=2, T=3.
BASES = np.frombuffer(b"ACGT", dtype=np.uint8).copy()

#: ASCII -> complement ASCII (A<->T, C<->G, N->N, anything else -> N).
COMP = np.full(256, ord("N"), dtype=np.uint8)
for _a, _b in zip(b"ACGTNacgtn", b"TGCANTGCAN", strict=True):
    COMP[_a] = _b

#: ASCII -> 2-bit code (A=0, C=1, G=2, T=3, anything else 4).
CODE = np.full(256, 4, dtype=np.uint8)
for _i, _a in enumerate(b"ACGT"):
    CODE[_a] = _i
    CODE[_a + 32] = _i

FASTA_WIDTH = 60


def make_rng(seed: int, stream: str) -> np.random.Generator:
    """A generator for one named stream of one seed.

    ``stream`` keeps functions that share a seed (``config.seed``) on independent streams:
    the reference and the variants drawn with seed 1 are not correlated.
    """
    return np.random.default_rng(seed_sequence(seed, stream))


def seed_sequence(seed: int, stream: str) -> np.random.SeedSequence:
    """``SeedSequence`` for ``(seed, stream)``; ``stream`` hashed with CRC32 (stable)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BiometalError(f"seed: expected a non-negative integer, got {seed!r}")
    return np.random.SeedSequence([int(seed), zlib.crc32(stream.encode())])


def revcomp(seq: np.ndarray) -> np.ndarray:
    """Reverse complement of a uint8 ASCII array (new array)."""
    return COMP[seq[::-1]]


def random_bases(rng: np.random.Generator, n: int, gc: float | np.ndarray = 0.5) -> np.ndarray:
    """``n`` random bases (uint8 ASCII) with GC fraction ``gc`` (scalar or per-base array)."""
    u = rng.random(n)
    gc = np.asarray(gc, dtype=np.float64)
    half_gc = gc / 2.0
    # [0, gc/2) -> G, [gc/2, gc) -> C, [gc, gc + (1-gc)/2) -> A, rest -> T
    out = np.where(
        u < half_gc,
        ord("G"),
        np.where(u < gc, ord("C"), np.where(u < gc + (1.0 - gc) / 2.0, ord("A"), ord("T"))),
    )
    return out.astype(np.uint8)


def mutate(
    rng: np.random.Generator,
    seq: np.ndarray,
    sub_rate: float,
    indel_rate: float = 0.0,
    max_indel: int = 3,
) -> np.ndarray:
    """Copy of ``seq`` with random substitutions and short indels (both at per-base rates)."""
    out = seq.copy()
    n = out.size
    sub = np.flatnonzero(rng.random(n) < sub_rate)
    if sub.size:
        codes = CODE[out[sub]].astype(np.int64)
        codes = np.where(codes > 3, 0, codes)
        out[sub] = BASES[(codes + rng.integers(1, 4, size=sub.size)) % 4]
    if indel_rate <= 0:
        return out
    sites = np.flatnonzero(rng.random(n) < indel_rate)
    if sites.size == 0:
        return out
    pieces = []
    prev = 0
    for s in sites:  # few per copy
        if s < prev:
            continue
        k = int(rng.integers(1, max_indel + 1))
        pieces.append(out[prev:s])
        if rng.random() < 0.5:  # deletion of k bases
            prev = min(n, s + k)
        else:  # insertion of k random bases before s
            pieces.append(random_bases(rng, k))
            prev = s
    pieces.append(out[prev:])
    return np.concatenate(pieces)


def read_fasta(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All records of a (possibly gzipped) FASTA file: name -> upper-case uint8 ASCII array.

    Insertion order follows the file. Raises :class:`BiometalError` naming the file when it
    is missing, empty or has duplicate record names.
    """
    path = Path(path)
    if not path.exists():
        raise BiometalError(f"{path}: FASTA file not found")
    out: dict[str, np.ndarray] = {}
    try:
        with pysam.FastxFile(str(path)) as fh:
            for rec in fh:
                if rec.name in out:
                    raise BiometalError(f"{path}: duplicate FASTA record name {rec.name!r}")
                out[rec.name] = np.frombuffer(rec.sequence.upper().encode(), dtype=np.uint8)
    except OSError as exc:  # pysam reports unreadable files as OSError
        raise BiometalError(f"{path}: cannot read FASTA ({exc})") from None
    if not out:
        raise BiometalError(f"{path}: no FASTA records")
    return out


def fasta_bytes(records: Iterable[tuple[str, np.ndarray]], width: int = FASTA_WIDTH):
    """Render records as FASTA bytes; also returns ``.fai`` lines (samtools layout)."""
    chunks: list[bytes] = []
    fai: list[str] = []
    offset = 0
    for name, seq in records:
        header = f">{name}\n".encode()
        chunks.append(header)
        offset += len(header)
        raw = np.ascontiguousarray(seq, dtype=np.uint8).tobytes()
        body = b"\n".join(raw[i : i + width] for i in range(0, len(raw), width)) + b"\n"
        chunks.append(body)
        fai.append(f"{name}\t{len(raw)}\t{offset}\t{width}\t{width + 1}\n")
        offset += len(body)
    return b"".join(chunks), "".join(fai)


def write_fasta(
    path: str | os.PathLike,
    records: Iterable[tuple[str, np.ndarray]],
    fai_path: str | os.PathLike | None = None,
    width: int = FASTA_WIDTH,
) -> None:
    """Write ``records`` as FASTA (``width`` columns) atomically, and its ``.fai`` if asked."""
    data, fai = fasta_bytes(records, width)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    if fai_path is not None:
        # written after the FASTA so the index is never older than the data
        with atomic_path(fai_path) as tmp:
            tmp.write_text(fai)
