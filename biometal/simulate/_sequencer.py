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

Realistic miscalibration (every effect off by default; when off, no random number is drawn
for it and the reads are byte-identical to a model without it). The *true* substitution
probability of a base is ``10**(-Q/10)`` of its drawn quality ``Q`` times

- ``motif_error_factor`` if the bases just before it (in sequencing order) end with one of
  ``motifs`` (Illumina's GGC effect),
- ``homopolymer_error_factor`` if it is the first base after a run of at least
  ``homopolymer_min`` identical bases,
- ``1 + (end_error_factor - 1) * p / (L - 1)`` at read position ``p`` (errors rising along
  the read faster than the qualities say), and ``bad_cycle_factor`` at ``bad_cycles``,

capped at 0.75 (a factor below 1 makes the instrument under-confident there). The
*reported* quality is ``Q + quality_offset`` (clipped to [2, 93]), then binned to the
nearest of ``quality_bins`` (ties to the higher level) when those are given, as instruments
that report 3-4 quality levels do. The truth of every base (substitution or not, the base
before the error, inserted or not, the true error probability) is kept in
:class:`ReadBatch` and, on request, written by :func:`simulate_pairs` to a sidecar file per
FASTQ (:func:`write_error_truth` / :func:`read_error_truth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from biometal.errors import ConfigError
from biometal.io.sinks import OutputFile
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
    motif_error_factor: float = 1.0
    motifs: tuple[str, ...] = ("GGC",)
    homopolymer_error_factor: float = 1.0
    homopolymer_min: int = 4
    end_error_factor: float = 1.0
    bad_cycles: tuple[int, ...] = ()
    bad_cycle_factor: float = 1.0
    quality_offset: int = 0
    quality_bins: tuple[int, ...] = ()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ErrorModel:
        """The model of a config section ``simulate.errors`` (validated: every key set)."""
        unknown = sorted(set(section) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"simulate.errors: unknown key(s) {', '.join(unknown)}")
        values = dict(section)
        for key in ("motifs", "bad_cycles", "quality_bins"):
            if key in values and isinstance(values[key], list | tuple):
                values[key] = tuple(values[key])
        return cls(**values)

    @property
    def context_effects(self) -> bool:
        """True when the true error probability differs from the drawn quality's."""
        return (
            (self.motif_error_factor != 1.0 and len(self.motifs) > 0)
            or self.homopolymer_error_factor != 1.0
            or self.end_error_factor != 1.0
            or (self.bad_cycle_factor != 1.0 and len(self.bad_cycles) > 0)
        )

    @property
    def reports_other_quality(self) -> bool:
        """True when the reported quality is not the drawn one (offset or binning)."""
        return self.quality_offset != 0 or len(self.quality_bins) > 0

    def error_factor(self, codes: np.ndarray) -> np.ndarray:
        """float32 (n, L): multiplier of the substitution probability of every base.

        ``codes``: (n, L) base codes (A0 C1 G2 T3, else 4) in sequencing order.
        """
        n, length = codes.shape
        f = np.ones((n, length), dtype=np.float32)
        if self.motif_error_factor != 1.0:
            hit = np.zeros((n, length), dtype=bool)
            for motif in self.motifs:
                k = len(motif)
                if k >= length:
                    continue
                m = np.ones((n, length - k), dtype=bool)
                for i, ch in enumerate(motif.encode()):
                    m &= codes[:, i : length - k + i] == CODE[ch]
                hit[:, k:] |= m
            f[hit] *= np.float32(self.motif_error_factor)
        if self.homopolymer_error_factor != 1.0:
            h = self.homopolymer_min
            if h < length:
                run = np.ones((n, length - h), dtype=bool)
                first = codes[:, : length - h]
                run &= first < 4
                for i in range(1, h):
                    run &= codes[:, i : length - h + i] == first
                run &= codes[:, h:] != codes[:, h - 1 : length - 1]
                f[:, h:][run] *= np.float32(self.homopolymer_error_factor)
        if self.end_error_factor != 1.0:
            x = np.arange(length) / max(length - 1, 1)
            f *= (1.0 + (self.end_error_factor - 1.0) * x).astype(np.float32)[None, :]
        if self.bad_cycle_factor != 1.0:
            cyc = [c for c in self.bad_cycles if c < length]
            f[:, cyc] *= np.float32(self.bad_cycle_factor)
        return f

    def report(self, qual: np.ndarray) -> np.ndarray:
        """Reported qualities (uint8, same shape) of drawn qualities ``qual`` (offset, bins)."""
        q = qual.astype(np.int16) + self.quality_offset
        np.clip(q, 2, 93, out=q)
        if self.quality_bins:
            levels = np.asarray(self.quality_bins, dtype=np.int16)
            mids = (levels[1:] + levels[:-1]) / 2.0
            q = levels[np.searchsorted(mids, q, side="right")]
        return q.astype(np.uint8)

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
        for key in (
            "motif_error_factor",
            "homopolymer_error_factor",
            "end_error_factor",
            "bad_cycle_factor",
        ):
            v = getattr(self, key)
            if not 0.0 <= v <= 1000.0:
                raise ConfigError(f"{key}: expected a factor in [0, 1000], got {v!r}")
        for m in self.motifs:
            if not isinstance(m, str) or not 1 <= len(m) <= 8 or set(m.upper()) - set("ACGT"):
                raise ConfigError(f"motifs: expected 1-8 letters of ACGT, got {m!r}")
        object.__setattr__(self, "motifs", tuple(m.upper() for m in self.motifs))
        object.__setattr__(self, "bad_cycles", tuple(self.bad_cycles))
        object.__setattr__(self, "quality_bins", tuple(self.quality_bins))
        if not isinstance(self.homopolymer_min, int) or not 2 <= self.homopolymer_min <= 50:
            raise ConfigError(f"homopolymer_min: expected 2..50, got {self.homopolymer_min!r}")
        if any(not isinstance(c, int) or c < 0 for c in self.bad_cycles):
            raise ConfigError(f"bad_cycles: expected 0-based cycles >= 0, got {self.bad_cycles!r}")
        if not isinstance(self.quality_offset, int) or not -40 <= self.quality_offset <= 40:
            raise ConfigError(f"quality_offset: expected -40..40, got {self.quality_offset!r}")
        b = self.quality_bins
        if (
            any(not isinstance(x, int) for x in b)
            or list(b) != sorted(set(b))
            or (b and not 2 <= b[0] <= b[-1] <= 93)
        ):
            raise ConfigError(f"quality_bins: expected increasing Phred values in 2..93, got {b!r}")

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
    sub: np.ndarray | None = None  # (n, L) bool: substitution error at this base
    true_base: np.ndarray | None = None  # (n, L) uint8 ASCII: the base before errors
    inserted: np.ndarray | None = None  # (n, L) bool: base inserted by an indel error
    p_true: np.ndarray | None = None  # (n, L) float32: true substitution probability


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
    p_true = perr[qual]
    codes = CODE[seqs]
    if model.context_effects:  # deterministic: draws no random numbers
        p_true *= model.error_factor(codes)
        np.minimum(p_true, np.float32(0.75), out=p_true)
    err = rng.random((n, L), dtype=np.float32) < p_true
    inserted = np.zeros((n, L), dtype=bool)
    if ins is not None:
        err[affected] &= ~ins
        inserted[affected] = ins
    err &= codes < 4
    true_base = seqs.copy()
    e_idx = np.nonzero(err)
    seqs[e_idx] = BASES[(codes[e_idx] + rng.integers(1, 4, size=e_idx[0].size)) % 4]
    n_total = n * L
    n_ns = int(rng.binomial(n_total, model.n_rate)) if model.n_rate > 0 else 0
    if n_ns:
        flat = rng.integers(0, n_total, size=n_ns)
        seqs.reshape(-1)[flat] = ord("N")
        qual.reshape(-1)[flat] = N_QUAL
        err.reshape(-1)[flat] = False
    if model.reports_other_quality:
        is_n = seqs == ord("N")
        qual = model.report(qual)
        qual[is_n] = N_QUAL
    qual += 33
    return ReadBatch(
        seqs=seqs,
        quals=qual,
        n_sub=err.sum(axis=1),
        n_indel=n_indel,
        n_n=(seqs == ord("N")).sum(axis=1),
        consumed=consumed,
        boundary_pos=bpos,
        sub=err,
        true_base=true_base,
        inserted=inserted,
        p_true=p_true,
    )


#: Columns of an error-truth sidecar (gzip TSV, one row per read, in FASTQ order).
TRUTH_HEADER = "read_name\tsub_pos\ttrue_bases\tins_pos\ttrue_qual\n"


def _positions(mask_row: np.ndarray) -> str:
    idx = np.flatnonzero(mask_row)
    return ",".join(map(str, idx.tolist())) if idx.size else "."


def error_truth_block(names: list[bytes], batch: ReadBatch) -> bytes:
    """Error-truth sidecar rows of ``batch`` (see :data:`TRUTH_HEADER`).

    ``sub_pos``: 0-based read positions (sequencing order) of substitution errors, ``.``
    if none; ``true_bases``: the base each of them should have been; ``ins_pos``: positions
    of bases inserted by indel errors; ``true_qual``: the true substitution probability of
    every base as a Phred+33 string (``round(-10 log10 p)``, capped at 93).
    """
    assert batch.sub is not None and batch.p_true is not None and batch.inserted is not None
    tq = np.clip(np.rint(-10.0 * np.log10(np.maximum(batch.p_true, 1e-10))), 0, 93)
    tq = (tq.astype(np.uint8) + 33).tobytes()
    length = batch.sub.shape[1]
    rows = []
    for i, name in enumerate(names):
        sub = batch.sub[i]
        bases = batch.true_base[i][sub].tobytes().decode() if sub.any() else "."
        ins = _positions(batch.inserted[i])
        tqi = tq[i * length : (i + 1) * length].decode()
        rows.append(f"{name.decode()}\t{_positions(sub)}\t{bases}\t{ins}\t{tqi}\n")
    return "".join(rows).encode()


@dataclass
class ErrorTruth:
    """The error truth of a FASTQ file (:func:`read_error_truth`), (n_reads, L) arrays.

    ``sub``/``inserted``: bool; ``true_base``: uint8 ASCII (meaningful where ``sub``);
    ``p_true``: float64 true substitution probability (from the rounded Phred in the file).
    """

    names: list[str]
    sub: np.ndarray
    true_base: np.ndarray
    inserted: np.ndarray
    p_true: np.ndarray


def read_error_truth(path: str | Path) -> ErrorTruth:
    """Parse an error-truth sidecar written by :func:`simulate_pairs` (``truth_out``)."""
    import gzip

    from biometal.errors import InputFormatError

    names: list[str] = []
    subs: list[list[int]] = []
    bases: list[str] = []
    inss: list[list[int]] = []
    tqs: list[bytes] = []
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rt") if gz else open(path) as fh:
        head = fh.readline()
        if head != TRUTH_HEADER:
            raise InputFormatError(str(path), 1, "not an error-truth file (bad header)")
        for line_no, line in enumerate(fh, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                raise InputFormatError(str(path), line_no, f"expected 5 columns, got {len(parts)}")
            names.append(parts[0])
            subs.append([] if parts[1] == "." else [int(x) for x in parts[1].split(",")])
            bases.append("" if parts[2] == "." else parts[2])
            inss.append([] if parts[3] == "." else [int(x) for x in parts[3].split(",")])
            tqs.append(parts[4].encode())
    n = len(names)
    length = max((len(t) for t in tqs), default=0)
    sub = np.zeros((n, length), dtype=bool)
    true_base = np.zeros((n, length), dtype=np.uint8)
    inserted = np.zeros((n, length), dtype=bool)
    q = np.full((n, length), 93, dtype=np.uint8)
    for i in range(n):
        if subs[i]:
            sub[i, subs[i]] = True
            true_base[i, subs[i]] = np.frombuffer(bases[i].encode(), np.uint8)
        if inss[i]:
            inserted[i, inss[i]] = True
        q[i, : len(tqs[i])] = np.frombuffer(tqs[i], np.uint8) - 33
    return ErrorTruth(names, sub, true_base, inserted, 10.0 ** (-q.astype(np.float64) / 10.0))


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
    truth_out: tuple | None = None,
) -> dict[str, np.ndarray]:
    """Sequence fragments of ``source`` as read pairs and write gzip FASTQ.

    Fragment ``i`` is ``source[frag_start[i] : frag_start[i] + frag_len[i]]`` taken on the
    minus strand where ``frag_minus[i]``. R1 reads the fragment from its 5' end, R2 from
    its 3' end on the other strand (FR orientation); ``r2_out=None`` writes single-end
    reads (R1 only). Batches are seeded from ``seed_seq.spawn`` so the output does not
    depend on anything but the inputs. Returns per-read arrays keyed ``r1_*`` / ``r2_*``:
    ``n_sub``, ``n_indel``, ``n_n``, ``consumed``, ``adapter`` (read position where the
    adapter starts, -1 if none). ``truth_out``: ``(r1_truth, r2_truth)`` paths (the second
    None for single-end) of error-truth sidecars, gzip when the name ends ``.gz``
    (:func:`error_truth_block`); writing them draws no random numbers, so the FASTQ files
    are the same with or without.
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
        t_w = {}
        if truth_out is not None:
            for m, path in zip((1, 2), truth_out, strict=False):
                if path is not None and m in mates:
                    t_w[m] = stack.enter_context(OutputFile(path, compresslevel))
                    t_w[m].write(TRUTH_HEADER.encode())
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
                if m in t_w:
                    t_w[m].write(error_truth_block(chunk_names, batch))
                res[f"r{m}_n_sub"][sl] = batch.n_sub
                res[f"r{m}_n_indel"][sl] = batch.n_indel
                res[f"r{m}_n_n"][sl] = batch.n_n
                res[f"r{m}_consumed"][sl] = np.minimum(batch.consumed, ln)
                res[f"r{m}_adapter"][sl] = batch.boundary_pos
    return res
