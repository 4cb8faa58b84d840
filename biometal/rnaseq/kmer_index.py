"""The in-memory k-mer index type, shared by the builder and the pseudoaligner.

:class:`KmerIndex` lives below both :mod:`biometal.rnaseq.index` (which builds, saves, loads and
self-checks it) and :mod:`biometal.rnaseq.pseudoalign` (which reads it), so neither imports
the other's module for the type. The layout is described in :mod:`biometal.rnaseq.index`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biometal.io.encoding import ENCODE_LUT


@dataclass(eq=False)
class KmerIndex:
    """A transcriptome's k-mer index (see the module docstring for the layout).

    ``names`` transcript IDs (FASTA header up to the first whitespace), ``lengths`` int64 bp;
    ``table`` uint64[capacity, 2] rows (k-mer, packed value), ``EMPTY`` k-mer = free slot;
    ``contig_len``/``contig_ec`` int32[n_unitigs]; ``useq`` uint8 / ``uoff`` int64[n+1]
    unitig sequences (codes 0-3, ``len + k - 1`` bases each); ``ec_off`` int64[n_ec+1],
    ``ec_tx`` int32; ``pl_*`` CSR over unitigs of their placements (transcript, position,
    forward).
    """

    k: int
    names: list[str]
    lengths: np.ndarray
    table: np.ndarray
    contig_len: np.ndarray
    useq: np.ndarray
    uoff: np.ndarray
    contig_ec: np.ndarray
    ec_off: np.ndarray
    ec_tx: np.ndarray
    pl_off: np.ndarray
    pl_tx: np.ndarray
    pl_pos: np.ndarray
    pl_fw: np.ndarray
    stats: dict = field(default_factory=dict)
    _hashes: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_transcripts(self) -> int:
        return len(self.names)

    @property
    def n_ecs(self) -> int:
        return len(self.ec_off) - 1

    @property
    def n_contigs(self) -> int:
        return len(self.contig_len)

    @property
    def n_kmers(self) -> int:
        from biometal.rnaseq._kernels import EMPTY

        return int(np.count_nonzero(self.table[:, 0] != EMPTY))

    @property
    def max_ec_size(self) -> int:
        return int(np.diff(self.ec_off).max()) if self.n_ecs else 1

    def ec(self, e: int) -> np.ndarray:
        """Transcript indices of class ``e`` (sorted int32 array)."""
        return self.ec_tx[self.ec_off[e] : self.ec_off[e + 1]]

    def ec_hash_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted hashes uint64, class ids int64) of the multi-transcript classes."""
        if self._hashes is None:
            from biometal.rnaseq import _kernels

            multi = np.arange(self.n_transcripts, self.n_ecs, dtype=np.int64)
            h = _kernels.ec_hashes(self.ec_off, self.ec_tx)[multi]
            order = np.argsort(h, kind="stable")
            self._hashes = (h[order], multi[order])
        return self._hashes

    def lookup(self, kmer: str) -> int:
        """Class of one k-mer given as a string (either strand), or -1 (for tests/debugging)."""
        from biometal.rnaseq import _kernels

        codes = ENCODE_LUT[np.frombuffer(kmer.encode("ascii"), np.uint8)]
        if len(codes) != self.k:
            raise ValueError(f"expected a {self.k}-mer, got {len(codes)} bases")
        classes = _kernels.read_kmer_classes(
            codes, np.array([0, len(codes)], np.int64), self.k, self.table, self.contig_ec
        )
        return int(classes[0])
