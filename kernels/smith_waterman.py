"""Pairwise alignment of a batch of sequence pairs on the resolved compute backend.

One call aligns pair ``p`` = (query ``p``, target ``p``) for every ``p`` of the batch.
Input layout (like the FASTQ reader's chunks): ``q_codes uint8[*]`` with A=0 C=1 G=2 T=3
N=4 and ``q_offsets int64[n+1]`` (query ``p`` is ``q_codes[q_offsets[p]:q_offsets[p+1]]``);
the same for the targets. ``matrix`` is the 5x5 substitution matrix over those codes.

Scoring conventions (parasail's, verified against parasail 1.3.4):

- a gap of length k costs ``gap_open + (k - 1) * gap_extend`` (both given as non-negative
  penalties; ``gap_open == gap_extend`` is a linear gap penalty);
- modes: ``local`` (Smith-Waterman, parasail ``sw``), ``global`` (Needleman-Wunsch, ``nw``),
  ``semiglobal`` (the whole query against any part of the target: target prefix and suffix
  are free, parasail ``sg_dx``), ``extension`` (anchored at both starts, the target suffix is
  free, as in seed extension: parasail ``sg_de``). Like parasail, a semiglobal/extension
  alignment of a non-empty query against a non-empty target ends at a target column >= 1
  (an empty query aligns to nothing: score 0, all coordinates 0);
- ``band=w`` keeps only cells with ``|i - j| <= w`` (i, j: query and target prefix
  lengths). Where the band cannot reach the end cell it is widened just enough: global uses
  ``max(w, |lq - lt|)``, semiglobal and extension ``max(w, lq - lt)``;
- ends: the end cell is the best-scoring one (local: any cell; global: the corner;
  semiglobal/extension: the last query row); ties go to the smallest target end, then the
  smallest query end (as parasail's end_ref/end_query). A local alignment of score 0 is
  empty: all coordinates 0.

Coordinates are 0-based, half-open. Without traceback the starts are only known where the
mode fixes them (global and extension: 0, 0; semiglobal: query 0) and are -1 otherwise.
With traceback, CIGAR runs use ``=`` ``X`` ``I`` (query residue against a gap) ``D`` (target
residue against a gap) and, for local alignments, ``S`` soft clips of the unaligned query
ends; free target ends of semiglobal/extension alignments are not part of the CIGAR (see
the target start/end instead). Among equally scoring paths the traceback prefers, at each
cell, a local start (H == 0), then the diagonal, then a gap in the query, then a gap in the
target, and opening a gap over extending one.

Restrictions: ``1 <= gap_open``, ``0 <= gap_extend <= gap_open`` (a cheaper extension than
opening would make two adjacent gaps score differently from one), scores and lengths small
enough for 32-bit DP values (|score| < 2**29).

Backends. ``cpu`` (numba, :mod:`.smith_waterman_cpu`): lane groups of 64 pairs advanced in
lock-step (int16, AVX-512/AVX2) for batches, an anti-diagonal wavefront per pair for small
batches, long pairs in small numbers and banded alignment (int16 or int32 per pair, from a
bound on the scores), and for many queries against one shared target (local, score only)
lane groups of queries with the target streamed once per group ("shared": bytes, 128
queries a group with AVX-512BW, 32 with AVX2, exact through re-runs of saturated stretches,
for queries of up to 256 rows; int16 otherwise, half as many a group, or forced with
"shared16"), and for long
pairs (local, score only, match/mismatch scores) each pair's query cut into segments
that share the int16 lanes, skewed by one column per segment ("segments"); a throughput
model picks the layout, and work under ``PARALLEL_MIN_CELLS`` stays on the calling thread.

One target for many queries: ``t_offsets`` of length 2 (one target) with n > 1 queries is
broadcast to every query. n equal targets are detected (lengths, then one vectorised
comparison of the codes: n * lt bytes against n * lq * lt DP cells) and treated the same.
Layouts other than "shared" (traceback, other modes, Metal) get the target once per pair.

Traceback memory: one reusable buffer per thread, as large as the largest lane group
(<= ``TRACE_GROUP_BYTES``) or pair traced.
``metal`` (:file:`smith_waterman.metal`): one GPU thread per pair, int32, the traceback
bytes in a device buffer (chunks of ``METAL_TRACE_BYTES``), the CIGAR walked on the host by
the CPU twin's routine.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from . import metal_runner
from ._checks import describe, offsets_vector, uint8_vector
from ._threads import numba_threads, pool_size
from .backend import resolve_backend

MODES = ("local", "global", "semiglobal", "extension")
STRATEGIES = ("auto", "lanes", "antidiagonal", "shared", "shared16", "segments")
#: the shared-target layouts a caller can force ("shared": bytes where they apply, else int16)
_SHARED_FORCED = ("shared", "shared16")
CIGAR_OPS = "=XIDS"

#: below this many pairs (and for banded alignment) the CPU always uses the per-pair
#: anti-diagonal kernel; from here on a throughput model (_cheaper_layout) decides.
LANES_MIN_PAIRS = 2
#: below this many DP cells a call runs on the calling thread (no thread-pool start).
PARALLEL_MIN_CELLS = 1_000_000
#: lane groups whose traceback bytes (maxq * maxt * 64) would exceed this go per pair.
TRACE_GROUP_BYTES = 64 * 2**20
#: Metal traceback: direction bytes per dispatch (pairs are split into chunks under this).
METAL_TRACE_BYTES = 256 * 2**20

_I16_LIMIT = 32000
_I32_LIMIT = 2**29
_NEG16 = -32768
_NEG32 = -(2**30)


class PairAlignments(NamedTuple):
    """Alignments of n pairs (all int64[n] unless noted; coordinates 0-based half-open).

    score            alignment score
    query_start/end  aligned query interval (start -1 when unknown: no traceback)
    target_start/end aligned target interval (start -1 when unknown)
    cigar_ops        uint8[k] run ops, indices into ``"=XIDS"`` (None without traceback)
    cigar_lens       int32[k] run lengths (None without traceback)
    cigar_offsets    int64[n+1]: pair p's runs are [cigar_offsets[p], cigar_offsets[p+1])
    """

    score: np.ndarray
    query_start: np.ndarray
    query_end: np.ndarray
    target_start: np.ndarray
    target_end: np.ndarray
    cigar_ops: np.ndarray | None = None
    cigar_lens: np.ndarray | None = None
    cigar_offsets: np.ndarray | None = None

    def cigar(self, p: int) -> str:
        """CIGAR string of pair p (traceback only)."""
        if self.cigar_offsets is None:
            raise ValueError("no CIGARs: align with traceback=True")
        a, b = int(self.cigar_offsets[p]), int(self.cigar_offsets[p + 1])
        return "".join(
            f"{int(n)}{CIGAR_OPS[int(o)]}"
            for o, n in zip(self.cigar_ops[a:b], self.cigar_lens[a:b], strict=True)
        )

    def cigar_strings(self) -> list[str]:
        """All CIGAR strings (traceback only), built in one compiled pass."""
        if self.cigar_offsets is None:
            raise ValueError("no CIGARs: align with traceback=True")
        from .smith_waterman_cpu import cigar_text

        buf, off = cigar_text(self.cigar_ops, self.cigar_lens, self.cigar_offsets)
        text = buf.tobytes().decode("ascii")
        o = off.tolist()
        return [text[o[p] : o[p + 1]] for p in range(len(o) - 1)]


# --------------------------------------------------------------------------------------
# validation


def _check_seqs(name: str, codes: Any, offsets: Any) -> tuple[np.ndarray, np.ndarray]:
    codes = uint8_vector("align", f"{name}_codes", codes)
    offsets = offsets_vector("align", f"{name}_offsets", offsets, len(codes), "n+1", "sequence")
    if len(codes) and int(codes.max()) > 4:
        raise ValueError(
            f"align: {name}_codes must be nucleotide codes 0..4 (A C G T N), "
            f"got a value {int(codes.max())}"
        )
    return codes, offsets


def _check_params(matrix: Any, gap_open: Any, gap_extend: Any, mode: str, band: Any):
    m = np.asarray(matrix)
    if m.shape != (5, 5) or m.dtype.kind not in "iu":
        raise ValueError(f"align: matrix must be a 5x5 integer array, got {describe(m)}")
    m = m.astype(np.int64)
    if np.abs(m).max() > 2**14:
        raise ValueError("align: substitution scores must lie within +-16384")
    for name, v in (("gap_open", gap_open), ("gap_extend", gap_extend)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"align: {name} must be an integer, got {v!r}")
    go, ge = int(gap_open), int(gap_extend)
    if not (1 <= go <= 2**14 and 0 <= ge <= go):
        raise ValueError(
            f"align: need 1 <= gap_open <= 16384 and 0 <= gap_extend <= gap_open, "
            f"got gap_open={go}, gap_extend={ge}"
        )
    if mode not in MODES:
        raise ValueError(f"align: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if band is not None:
        if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 0:
            raise ValueError(f"align: band must be a non-negative integer or None, got {band!r}")
        band = int(band)
    return m, go, ge, MODES.index(mode), band


def effective_bands(lq: np.ndarray, lt: np.ndarray, mode: int, band: int | None) -> np.ndarray:
    """Per-pair band actually used (int64[n]); unbanded pairs get lq + lt (the whole matrix)."""
    full = lq + lt
    if band is None:
        return full.astype(np.int64)
    w = np.minimum(np.full(len(lq), band, np.int64), full)
    if mode == 1:
        w = np.maximum(w, np.abs(lq - lt))
    elif mode in (2, 3):
        w = np.maximum(w, lq - lt)
    return w.astype(np.int64)


def _score_bound(
    maxabs: int, go: int, ge: int, lq: np.ndarray, lt: np.ndarray, mode: int
) -> np.ndarray:
    """Upper bound of |DP value| (any H, E, F) for pairs of these lengths (int64).

    Local: 0 <= H <= maxabs * min(lq, lt) and E, F >= -gap_open. Otherwise a cell is at
    least a path of substitutions plus one gap per sequence: >= -(maxabs * min(lq, lt) +
    2 * gap_open + gap_extend * (lq + lt)).
    """
    m = np.minimum(lq, lt) + 1
    if mode == 0:
        return maxabs * m + go + ge
    return maxabs * m + 3 * go + ge * (lq + lt + 1)


# --------------------------------------------------------------------------------------
# CPU


def _matrix7(m: np.ndarray, dtype: Any) -> np.ndarray:
    """5x5 -> 7x7 with the lane pad codes: row 5 (query pad) and column 6 (target pad) -1."""
    out = np.full((7, 7), -1, np.int64)
    out[:5, :5] = m
    return out.astype(dtype)


def _is_match_mismatch(m: np.ndarray) -> tuple[bool, int, int]:
    d = np.diag(m)
    off = m[~np.eye(5, dtype=bool)]
    if (d == d[0]).all() and (off == off[0]).all():
        return True, int(d[0]), int(off[0])
    return False, 0, 0


#: measured single-thread throughput (GCUPS; this repository's 2-core x86-64 reference
#: machine, 90% identity; score only / with traceback): lane groups ~5.5 / ~3.5 whatever the
#: length; the anti-diagonal wavefront rises with the length of its anti-diagonals, score
#: 1.25 / 3.1 / 4.7 / 6.0 at 150 / 500 / 1000 / 5000 bp, traceback 0.38 / 1.8 / 2.5 at
#: 150 / 1000 / 5000 bp.
_LANES_GCUPS = {False: 5.5, True: 3.5}


def _antidiag_gcups(length: np.ndarray, trace: bool) -> np.ndarray:
    if trace:
        return 2.9 * length / (length + 1000.0)
    return 6.6 * length / (length + 550.0)


def _cheaper_layout(
    lq: np.ndarray, lt: np.ndarray, gq: np.ndarray, gt: np.ndarray, threads: int, trace: bool
) -> str:
    """Which layout the throughput model says is faster, "lanes" or "antidiagonal": lane
    groups pay for their padding (every lane as long as the group's longest pair) and need
    as many groups as threads to use them all; the wavefront pays for short anti-diagonals
    (at most min(lq, lt) cells long: a 150 bp read against a 48 kb genome runs at the
    150 bp rate, not at that of a square pair of the same area).
    """
    threads = max(1, threads)
    n_groups = len(gq)
    lanes = float((gq * gt).sum()) * 64 / _LANES_GCUPS[trace] / min(threads, n_groups)
    anti = _antidiag_seconds(lq, lt, threads, trace)
    return "lanes" if lanes <= anti else "antidiagonal"


def _antidiag_seconds(lq: np.ndarray, lt: np.ndarray, threads: int, trace: bool) -> float:
    """Modelled time (ns) of the anti-diagonal layout for these pairs."""
    cells = (lq * lt).astype(np.float64)
    rate = _antidiag_gcups(np.minimum(lq, lt) + 1.0, trace)
    return float((cells / rate).sum()) / min(max(1, threads), len(lq))


#: measured single-thread throughput (GCUPS, same machine and data as above) of the
#: shared-target layout on full lane groups (64 queries; lane cells, padding included),
#: 150 bp - 6 kb queries against 5 - 48.5 kb targets: 10.5-14 with AVX-512 (explicit
#: 64 x int16 vectors, 2 zmm registers; was ~7.3 with LLVM's own 256-bit vectorisation).
#: With AVX2 (16 lanes, one ymm) the layout ran at 8.4-9.0 on 1-2.5 kb queries against
#: lambda (AMD EPYC Zen 3, ``bench/align_long_target.py``); the model keeps one figure.
_SHARED_GCUPS = 11.0
#: below this target length the shared-target layout is not considered (the general lane
#: groups do as well when the target is as short as the queries)
SHARED_MIN_TARGET = 256


def _shared_seconds(gq: np.ndarray, lt: int, threads: int) -> float:
    """Modelled time (ns) of the shared-target layout: lane groups of SHARED_LANES queries
    padded to the group's longest query, the target streamed once per group."""
    from .smith_waterman_cpu import SHARED_LANES

    lanes_cells = float(gq.sum()) * lt * SHARED_LANES
    return lanes_cells / _SHARED_GCUPS / min(max(1, threads), len(gq))


def _shared_target(tc: np.ndarray, to: np.ndarray) -> np.ndarray | None:
    """The codes of the one target every pair has (None when the targets differ).

    Cheap: the lengths first, then one vectorised comparison of the concatenated codes
    (n * lt bytes, against the n * lq * lt cells of the DP)."""
    n = len(to) - 1
    if n == 0:
        return None
    lt = int(to[1] - to[0])
    if not (np.diff(to) == lt).all():
        return None
    first = tc[to[0] : to[0] + lt]
    if n == 1 or lt == 0:
        return first
    block = tc[to[0] : to[0] + n * lt].reshape(n, lt)
    return first if bool((block == first).all()) else None


_PREP: dict[bytes, tuple] = {}


def _matrix_prep(m: np.ndarray) -> tuple:
    """Per substitution matrix (cached): match/mismatch form, max |score|, 7x7 matrices."""
    key = m.tobytes()
    prep = _PREP.get(key)
    if prep is None:
        mm, match, mismatch = _is_match_mismatch(m)
        prep = (mm, match, mismatch, int(np.abs(m).max()), _matrix7(m, np.int16),
                _matrix7(m, np.int32))  # fmt: skip
        if len(_PREP) > 64:
            _PREP.clear()
        _PREP[key] = prep
    return prep


def _trace_scratch(parallel: bool, nbytes: int) -> np.ndarray:
    """Per-thread traceback scratch: a row per numba thread id (one row when serial)."""
    rows = pool_size() if parallel else 1
    return np.empty((rows, max(nbytes, 64)), np.uint8)


def _align_cpu(
    qc, qo, tc, to, lq, lt, m, go, ge, mode, bands, banded, traceback, strategy, out,
    shared_t=None, broadcast=False,
) -> None:  # fmt: skip
    from . import smith_waterman_cpu as k

    n = len(lq)
    mm, match, mismatch, maxabs, m16, m32 = _matrix_prep(m)
    bound = _score_bound(maxabs, go, ge, lq, lt, mode)
    if int(bound.max()) >= _I32_LIMIT:
        raise ValueError("align: sequences too long / scores too large for 32-bit DP values")
    # lanes pad rows need a negative mismatch for local alignment (see smith_waterman_cpu)
    use_matrix = bool(not mm or (mode == 0 and mismatch >= 0))
    local = mode == 0
    trace = bool(traceback)
    seqs = (qc, qo, tc, to)
    # below ~1M cells the ~35 us start of numba's thread pool costs more than it saves
    threads = _numba_threads()
    parallel = threads > 1 and int((lq * lt).sum()) > PARALLEL_MIN_CELLS

    def params(dtype):
        if dtype == np.int16:
            return (m16, np.int16(match), np.int16(mismatch), go, ge, mode, np.int16(_NEG16))
        return (m32, np.int32(match), np.int32(mismatch), go, ge, mode, np.int32(_NEG32))

    # the segments layout (few long pairs): local, score only, match/mismatch scores
    seg_ok = local and not trace and not banded and not use_matrix
    seg_forced = strategy == "segments"
    if seg_forced:
        strategy = "antidiagonal"  # for the pairs the segments layout cannot take
    per_pair = None  # pairs left to the anti-diagonal layout (None: all)
    if shared_t is not None and strategy in ("auto", *_SHARED_FORCED):
        per_pair = _align_shared(qc, qo, shared_t, lq, lt, bound, m16, go, ge, threads,
                                 parallel, trace, strategy, out, seg_ok)  # fmt: skip
        if per_pair is not None or strategy in _SHARED_FORCED:
            strategy = "antidiagonal"
        if per_pair is not None and not per_pair.any():
            return
    if broadcast:  # the other layouts take one target per pair
        tc = np.tile(tc[: int(lt[0])], n)
        seqs = (qc, qo, tc, to)
    if strategy == "auto" and (banded or n < LANES_MIN_PAIRS):
        strategy = "antidiagonal"
    if strategy != "antidiagonal":
        if banded:
            raise ValueError("align: the lanes layout does not do banded alignment")
        order = np.lexsort((lt, lq)).astype(np.int64)
        n_groups = (n + k.LANES - 1) // k.LANES
        gstart = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * k.LANES, n)
        gq = np.maximum.reduceat(lq[order], gstart[:-1])
        gt = np.maximum.reduceat(lt[order], gstart[:-1])
        if strategy == "auto":
            strategy = _cheaper_layout(lq, lt, gq, gt, threads, trace)
            if strategy == "lanes" and seg_ok:
                elig = _segments_eligible(lq, lt, bound, SEG_MIN_LEN)
                lanes_ns = float((gq * gt).sum()) * k.LANES / _LANES_GCUPS[False]
                if elig.all() and _segments_seconds(lq, lt, threads) < lanes_ns / min(
                    max(1, threads), n_groups
                ):
                    strategy = "antidiagonal"  # the segments step below takes them all
    if strategy == "lanes":
        gbound = np.maximum.reduceat(bound[order], gstart[:-1])
        # lane groups run in int16 only; a group whose scores could leave the int16 range
        # (long non-local alignments, large scores), or whose traceback bytes would exceed
        # TRACE_GROUP_BYTES, goes pair by pair
        ok = (gbound < _I16_LIMIT) & (gq < _I16_LIMIT)
        if trace:
            ok &= gq * gt * k.LANES <= TRACE_GROUP_BYTES
        per_pair = np.zeros(n, bool)
        for g in np.flatnonzero(~ok):
            per_pair[order[gstart[g] : gstart[g + 1]]] = True
        groups = np.flatnonzero(ok).astype(np.int64)
        if len(groups):
            par = parallel and len(groups) > 1
            need = int((gq[groups] * gt[groups]).max()) * k.LANES if trace else 0
            run = k.lanes_driver if par else k.lanes_driver_serial
            run(seqs, order, gstart, groups, params(np.int16), use_matrix, local, trace,
                (*out, _trace_scratch(par, need)))  # fmt: skip
    if per_pair is not None and not per_pair.any():
        return
    if seg_ok and (seg_forced or strategy == "antidiagonal"):
        # long pairs left to the wavefront: the segments layout where the model says so
        rem = np.ones(n, bool) if per_pair is None else per_pair
        cand = rem & _segments_eligible(lq, lt, bound, 1 if seg_forced else SEG_MIN_LEN)
        if cand.any():
            pairs = np.flatnonzero(cand).astype(np.int64)
            lqc, ltc = lq[pairs], lt[pairs]
            if seg_forced or _segments_seconds(lqc, ltc, threads) < _antidiag_seconds(
                lqc, ltc, threads, False
            ):
                _align_segments(qc, qo, tc, to, lq, lt, pairs, match, mismatch, go, ge,
                                threads, parallel, out)  # fmt: skip
                per_pair = rem & ~cand
                if not per_pair.any():
                    return
    small = (bound < _I16_LIMIT) & (np.maximum(lq, lt) < _I16_LIMIT)
    for dtype, sel in ((np.int16, small), (np.int32, ~small)):
        if per_pair is not None:
            sel = sel & per_pair
        if per_pair is None and sel.all():
            pairs = np.arange(n, dtype=np.int64)
        else:
            pairs = np.flatnonzero(sel).astype(np.int64)
        if len(pairs):
            par = parallel and len(pairs) > 1
            need = (
                int(k.diag_layout_sizes(lq[pairs], lt[pairs], bands[pairs]).max()) if trace else 0
            )
            run = k.antidiag_driver if par else k.antidiag_driver_serial
            run(seqs, pairs, bands, params(dtype), use_matrix, local, trace,
                (*out, _trace_scratch(par, need)))  # fmt: skip


