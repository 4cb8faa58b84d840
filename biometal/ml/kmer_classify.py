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
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biometal.errors import BiometalError, ConfigError
from biometal.io.atomic import atomic_path
from biometal.io.encoding import ENCODE_LUT
from biometal.io.fastx import ReadChunk, read_fasta
from biometal.ml import _kmer_classify_kernels as kern

#: ``genome1_c2`` -> ``genome1`` (the simulated metagenome's contig names)
DEFAULT_GROUP = r"_c\d+$"


def encode(seq: str | bytes) -> np.ndarray:
    """uint8 base codes (A0 C1 G2 T3, else 4) of a sequence."""
    b = seq.encode() if isinstance(seq, str) else seq
    return ENCODE_LUT[np.frombuffer(b, np.uint8)]


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
        fasta: str | os.PathLike,
        k: int = 31,
        group: str | None = DEFAULT_GROUP,
        extra: Sequence[tuple[str, np.ndarray]] = (),
    ) -> KmerClassifier:
        """Index a FASTA (records grouped into classes by removing the regex ``group`` from
        their IDs; None: one class per record) plus ``extra`` (class name, codes) records."""
        if not 1 <= k <= 31:
            raise ConfigError(f"k-mer classifier: k must be in 1..31, got {k}")
        seqs: dict[str, list[np.ndarray]] = {}
        for rec in read_fasta(fasta):
            name = re.sub(group, "", rec.id) if group else rec.id
            seqs.setdefault(name, []).append(encode(rec.seq))
        for name, codes in extra:
            seqs.setdefault(name, []).append(np.asarray(codes, np.uint8))
        if not seqs:
            raise BiometalError(f"{fasta}: no sequences to index")
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
        try:
            z = np.load(path)
            return cls(int(z["k"]), [str(c) for c in z["classes"]], z["keys"], z["vals"])
        except (OSError, KeyError, ValueError) as exc:
            raise BiometalError(f"{path}: not a k-mer classifier index ({exc})") from None
