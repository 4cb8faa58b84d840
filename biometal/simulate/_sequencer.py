"""Illumina-like sequencing of fragments: one error model shared by every read simulator.

A read is sequenced from a *template*: the fragment bases in read direction, followed by
the adapter (read-through when the fragment is shorter than the read) and a poly-G tail
(what 2-colour instruments report after the library ends). The template is ``PAD`` bases
longer than the read so deletion errors have bases to consume.

Error model, per read (all vectorised over a batch of reads):

1. Indel errors: ``Binomial(L, indel_error_rate)`` events (capped at ``PAD``) at distinct
   read positions, each an insertion (a random base that is not in the template) or a
   deletion (one template base skipped), with equal probability.
2. Qualities: ``Q = clip(rint(mu[p] + r + e), q_min, q_max)`` with a per-read offset
   ``r ~ N(0, read_quality_sd)`` and per-base noise ``e ~ N(0, quality_sd)``. The mean
   profile ``mu[p]`` is solved numerically so that the expected error probability at read
   position ``p`` is ``sub_rate_start + (sub_rate_end - sub_rate_start) * (p / (L-1))**2``.
3. Substitutions: a base is miscalled with probability ``10**(-Q/10)`` of its own quality
   (so the qualities are calibrated by construction), to one of the three other bases.
   Inserted bases are random and are not counted as substitutions.
4. ``N``: each base becomes ``N`` (quality 2, ``#``) with probability ``n_rate``; an ``N``
   is not counted as a substitution.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.special import ndtr

from biometal.errors import ConfigError
from biometal.simulate._fastq_out import DEFAULT_COMPRESSLEVEL, FastqGzWriter
from biometal.simulate._seq import BASES, CODE, COMP

#: Extra template bases beyond the read length (maximum deletion errors per read).
PAD = 8
#: Read pairs simulated per batch (memory per batch: a few tens of MB).
CHUNK_PAIRS = 16384
N_QUAL = 2

TRUSEQ_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
TRUSEQ_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"


@dataclass(frozen=True)
class ErrorModel:
    """Parameters of the sequencing error model (rates are per base), validated once, here.

    Every read simulator takes one ``errors: ErrorModel`` argument; build it from the config
    section ``simulate.errors`` with :meth:`from_config`. An invalid value raises
    :class:`~biometal.errors.ConfigError` from the constructor.
    """

    sub_rate_start: float = 0.001
    sub_rate_end: float = 0.015
    indel_error_rate: float = 1e-4
    n_rate: float = 1e-4
    quality_sd: float = 3.0
    read_quality_sd: float = 2.0
    q_min: int = 5
    q_max: int = 41

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ErrorModel:
        """The model of a config section ``simulate.errors`` (validated: every key set)."""
        unknown = sorted(set(section) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"simulate.errors: unknown key(s) {', '.join(unknown)}")
        return cls(**section)

    def __post_init__(self) -> None:
        for key in ("sub_rate_start", "sub_rate_end"):
            v = getattr(self, key)
            if not 0.0 <= v <= 0.25:
                raise ConfigError(f"{key}: expected a rate in [0, 0.25], got {v!r}")
        for key in ("indel_error_rate", "n_rate"):
            v = getattr(self, key)
            if not 0.0 <= v <= 0.05:
                raise ConfigError(f"{key}: expected a rate in [0, 0.05], got {v!r}")
        for key in ("quality_sd", "read_quality_sd"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: expected >= 0, got {getattr(self, key)!r}")
        if not 3 <= self.q_min < self.q_max <= 93:
            raise ConfigError(
                f"q_min/q_max: need 3 <= q_min < q_max <= 93, got {self.q_min}, {self.q_max}"
            )

    def target_error(self, read_length: int) -> np.ndarray:
        """Expected substitution probability per read position, shape (read_length,)."""
        x = np.arange(read_length) / max(read_length - 1, 1)
        return self.sub_rate_start + (self.sub_rate_end - self.sub_rate_start) * x**2

    def quality_profile(self, read_length: int) -> np.ndarray:
        """Mean quality ``mu[p]`` whose expected error probability matches the target."""
        target = self.target_error(read_length)
        sd = float(np.hypot(self.quality_sd, self.read_quality_sd))
        q = np.arange(self.q_min, self.q_max + 1, dtype=np.float64)
        perr = 10.0 ** (-q / 10.0)

        def expected(mu: np.ndarray) -> np.ndarray:
            if sd == 0:
                qq = np.clip(np.rint(mu), self.q_min, self.q_max)
                return 10.0 ** (-qq / 10.0)
            hi = np.where(q[None, :] == self.q_max, np.inf, (q[None, :] + 0.5 - mu[:, None]) / sd)
            lo = np.where(q[None, :] == self.q_min, -np.inf, (q[None, :] - 0.5 - mu[:, None]) / sd)
            return ((ndtr(hi) - ndtr(lo)) * perr[None, :]).sum(axis=1)

        lo = np.full(read_length, self.q_min - 30.0)
        hi = np.full(read_length, self.q_max + 30.0)
        for _ in range(60):  # expected() decreases in mu: bisection
            mid = (lo + hi) / 2
            too_high = expected(mid) > target
            lo = np.where(too_high, mid, lo)
            hi = np.where(too_high, hi, mid)
        return (lo + hi) / 2


@dataclass
class ReadBatch:
    """Sequenced reads: ``seqs``/``quals`` (n, L) uint8 ASCII, per-read int arrays."""

    seqs: np.ndarray
    quals: np.ndarray
    n_sub: np.ndarray  # substitution errors
    n_indel: np.ndarray  # indel errors (insertions + deletions)
    n_n: np.ndarray  # N calls
    consumed: np.ndarray  # template bases the read covers (L - insertions + deletions)
    boundary_pos: np.ndarray  # read position where template index `boundary` lands, or -1


def build_templates(
    source: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    reverse: np.ndarray,
    adapter: str,
    width: int,
) -> np.ndarray:
    """(n, width) templates: fragment ``source[start:start+length]`` in read direction.

    ``reverse`` reads start at the fragment end on the other strand (reverse complement).
    Template positions past the fragment hold the adapter, then poly-G.
    """
    j = np.arange(width, dtype=np.int64)[None, :]
    start = start.astype(np.int64)[:, None]
    length = length.astype(np.int64)[:, None]
    rev = reverse[:, None]
    pos = np.where(rev, start + length - 1 - j, start + j)
    np.clip(pos, 0, source.size - 1, out=pos)
    base = source[pos]
    base = np.where(rev, COMP[base], base)
    tail = np.frombuffer(adapter.encode() + b"G" * width, dtype=np.uint8)
    k = np.clip(j - length, 0, tail.size - 1)
    return np.where(j < length, base, tail[k])


def sequence_templates(
    templates: np.ndarray,
    read_length: int,
    model: ErrorModel,
    mu: np.ndarray,
    rng: np.random.Generator,
    boundary: np.ndarray,
) -> ReadBatch:
    """Sequence ``templates`` (n, >= read_length + PAD) into reads of ``read_length``."""
    n, width = templates.shape
    L = read_length
    if width < L + PAD:
        raise ValueError("templates must be at least read_length + PAD wide")
    seqs = np.ascontiguousarray(templates[:, :L])
    consumed = np.full(n, L, dtype=np.int64)
    boundary = boundary.astype(np.int64)
    bpos = np.where(boundary < L, boundary, -1)
    n_indel = np.minimum(rng.binomial(L, model.indel_error_rate, size=n), PAD)
    affected = np.flatnonzero(n_indel)
    ins = None
    if affected.size:
        na = affected.size
        k = n_indel[affected]
        ranks = np.argsort(np.argsort(rng.random((na, L)), axis=1), axis=1)
        event = ranks < k[:, None]
        ins = event & (rng.random((na, L)) < 0.5)
        dele = event & ~ins
        tpl_idx = np.arange(L)[None, :] - np.cumsum(ins, axis=1) + np.cumsum(dele, axis=1)
        np.clip(tpl_idx, 0, width - 1, out=tpl_idx)
        rows = np.arange(na)[:, None]
        reads = templates[affected][rows, tpl_idx]
        n_ins = int(ins.sum())
        reads[ins] = BASES[rng.integers(0, 4, size=n_ins)]
        seqs[affected] = reads
        consumed[affected] = L - ins.sum(axis=1) + dele.sum(axis=1)
        hit = ~ins & (tpl_idx >= boundary[affected][:, None])
        bpos[affected] = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)

    offset = rng.standard_normal(n, dtype=np.float32) * np.float32(model.read_quality_sd)
    z = rng.standard_normal((n, L), dtype=np.float32)
    z *= np.float32(model.quality_sd)
    z += mu.astype(np.float32)[None, :]
    z += offset[:, None]
    np.rint(z, out=z)
    np.clip(z, model.q_min, model.q_max, out=z)
    qual = z.astype(np.uint8)
    perr = (10.0 ** (-np.arange(256) / 10.0)).astype(np.float32)
    err = rng.random((n, L), dtype=np.float32) < perr[qual]
    if ins is not None:
        err[affected] &= ~ins
    codes = CODE[seqs]
    err &= codes < 4
    e_idx = np.nonzero(err)
    seqs[e_idx] = BASES[(codes[e_idx] + rng.integers(1, 4, size=e_idx[0].size)) % 4]
    n_total = n * L
    n_ns = int(rng.binomial(n_total, model.n_rate)) if model.n_rate > 0 else 0
    if n_ns:
        flat = rng.integers(0, n_total, size=n_ns)
        seqs.reshape(-1)[flat] = ord("N")
        qual.reshape(-1)[flat] = N_QUAL
        err.reshape(-1)[flat] = False
    qual += 33
    return ReadBatch(
        seqs=seqs,
        quals=qual,
        n_sub=err.sum(axis=1),
        n_indel=n_indel,
        n_n=(seqs == ord("N")).sum(axis=1),
        consumed=consumed,
        boundary_pos=bpos,
    )


def simulate_pairs(
    source: np.ndarray,
    frag_start: np.ndarray,
    frag_len: np.ndarray,
    frag_minus: np.ndarray,
    names: list[bytes],
    read_length: int,
    model: ErrorModel,
    seed_seq: np.random.SeedSequence,
    r1_out,
    r2_out=None,
    adapter_r1: str = TRUSEQ_R1,
    adapter_r2: str = TRUSEQ_R2,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
) -> dict[str, np.ndarray]:
    """Sequence fragments of ``source`` as read pairs and write gzip FASTQ.

    Fragment ``i`` is ``source[frag_start[i] : frag_start[i] + frag_len[i]]`` taken on the
    minus strand where ``frag_minus[i]``. R1 reads the fragment from its 5' end, R2 from
    its 3' end on the other strand (FR orientation); ``r2_out=None`` writes single-end
    reads (R1 only). Batches are seeded from ``seed_seq.spawn`` so the output does not
    depend on anything but the inputs. Returns per-read arrays keyed ``r1_*`` / ``r2_*``:
    ``n_sub``, ``n_indel``, ``n_n``, ``consumed``, ``adapter`` (read position where the
    adapter starts, -1 if none).
    """
    n = len(names)
    mu = model.quality_profile(read_length)
    width = read_length + PAD
    n_chunks = max(1, -(-n // CHUNK_PAIRS))
    seeds = seed_seq.spawn(n_chunks)
    mates = [1] if r2_out is None else [1, 2]
    res = {
        f"r{m}_{k}": np.zeros(n, dtype=np.int64)
        for m in mates
        for k in ("n_sub", "n_indel", "n_n", "consumed", "adapter")
    }
    with ExitStack() as stack:  # a failure in either mate removes both partial files
        w1 = stack.enter_context(FastqGzWriter(r1_out, compresslevel))
        w2 = None if r2_out is None else stack.enter_context(FastqGzWriter(r2_out, compresslevel))
        for c in range(n_chunks):
            sl = slice(c * CHUNK_PAIRS, min(n, (c + 1) * CHUNK_PAIRS))
            rng = np.random.default_rng(seeds[c])
            st, ln, mi = frag_start[sl], frag_len[sl], frag_minus[sl]
            chunk_names = names[sl]
            for m, w, rev, adapter in ((1, w1, mi, adapter_r1), (2, w2, ~mi, adapter_r2)):
                if m not in mates:
                    continue
                tpl = build_templates(source, st, ln, rev, adapter, width)
                batch = sequence_templates(tpl, read_length, model, mu, rng, ln)
                w.write_reads(chunk_names, batch.seqs, batch.quals)
                res[f"r{m}_n_sub"][sl] = batch.n_sub
                res[f"r{m}_n_indel"][sl] = batch.n_indel
                res[f"r{m}_n_n"][sl] = batch.n_n
                res[f"r{m}_consumed"][sl] = np.minimum(batch.consumed, ln)
                res[f"r{m}_adapter"][sl] = batch.boundary_pos
    return res