#: single-thread throughput (lane cells/ns, lanes of 128, padding included) of the 8-bit
#: shared-target DP, a model figure: ``_shared8_group`` timed alone on 128 random 150 bp
#: queries against 5 and 48.5 kb random targets ran at ~33 (AMD EPYC, AVX-512; a one-off
#: timing, not a committed benchmark); the whole layout, re-runs included, is what
#: ``bench/align_long_target.py`` measures (24 GCUPS of real cells against lambda)
_SHARED8_GCUPS = 28.0
#: throughput (cells/ns) of its exact re-runs of saturated stretches (one lane, int32,
#: scalar), a model figure taken low: one re-run of a 150 bp query over a 48.5 kb target
#: timed ~2.7 ns a cell (~0.37 cells/ns) in the same one-off timing, and the span modelled
#: below is about twice what re-runs were counted to cover
_SHARED8_RERUN_GCUPS = 0.75


def _shared8_bias(m16: np.ndarray, go: int, ge: int, lq: np.ndarray) -> int | None:
    """The bias of the 8-bit shared layout for this matrix (None: the layout does not
    apply: a query longer than SHARED_QBLOCK rows, scores or gaps beyond a byte, or a
    bias leaving fewer than half of the byte's range to the scores)."""
    from . import smith_waterman_cpu as k

    if len(lq) == 0 or int(lq.max()) > k.SHARED_QBLOCK:
        return None
    scores = m16[: k.QPAD + 1, :5]  # query codes and the pad row, against target codes
    bias = max(0, -int(scores.min()))
    if bias > 127 or int(scores.max()) + bias > 255 or not (0 <= go <= 255 and 0 <= ge <= 255):
        return None
    return bias


