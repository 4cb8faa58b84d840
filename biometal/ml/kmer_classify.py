"""An exact k-mer read classifier (Kraken-style, flat taxonomy): the baseline of the
DNABERT read-classification experiment.

Index (:meth:`KmerClassifier.build`): every canonical k-mer (k <= 31, 2-bit packed) of the
reference sequences, labelled with its class (a genome: records are grouped by a name
pattern, by default ``{genome}_c{j}`` -> ``genome``) or with -1 when it occurs in several
classes: the lowest common ancestor in a flat taxonomy is the root.

Classification (:meth:`KmerClassifier.classify`, one numba loop over reads in parallel):
each read's k-mers are looked up (binary search in the sorted keys); a read goes to the
class with the most class-specific hits (Kraken's heaviest root-to-leaf path: the shared
root hits add equally to every path), when that count is >= ``min_hits`` and not tied;
otherwise it is unclassified (-1, Kraken's root/unclassified).

Classes of the reference records: the record ID with a regex removed (default), one class
per FASTA file (``per_file``), or a contig -> class table (``class_map``,
:func:`read_class_map`). Files (``biometal classify``): :meth:`KmerClassifier.save` /
:meth:`~KmerClassifier.load` (``.npz``) and :func:`classify_files`, which streams single
or paired FASTQ chunk by chunk (constant memory) into a TSV of one row per read or pair.
A pair is classified as one unit, as Kraken does: the k-mers of both mates (none spans
the two) are counted together.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from biometal.errors import BiometalError, ConfigError
from biometal.io.atomic import atomic_path
from biometal.io.encoding import ENCODE_LUT
from biometal.io.fastx import ReadChunk, read_fasta, read_fastq_chunks
from biometal.io.sources import display_name
from biometal.ml import _kmer_classify_kernels as kern

log = logging.getLogger(__name__)

#: ``genome1_c2`` -> ``genome1`` (the simulated metagenome's contig names)
DEFAULT_GROUP = r"_c\d+$"
#: the class column of a read no class won (Kraken's ``U``)
UNCLASSIFIED = "unclassified"
#: columns of :func:`classify_files`' TSV
ASSIGN_COLUMNS = ["read", "class", "hits", "shared_hits", "kmers"]
_FASTA_SUFFIXES = (".fasta", ".fa", ".fna", ".fas", ".ffn", ".fsa")


def encode(seq: str | bytes) -> np.ndarray:
    """uint8 base codes (A0 C1 G2 T3, else 4) of a sequence."""
    b = seq.encode() if isinstance(seq, str) else seq
    return ENCODE_LUT[np.frombuffer(b, np.uint8)]


def file_class(path: str | os.PathLike) -> str:
    """The class name of a FASTA file: its name without ``.gz`` and a FASTA suffix."""
    name = os.path.basename(os.fspath(path))
    for suffix in (".gz", ".bgz"):
        name = name.removesuffix(suffix)
    for suffix in _FASTA_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_class_map(path: str | os.PathLike) -> dict[str, str]:
    """``contig<TAB>class`` lines of a TSV (blank and ``#`` lines skipped) as a dict."""
    out: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != 2 or not fields[0] or not fields[1]:
                    raise BiometalError(
                        f"{path}:{n}: expected two tab-separated columns, contig and class"
                    )
                contig, name = fields
                if out.setdefault(contig, name) != name:
                    raise BiometalError(
                        f"{path}:{n}: contig {contig!r} is mapped to {out[contig]!r} and {name!r}"
                    )
    except UnicodeDecodeError:
        raise BiometalError(f"{path}: not a text (UTF-8) contig-to-class table") from None
    if not out:
        raise BiometalError(f"{path}: no contig-to-class lines")
    return out


@dataclass
class KmerClassifier:
    """``k``; ``classes``: class names (index = label); ``keys`` uint64 sorted canonical
    k-mers; ``vals`` int16 class of each (-1: shared by several classes)."""

    k: int
    classes: list[str]
    keys: np.ndarray
    vals: np.ndarray

    @classmethod
    def build(
        cls,
        fasta: str | os.PathLike | Sequence[str | os.PathLike],
        k: int = 31,
        group: str | None = DEFAULT_GROUP,
        extra: Sequence[tuple[str, np.ndarray]] = (),
        *,
        per_file: bool = False,
        class_map: Mapping[str, str] | None = None,
    ) -> KmerClassifier:
        """Index one FASTA or several plus ``extra`` (class name, codes) records. The class of
        a record: its FASTA's :func:`file_class` (``per_file``), its ID looked up in
        ``class_map`` (every record must be there), or its ID with the regex ``group``
        removed (None: one class per record)."""
        if not 1 <= k <= 31:
            raise ConfigError(f"k-mer classifier: k must be in 1..31, got {k}")
        files = [fasta] if isinstance(fasta, str | os.PathLike) else list(fasta)
        try:
            pattern = re.compile(group) if group and not per_file and class_map is None else None
        except re.error as exc:
            raise ConfigError(f"k-mer classifier: bad class pattern {group!r}: {exc}") from None
        seqs: dict[str, list[np.ndarray]] = {}
        file_of: dict[str, str] = {}
        for path in files:
            name_of_file = file_class(path) if per_file else ""
            if per_file and file_of.setdefault(name_of_file, os.fspath(path)) != os.fspath(path):
                raise BiometalError(
                    f"{path}: class {name_of_file!r} is also the name of {file_of[name_of_file]}"
                )
            n = 0
            for rec in read_fasta(path):
                n += 1
                if per_file:
                    name = name_of_file
                elif class_map is not None:
                    name = class_map.get(rec.id)
                    if name is None:
                        raise BiometalError(
                            f"{display_name(path)}: contig {rec.id!r} has no class in the map"
                        )
                else:
                    name = pattern.sub("", rec.id) if pattern else rec.id
                seqs.setdefault(name, []).append(encode(rec.seq))
            if n == 0 and len(files) > 1:
                raise BiometalError(f"{display_name(path)}: no FASTA records")
        for name, codes in extra:
            seqs.setdefault(name, []).append(np.asarray(codes, np.uint8))
        if not seqs:
            raise BiometalError(f"{', '.join(map(os.fspath, files))}: no sequences to index")
        if len(seqs) > np.iinfo(np.int16).max:
            raise BiometalError(f"k-mer classifier: {len(seqs)} classes, at most 32767")
        classes = sorted(seqs)
        parts, labels = [], []
        for i, name in enumerate(classes):
            codes = np.concatenate(seqs[name])
            offsets = np.cumsum([0, *(len(s) for s in seqs[name])]).astype(np.int64)
            kmers = np.unique(kern.canonical_kmers(codes, offsets, k))
            parts.append(kmers)
            labels.append(np.full(kmers.size, i, np.int16))
        allk = np.concatenate(parts)
        alll = np.concatenate(labels)
        order = np.argsort(allk, kind="stable")
        allk, alll = allk[order], alll[order]
        keys, first, counts = np.unique(allk, return_index=True, return_counts=True)
        vals = alll[first].astype(np.int16)
        vals[counts > 1] = -1
        return cls(k, classes, keys, vals)

    @property
    def n_shared(self) -> int:
        return int((self.vals < 0).sum())

    def classify_arrays(
        self, codes: np.ndarray, offsets: np.ndarray, min_hits: int = 1
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(label int32[n] (-1 unclassified), specific hits int32[n, classes], shared hits
        int32[n], k-mers int32[n]) of reads given as reader arrays."""
        return kern.classify_loop(
            np.ascontiguousarray(codes, np.uint8),
            np.ascontiguousarray(offsets, np.int64),
            self.k,
            self.keys,
            self.vals,
            len(self.classes),
            int(min_hits),
        )

    def classify(self, chunk: ReadChunk, min_hits: int = 1) -> np.ndarray:
        """int32[n] class of each read of a chunk (-1: unclassified)."""
        return self.classify_arrays(chunk.codes, chunk.offsets, min_hits)[0]

    def save(self, path: str | os.PathLike) -> None:
        """Write the index as ``.npz`` (atomically)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, k=self.k, classes=np.array(self.classes), keys=self.keys, vals=self.vals)

    @classmethod
    def load(cls, path: str | os.PathLike) -> KmerClassifier:
        """An index written by :meth:`save`; anything else is a one-line error."""
        if not os.path.exists(path):
            raise BiometalError(f"{path}: no such k-mer classifier index")
        try:
            with open(path, "rb") as fh:
                if fh.read(4) != b"PK\x03\x04":
                    raise ValueError("not an .npz file")
            with np.load(path) as z:
                k = int(z["k"])
                classes = [str(c) for c in z["classes"]]
                keys, vals = z["keys"], z["vals"]
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise BiometalError(f"{path}: not a k-mer classifier index ({why})") from None
        bad = None
        if not 1 <= k <= 31:
            bad = f"k = {k}"
        elif keys.dtype != np.uint64 or vals.dtype != np.int16 or keys.shape != vals.shape:
            bad = f"keys {keys.dtype}{keys.shape}, vals {vals.dtype}{vals.shape}"
        elif vals.size and (vals.min() < -1 or vals.max() >= len(classes)):
            bad = f"class labels outside 0..{len(classes) - 1}"
        elif keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            bad = "keys not sorted"
        if bad:
            raise BiometalError(f"{path}: not a k-mer classifier index ({bad})")
        return cls(k, classes, keys, vals)


def join_mates(c1: ReadChunk, c2: ReadChunk) -> tuple[np.ndarray, np.ndarray]:
    """(codes, offsets) of each pair as one sequence: mate 1, a code 4 (N), mate 2. The N
    breaks the k-mer run, so the pair's k-mers are exactly both mates' k-mers."""
    l1, l2 = np.diff(c1.offsets), np.diff(c2.offsets)
    off = np.zeros(len(l1) + 1, np.int64)
    np.cumsum(l1 + l2 + 1, out=off[1:])
    codes = np.full(int(off[-1]), 4, np.uint8)
    a, b = int(c1.offsets[0]), int(c1.offsets[-1])
    codes[np.repeat(off[:-1] - c1.offsets[:-1], l1) + np.arange(a, b)] = c1.codes[a:b]
    a, b = int(c2.offsets[0]), int(c2.offsets[-1])
    codes[np.repeat(off[:-1] + l1 + 1 - c2.offsets[:-1], l2) + np.arange(a, b)] = c2.codes[a:b]
    return codes, off


def classify_files(
    index: str | os.PathLike | KmerClassifier,
    reads1: str | os.PathLike,
    reads2: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    min_hits: int = 1,
    chunk_reads: int = 65536,
    threads: int | None = None,
) -> dict[str, int]:
    """Classify the reads of a FASTQ (``reads2``: its mates, classified with them as pairs)
    against an index (a :meth:`KmerClassifier.save` file or the classifier), streamed
    ``chunk_reads`` reads at a time. ``out`` (``-``: standard output; ``.gz``: gzip; written
    atomically): a TSV with :data:`ASSIGN_COLUMNS`: read ID (pairs: without ``/1``), class
    name or ``unclassified``, the class-specific hits of the best class, the hits on k-mers
    shared by several classes, the k-mers looked up. Returns reads per class (in class
    order, then ``unclassified``)."""
    from biometal._threads import numba_threads
    from biometal.io.mates import mate_chunks, mate_id
    from biometal.io.sinks import output_sink

    clf = index if isinstance(index, KmerClassifier) else KmerClassifier.load(index)
    names = np.array([*clf.classes, UNCLASSIFIED], dtype=object)  # label -1: the last
    counts = np.zeros(len(names), np.int64)
    if reads2 is None:
        chunks = ((c, None) for c in read_fastq_chunks(reads1, chunk_reads, with_names=True))
    else:
        chunks = mate_chunks(reads1, reads2, chunk_reads, with_names=True)
    with numba_threads(threads), output_sink(out) as sink:
        sink.write(("\t".join(ASSIGN_COLUMNS) + "\n").encode())
        for c1, c2 in chunks:
            if c2 is None:
                codes, offsets = c1.codes, c1.offsets
                ids = [(n.split(None, 1) or [b""])[0].decode("latin-1") for n in c1.names]
            else:
                codes, offsets = join_mates(c1, c2)
                ids = [mate_id(n) for n in c1.names]
            label, hits, shared, n_kmers = clf.classify_arrays(codes, offsets, min_hits)
            best = hits.max(axis=1) if hits.shape[1] else np.zeros(len(label), np.int32)
            counts += np.bincount(label + 1, minlength=len(names))[np.r_[1 : len(names), 0]]
            rows = zip(
                ids, names[label].tolist(), best.tolist(), shared.tolist(), n_kmers.tolist(),
                strict=True,
            )  # fmt: skip
            sink.write("".join(f"{r}\t{c}\t{h}\t{s}\t{n}\n" for r, c, h, s, n in rows).encode())
    result = dict(zip(names.tolist(), counts.tolist(), strict=True))
    log.info("%s: %s", reads1, result)
    return result