def _other_seconds(lq, lt, bound, threads, seg_ok) -> float:
    """Modelled time of the best layout other than the shared-target ones for these pairs
    (lane groups, anti-diagonal wavefront, segments where eligible)."""
    lo = np.lexsort((lt, lq))
    lqs, lts = lq[lo], lt[lo]
    gs = np.minimum(np.arange((len(lqs) + 63) // 64 + 1, dtype=np.int64) * 64, len(lqs))
    lanes = float((np.maximum.reduceat(lqs, gs[:-1]) * np.maximum.reduceat(lts, gs[:-1]))
                  .sum()) * 64 / _LANES_GCUPS[False] / min(threads, len(gs) - 1)  # fmt: skip
    other = min(lanes, _antidiag_seconds(lqs, lts, threads, False))
    if seg_ok and _segments_eligible(lqs, lts, bound[lo], SEG_MIN_LEN).all():
        other = min(other, _segments_seconds(lqs, lts, threads))
    return other


def _align_shared(
    qc, qo, t, lq, lt, bound, m16, go, ge, threads, parallel, trace, strategy, out, seg_ok
) -> np.ndarray | None:
    """Many queries against one shared target (local, score only): lane groups of queries,
    the target streamed once per group (:func:`.smith_waterman_cpu.shared_driver`).

    With ``strategy == "auto"`` the layout is used only where the throughput model says it
    beats both others. Returns the mask of pairs still to align per pair (groups whose
    scores could leave int16), or None when the layout was not used.
    """
    from . import smith_waterman_cpu as k

    n = len(lq)
    ltv = len(t)
    order = np.argsort(lq, kind="stable").astype(np.int64)
    bias = None if strategy == "shared16" else _shared8_bias(m16, go, ge, lq)
    if bias is not None:
        # bytes, SHARED8_LANES queries a group (exact at any score: saturated stretches
        # re-run); a last group of at most SHARED_LANES queries (the longest) goes in int16
        # instead: half the lanes of a byte group cost more than a full int16 group
        L8, L16 = k.SHARED8_LANES, k.SHARED_LANES
        rest = n % L8 if 0 < n % L8 <= L16 else 0
        n8 = n - rest
        n_groups = (n8 + L8 - 1) // L8
        gstart = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * L8, n8)
        gq = np.maximum.reduceat(lq[order], gstart[:-1]) if n_groups else np.zeros(0, np.int64)
        tail = order[n8:]
        tail_ok = (
            rest > 0 and int(bound[tail].max()) < _I16_LIMIT and int(lq[tail].max()) < _I16_LIMIT
        )
        if strategy == "auto":
            if trace or ltv < SHARED_MIN_TARGET or n < LANES_MIN_PAIRS:
                return None
            mine = float(gq.sum()) * ltv * L8 / _SHARED8_GCUPS
            # every query saturating once (the worst case): a re-run of about half its
            # length plus two intervals of columns, one lane at a time
            span = np.minimum(ltv, lq[order[:n8]] // 2 + 2 * k.SHARED8_K)
            mine += float((lq[order[:n8]] * span).sum()) / _SHARED8_RERUN_GCUPS
            if tail_ok:
                mine += float(lq[tail].max()) * ltv * L16 / _SHARED_GCUPS
            mine /= min(max(1, threads), n_groups + (rest > 0))
            g16 = np.minimum(np.arange((n + L16 - 1) // L16 + 1, dtype=np.int64) * L16, n)
            int16 = _shared_seconds(np.maximum.reduceat(lq[order], g16[:-1]), ltv, threads)
            if mine > min(int16, _other_seconds(lq, lt, bound, threads, seg_ok)):
                bias = None  # the int16 layout below decides against the others
    if bias is not None:
        score, _, qe, _, te = out[:5]
        if n_groups:
            groups = np.arange(n_groups, dtype=np.int64)
            run = k.shared8_driver if parallel and n_groups > 1 else k.shared8_driver_serial
            run(qc, qo, t, order, gstart, groups, m16, go, ge, bias, k.SHARED8_K,
                k.SHARED8_D, score, qe, te)  # fmt: skip
        per_pair = np.zeros(n, bool)
        if tail_ok:
            k.shared_driver_serial(qc, qo, t, tail, np.array([0, rest], np.int64),
                                   np.zeros(1, np.int64), m16, go, ge, score, qe, te)  # fmt: skip
        elif rest:
            per_pair[tail] = True
        return per_pair
    n_groups = (n + k.SHARED_LANES - 1) // k.SHARED_LANES
    gstart = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * k.SHARED_LANES, n)
    gq = np.maximum.reduceat(lq[order], gstart[:-1])
    gbound = np.maximum.reduceat(bound[order], gstart[:-1])
    ok = (gbound < _I16_LIMIT) & (gq < _I16_LIMIT)
    if not ok.any():
        return None
    if strategy == "auto":
        if trace or ltv < SHARED_MIN_TARGET or n < LANES_MIN_PAIRS:
            return None
        sel = np.zeros(n, bool)
        for g in np.flatnonzero(ok):
            sel[order[gstart[g] : gstart[g + 1]]] = True
        if _shared_seconds(gq[ok], ltv, threads) > _other_seconds(
            lq[sel], lt[sel], bound[sel], threads, seg_ok
        ):
            return None
    groups = np.flatnonzero(ok).astype(np.int64)
    score, _, qe, _, te = out[:5]
    run = k.shared_driver if parallel and len(groups) > 1 else k.shared_driver_serial
    run(qc, qo, t, order, gstart, groups, m16, go, ge, score, qe, te)
    per_pair = np.zeros(n, bool)
    for g in np.flatnonzero(~ok):
        per_pair[order[gstart[g] : gstart[g + 1]]] = True
    return per_pair


#: measured single-thread throughput (lane cells/ns, same machine, AVX-512) of the segments
#: layout (few long pairs: query segments in the 64 lanes, see smith_waterman_cpu): ~9
_SEG_GCUPS = 9.0
#: pairs shorter than this (query or target) are not considered for the segments layout
SEG_MIN_LEN = 512


def _segment_plan(lq: np.ndarray, lt: np.ndarray) -> tuple:
    """Groups of the segments layout for these pairs: ``g`` pairs per group (g in 1, 2, 4,
    .. 64), each cut into ``S = 64 // g`` segments of R rows (R: the group's longest query
    / S), pairs sorted by query length; g is the one with the fewest lane cells
    (R * 64 * (longest target + S - 1) per group). Returns (order, gstart, S, R, cells)."""
    from .smith_waterman_cpu import SHARED_LANES as L

    order = np.argsort(lq, kind="stable").astype(np.int64)
    best = None
    g = 1
    while g <= L:
        S = L // g
        n_groups = (len(lq) + g - 1) // g
        gstart = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * g, len(lq))
        gq = np.maximum.reduceat(lq[order], gstart[:-1])
        gt = np.maximum.reduceat(lt[order], gstart[:-1])
        R = np.maximum(1, (gq + S - 1) // S)
        cells = float((R * L * (gt + S - 1)).sum())
        if best is None or cells < best[-1]:
            best = (order, gstart, np.full(n_groups, S, np.int64), R.astype(np.int64), cells)
        g *= 2
    return best


def _segments_eligible(lq, lt, bound, min_len: int) -> np.ndarray:
    """Pairs the segments layout can take (int16 scores and lengths, long enough)."""
    return (
        (bound < _I16_LIMIT)
        & (np.maximum(lq, lt) < _I16_LIMIT)
        & (np.minimum(lq, lt) >= max(1, min_len))
    )


def _segments_seconds(lq: np.ndarray, lt: np.ndarray, threads: int) -> float:
    """Modelled time (ns) of the segments layout for these pairs."""
    order, gstart, S, R, cells = _segment_plan(lq, lt)
    return cells / _SEG_GCUPS / min(max(1, threads), len(S))


def _align_segments(qc, qo, tc, to, lq, lt, pairs, match, mismatch, go, ge, threads,
                    parallel, out) -> None:  # fmt: skip
    """Local alignment (score and end cell) of the listed pairs in the segments layout."""
    from . import smith_waterman_cpu as k

    order, gstart, S, R, _ = _segment_plan(lq[pairs], lt[pairs])
    order = pairs[order].astype(np.int64)
    groups = np.arange(len(S), dtype=np.int64)
    score, _, qe, _, te = out[:5]
    run = k.seg_driver if parallel and len(groups) > 1 else k.seg_driver_serial
    run(qc, qo, tc, to, order, gstart, S, R, groups, int(match), int(mismatch), go, ge,
        score, qe, te)  # fmt: skip


# --------------------------------------------------------------------------------------
# Metal


def _metal_common(qc, qo, tc, to, m, go, ge, mode, bands):
    n = len(qo) - 1
    lq = np.diff(qo)
    scratch_off = np.zeros(n + 1, np.uint64)
    scratch_off[1:] = np.cumsum(2 * (lq + 1), dtype=np.uint64)
    params = np.array([mode, go, ge, n], np.int32)
    return [
        qc,
        qo.view(np.uint64),
        tc,
        to.view(np.uint64),
        np.ascontiguousarray(m, dtype=np.int32).ravel(),
        params,
        bands.astype(np.int64),
        scratch_off,
    ], int(scratch_off[-1])


def metal_trace_layout(lq: np.ndarray, lt: np.ndarray, bands: np.ndarray):
    """Per pair: bytes of its direction matrix, the base added to its offset, and the column
    stride, for the Metal traceback kernel (full lq x lt matrix, or only the band when that
    is smaller: byte of (i, j) at base + (i-1) + (j-1)*stride)."""
    band_rows = 2 * bands + 1
    use_band = band_rows < lq
    size = np.where(use_band, band_rows * lt, lq * lt).astype(np.int64)
    base = np.where(use_band, bands, 0).astype(np.int64)
    stride = np.where(use_band, 2 * bands, lq).astype(np.int64)
    return size, base, stride


def _align_metal(qc, qo, tc, to, m, go, ge, mode, bands, traceback, out) -> None:
    score, qs, qe, ts, te, ops, lens, cap_off, nops = out
    n = len(qo) - 1
    lq = np.diff(qo)
    lt = np.diff(to)
    if (_score_bound(int(np.abs(m).max()), go, ge, lq, lt, mode) >= _I32_LIMIT).any():
        raise ValueError("align: sequences too long / scores too large for 32-bit DP values")
    if not traceback:
        args, n_scratch = _metal_common(qc, qo, tc, to, m, go, ge, mode, bands)
        _, sc, eq, et = metal_runner.run(
            "smith_waterman",
            "sw_score",
            n,
            [
                *args,
                metal_runner.Output(np.int32, (n_scratch,)),
                metal_runner.Output(np.int32, (n,)),
                metal_runner.Output(np.int32, (n,)),
                metal_runner.Output(np.int32, (n,)),
            ],
        )
        score[:], qe[:], te[:] = sc, eq, et
        return
    from .smith_waterman_cpu import trace_walk_driver

    size, base, stride = metal_trace_layout(lq, lt, bands)
    # chunks of consecutive pairs under the byte budget (one oversized pair is a chunk)
    start = 0
    while start < n:
        stop = start + 1
        total = int(size[start])
        while stop < n and total + int(size[stop]) <= METAL_TRACE_BYTES:
            total += int(size[stop])
            stop += 1
        sub = slice(start, stop)
        sqo = qo[start : stop + 1] - qo[start]
        sto = to[start : stop + 1] - to[start]
        sqc = qc[qo[start] : qo[stop]]
        stc = tc[to[start] : to[stop]]
        args, n_scratch = _metal_common(sqc, sqo, stc, sto, m, go, ge, mode, bands[sub])
        tb_off = np.zeros(stop - start + 1, np.uint64)
        tb_off[1:] = np.cumsum(size[sub], dtype=np.uint64)
        _, sc, eq, et, tb = metal_runner.run(
            "smith_waterman",
            "sw_trace",
            stop - start,
            [
                *args,
                metal_runner.Output(np.int32, (n_scratch,)),
                metal_runner.Output(np.int32, (stop - start,)),
                metal_runner.Output(np.int32, (stop - start,)),
                metal_runner.Output(np.int32, (stop - start,)),
                tb_off,
                base[sub].copy(),
                stride[sub].copy(),
                metal_runner.Output(np.uint8, (max(1, total),)),
            ],
        )
        score[sub], qe[sub], te[sub] = sc, eq, et
        pairs = np.arange(stop - start, dtype=np.int64)
        sub_ops = ops[cap_off[start] : cap_off[stop]]
        sub_lens = lens[cap_off[start] : cap_off[stop]]
        sub_cap = cap_off[start : stop + 1] - cap_off[start]
        sub_nops = np.zeros(stop - start, np.int64)
        sub_qs = np.zeros(stop - start, np.int64)
        sub_ts = np.zeros(stop - start, np.int64)
        trace_walk_driver(
            tb, tb_off.astype(np.int64), np.ones(stop - start, np.int64), stride[sub].copy(),
            base[sub].copy(), sqc, sqo, stc, sto, pairs, score[sub].copy(), qe[sub].copy(),
            te[sub].copy(), mode, sub_ops, sub_lens, sub_cap, sub_nops, sub_qs, sub_ts,
        )  # fmt: skip
        nops[sub], qs[sub], ts[sub] = sub_nops, sub_qs, sub_ts
        start = stop


# --------------------------------------------------------------------------------------
# public


def align_pairs(
    q_codes: np.ndarray,
    q_offsets: np.ndarray,
    t_codes: np.ndarray,
    t_offsets: np.ndarray,
    matrix: np.ndarray,
    gap_open: int,
    gap_extend: int,
    mode: str = "local",
    band: int | None = None,
    traceback: bool = False,
    backend: str | None = None,
    strategy: str = "auto",
    threads: int | None = None,
) -> PairAlignments:
    """Align query p against target p for every pair p of the batch (see the module doc).

    ``matrix``: int[5, 5] substitution scores over the codes A C G T N. ``gap_open``,
    ``gap_extend``: positive penalties (a gap of length k costs open + (k-1)*extend).
    ``mode``: local | global | semiglobal | extension. ``band``: None or w >= 0.
    ``traceback``: also compute CIGARs and start coordinates. ``backend``: auto | metal |
    cpu (None: ``$BIOMETAL_BACKEND`` / auto). ``strategy`` (CPU only): auto | lanes |
    antidiagonal | shared | segments, to force one DP layout (results are identical; shared
    and segments take what they can and leave the rest to antidiagonal, see the module
    doc). ``threads``: CPU threads
    for this call (None: numba's current count; <= 0: all cores).
    """
    qc, qo = _check_seqs("q", q_codes, q_offsets)
    tc, to = _check_seqs("t", t_codes, t_offsets)
    broadcast = len(to) == 2 and len(qo) != 2
    if broadcast:  # one target for every query
        lt1 = int(to[1] - to[0])
        tc = tc[to[0] : to[1]]
        to = np.arange(len(qo), dtype=np.int64) * lt1
    if len(qo) != len(to):
        raise ValueError(
            f"align: {len(qo) - 1} queries but {len(to) - 1} targets (they are aligned in pairs)"
        )
    m, go, ge, mode_i, band = _check_params(matrix, gap_open, gap_extend, mode, band)
    if strategy not in STRATEGIES:
        raise ValueError(f"align: strategy must be one of {', '.join(STRATEGIES)}")
    n = len(qo) - 1
    lq = np.diff(qo)
    lt = np.diff(to)
    bands = effective_bands(lq, lt, mode_i, band)
    # a band as wide as both sequences changes nothing: such pairs take the unbanded path
    banded = bool(band is not None and n and (bands < np.maximum(lq, lt)).any())
    if not banded:
        bands = (lq + lt).astype(np.int64)
    cap_off = np.zeros(n + 1, np.int64)
    if traceback:
        cap_off[1:] = np.cumsum(lq + lt + 2)
    out = (
        np.zeros(n, np.int64),  # score
        np.full(n, -1, np.int64),  # qs
        np.zeros(n, np.int64),  # qe
        np.full(n, -1, np.int64),  # ts
        np.zeros(n, np.int64),  # te
        np.empty(int(cap_off[-1]), np.uint8),  # ops
        np.empty(int(cap_off[-1]), np.int32),  # lens
        cap_off,
        np.zeros(n, np.int64),  # nops
    )
    shared_t = None
    if n and (strategy in _SHARED_FORCED or (
        strategy == "auto" and mode_i == 0 and not traceback and not banded
        and n >= LANES_MIN_PAIRS and (broadcast or int(lt[0]) >= SHARED_MIN_TARGET)
    )):  # fmt: skip
        shared_t = tc[:lt1] if broadcast else _shared_target(tc, to)
    if strategy in _SHARED_FORCED and (shared_t is None or mode_i != 0 or traceback or banded):
        raise ValueError(
            "align: the shared layout needs one target for every query, local mode, "
            "no traceback and no band"
        )
    if strategy == "segments":
        mm, _, mismatch, *_ = _matrix_prep(m)
        if mode_i != 0 or traceback or banded or not mm or mismatch >= 0:
            raise ValueError(
                "align: the segments layout needs local mode, no traceback, no band and "
                "match/mismatch scores with a negative mismatch"
            )
    if n:
        if resolve_backend(backend) == "metal":
            if broadcast:  # the Metal kernel takes one target per pair
                tc = np.tile(tc[:lt1], n)
            _align_metal(qc, qo, tc, to, m, go, ge, mode_i, bands, traceback, out)
        else:
            with numba_threads(threads):
                _align_cpu(
                    qc, qo, tc, to, lq, lt, m, go, ge, mode_i, bands, banded, traceback,
                    strategy, out, shared_t, broadcast,
                )  # fmt: skip
    score, qs, qe, ts, te, ops, lens, cap_off, nops = out
    if not traceback:
        if mode_i in (1, 3):
            qs[:] = 0
            ts[:] = 0
        elif mode_i == 2:
            qs[:] = 0
        elif mode_i == 0:
            zero = score <= 0
            qs[zero] = 0
            ts[zero] = 0
        return PairAlignments(score, qs, qe, ts, te)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(nops, out=offsets[1:])
    idx = np.repeat(cap_off[:-1] - offsets[:-1], nops) + np.arange(int(offsets[-1]))
    return PairAlignments(score, qs, qe, ts, te, ops[idx], lens[idx], offsets)


def _numba_threads() -> int:
    from numba import get_num_threads

    return int(get_num_threads())


def default_threads() -> int:
    """Threads the CPU kernels use by default (numba's, normally every core)."""
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # pragma: no cover
        return os.cpu_count() or 1
