"""Labelled seed windows: SMEM seeds of read pairs, their context, extension outcome, label.

For the first ``n_pairs`` read pairs: SMEMs (:func:`biometal.align.smem.find_smems`,
length >= ``min_seed_len``) of both mates, every occurrence of seeds with at most
``max_occ`` occurrences (occurrences over a contig end dropped). Per occurrence:

- windows (uint8 codes, N = 4 = padding): the read (on the reference's strand) and the
  reference, each ``flank`` bp before the seed, the seed (first and last ``max_seed // 2``
  bp when longer than ``max_seed``), ``flank`` bp after, padded to ``width`` (32 + 64 +
  32 = 128 by default);
- the extension (:func:`biometal.align.align_batch`, mode ``extension``, banded): the read
  left of the seed against the reference left of the occurrence (both reversed) and the
  read right of the seed against the reference right of it; score = left + seed length *
  match + right (``score``);
- ``on_locus``: the occurrence is where the read truly comes from (same contig and strand,
  implied read start within ``locus_tolerance`` bp of the truth). Without a truth table
  (real data) the true locus is the read's best-scoring occurrence when it is unique;
- label VIABLE (1) when ``on_locus`` and ``score >= min_score``, else NON-VIABLE (0);
- features kept for cheaper models: seed length, occurrence count, query start and end,
  read length, strand, mismatches in each flank, SMEMs of the read, longest SMEM of the read.

The output ``.npz`` also holds the reads (codes, offsets) so the extension stage can be
re-run and timed later (:mod:`biometal.ml.seedfilter.cost`).
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biometal.align import SequenceBatch, align_batch
from biometal.align.scoring import Scoring
from biometal.align.smem import FMIndex, find_smems, locate
from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.io.fastx import read_fastq_chunks
from biometal.io.mates import mate_id, mismatch_error
from biometal.ml.seedfilter import _kernels as _k

log = logging.getLogger(__name__)

#: feature columns of the cheap models, in order
FEATURES = (
    "seed_len",
    "occ",
    "qstart",
    "qend_gap",
    "read_len",
    "reverse",
    "flank_mm_left",
    "flank_mm_right",
    "n_seeds_read",
    "max_seed_len_read",
)


@dataclass(frozen=True)
class WindowParams:
    """How seeds become windows and labels (config ``seedfilter.seeds`` / ``labels``)."""

    min_seed_len: int = 19
    max_occ: int = 20
    flank: int = 32
    max_seed: int = 64
    width: int = 128
    band: int = 16
    min_score: int = 100
    locus_tolerance: int = 10
    scoring: Scoring = Scoring(match=1, mismatch=-4, gap_open=7, gap_extend=1)

    @classmethod
    def from_config(
        cls, min_seed_len: int, max_occ: int, window: dict, labels: dict
    ) -> WindowParams:
        """From the validated config keys seedfilter.min_seed_len, max_occ, window and labels
        (every key present: :func:`biometal.config.validate_config` fills the defaults)."""
        sc = labels["scoring"]
        return cls(
            min_seed_len=int(min_seed_len),
            max_occ=int(max_occ),
            flank=int(window["flank"]),
            max_seed=int(window["max_seed"]),
            width=int(window["width"]),
            band=int(labels["band"]),
            min_score=int(labels["min_score"]),
            locus_tolerance=int(labels["locus_tolerance"]),
            scoring=Scoring(
                match=int(sc["match"]),
                mismatch=int(sc["mismatch"]),
                gap_open=int(sc["gap_open"]),
                gap_extend=int(sc["gap_extend"]),
            ),
        )

    def __post_init__(self) -> None:
        if 2 * self.flank + self.max_seed > self.width:
            raise BiometalError(
                f"seedfilter window: 2 * flank ({self.flank}) + max_seed ({self.max_seed}) "
                f"exceeds the width ({self.width})"
            )


def read_pairs(r1: str, r2: str, n_pairs: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first ``n_pairs`` pairs as one batch: reads ``2p`` (R1) and ``2p + 1`` (R2).

    Returns (codes uint8, offsets int64[2n + 1], pair names). Mates must have equal names
    (a trailing ``/1`` ``/2`` is ignored)."""
    chunks = []
    for path in (r1, r2):
        it = read_fastq_chunks(path, n_pairs, with_names=True)
        chunks.append(next(it, None))
        if hasattr(it, "close"):
            it.close()
    if chunks[0] is None or chunks[1] is None:
        raise InputFormatError(r1 if chunks[0] is None else r2, None, "no reads")
    c1, c2 = chunks
    if len(c1) != len(c2):
        raise InputFormatError(r2, None, f"{len(c2)} reads where {r1} has {len(c1)}")
    names = []
    for k, (a, b) in enumerate(zip(c1.names, c2.names, strict=True)):
        a0, b0 = mate_id(a), mate_id(b)
        if a0 != b0:
            raise mismatch_error(r1, r2, k + 1, a0, b0)
        names.append(a0)
    n = len(c1)
    l1, l2 = np.diff(c1.offsets), np.diff(c2.offsets)
    lengths = np.empty(2 * n, np.int64)
    lengths[0::2], lengths[1::2] = l1, l2
    offsets = np.zeros(2 * n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.empty(offsets[-1], np.uint8)
    for p in range(n):
        codes[offsets[2 * p] : offsets[2 * p + 1]] = c1.codes[c1.offsets[p] : c1.offsets[p + 1]]
        codes[offsets[2 * p + 1] : offsets[2 * p + 2]] = c2.codes[c2.offsets[p] : c2.offsets[p + 1]]
    return codes, offsets, names


@dataclass
class ExtensionInputs:
    """Windows and extension sequences of a set of occurrences (see :func:`prepare`)."""

    qwin: np.ndarray
    rwin: np.ndarray
    flank_mm: np.ndarray
    left_q: SequenceBatch
    left_t: SequenceBatch
    right_q: SequenceBatch
    right_t: SequenceBatch


def _offsets(lengths: np.ndarray) -> np.ndarray:
    off = np.zeros(lengths.shape[0] + 1, np.int64)
    np.cumsum(lengths, out=off[1:])
    return off


def prepare(
    index: FMIndex,
    read_codes: np.ndarray,
    read_offsets: np.ndarray,
    occ: pd.DataFrame | dict,
    params: WindowParams,
) -> ExtensionInputs:
    """Windows and extension inputs of occurrences (columns read, qstart, qend, contig,
    pos, reverse: read index, seed interval in read orientation, contig index, forward
    start, strand)."""
    rd = np.asarray(occ["read"], np.int64)
    qs = np.asarray(occ["qstart"], np.int64)
    qe = np.asarray(occ["qend"], np.int64)
    contig = np.asarray(occ["contig"], np.int64)
    pos = np.asarray(occ["pos"], np.int64)
    rev = np.asarray(occ["reverse"], np.bool_)
    rlen = read_offsets[rd + 1] - read_offsets[rd]
    qs_f = np.where(rev, rlen - qe, qs)
    qe_f = np.where(rev, rlen - qs, qe)
    clen = index.offsets[contig + 1] - index.offsets[contig]
    slen = qe - qs
    left_ql = qs_f
    left_tl = np.minimum(qs_f + params.band, pos)
    right_ql = rlen - qe_f
    right_tl = np.minimum(right_ql + params.band, clen - pos - slen)
    lqo, lto, rqo, rto = (_offsets(x) for x in (left_ql, left_tl, right_ql, right_tl))
    n = rd.shape[0]
    qwin = np.empty((n, params.width), np.uint8)
    rwin = np.empty((n, params.width), np.uint8)
    mm = np.empty((n, 2), np.int64)
    bufs = [np.empty(int(o[-1]), np.uint8) for o in (lqo, lto, rqo, rto)]
    _k.build_windows(
        np.ascontiguousarray(read_codes, np.uint8),
        np.ascontiguousarray(read_offsets, np.int64),
        index.text,
        index.offsets,
        rd,
        qs,
        qe,
        contig,
        pos,
        rev,
        params.flank,
        params.max_seed,
        params.width,
        params.band,
        qwin,
        rwin,
        mm,
        lqo,
        lto,
        rqo,
        rto,
        *bufs,
    )
    return ExtensionInputs(
        qwin,
        rwin,
        mm,
        SequenceBatch(bufs[0], lqo),
        SequenceBatch(bufs[1], lto),
        SequenceBatch(bufs[2], rqo),
        SequenceBatch(bufs[3], rto),
    )


def extend(
    inputs: ExtensionInputs, seed_len: np.ndarray, params: WindowParams, threads: int | None = None
) -> np.ndarray:
    """Extension score of every occurrence: left + seed + right (int64)."""
    kw = {"scoring": params.scoring, "mode": "extension", "band": params.band, "threads": threads}
    left = align_batch(inputs.left_q, inputs.left_t, **kw).score
    right = align_batch(inputs.right_q, inputs.right_t, **kw).score
    return left + right + params.scoring.match * np.asarray(seed_len, np.int64)


def _truth_loci(truth_path: str, names: list[str], index: FMIndex) -> np.ndarray:
    """Per read (2 per pair): (contig index, reverse, reference start) from the simulator's
    truth table; contig -1 where the pair is missing."""
    try:
        t = pd.read_csv(truth_path, sep="\t")
    except (OSError, ValueError, gzip.BadGzipFile) as exc:
        raise InputFormatError(truth_path, None, f"cannot read truth table: {exc}") from None
    need = {"read_name", "contig", "strand", "r1_ref_start", "r2_ref_start"}
    if not need <= set(t.columns):
        missing = ", ".join(sorted(need - set(t.columns)))
        raise InputFormatError(truth_path, 1, f"truth table lacks column(s) {missing}")
    t = t.set_index("read_name").reindex(names)
    cidx = {c: i for i, c in enumerate(index.names)}
    contig = np.array([cidx.get(c, -1) for c in t["contig"].astype(object)], np.int64)
    r1_rev = (t["strand"] == "-").to_numpy()
    out = np.empty((2 * len(names), 3), np.int64)
    out[0::2, 0] = contig
    out[1::2, 0] = contig
    out[0::2, 1] = r1_rev
    out[1::2, 1] = ~r1_rev
    out[0::2, 2] = t["r1_ref_start"].fillna(-(10**9)).to_numpy(np.int64)
    out[1::2, 2] = t["r2_ref_start"].fillna(-(10**9)).to_numpy(np.int64)
    return out


def read_pair_files(
    r1: str | Sequence[str], r2: str | Sequence[str], n_pairs: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`read_pairs` of one FASTQ pair or of several (the first ``n_pairs`` of each),
    concatenated."""
    r1s = [r1] if isinstance(r1, (str, os.PathLike)) else list(r1)
    r2s = [r2] if isinstance(r2, (str, os.PathLike)) else list(r2)
    if len(r1s) != len(r2s) or not r1s:
        raise BiometalError(f"{len(r1s)} R1 files but {len(r2s)} R2 files")
    parts = [read_pairs(str(a), str(b), n_pairs) for a, b in zip(r1s, r2s, strict=True)]
    if len(parts) == 1:
        return parts[0]
    codes = np.concatenate([p[0] for p in parts])
    lens = np.concatenate([np.diff(p[1]) for p in parts])
    offsets = np.zeros(lens.shape[0] + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    names = [n for p in parts for n in p[2]]
    return codes, offsets, names


def label_windows(
    index_path: str | os.PathLike,
    r1: str | Sequence[str],
    r2: str | Sequence[str],
    out: str | os.PathLike,
    balance_out: str | os.PathLike,
    *,
    n_pairs: int,
    truth: str | None = None,
    params: WindowParams | None = None,
) -> dict:
    """Seeds -> labelled windows of the first ``n_pairs`` pairs (see the module doc).

    Writes ``out`` (``.npz``) and ``balance_out`` (TSV: class counts and fractions);
    returns the balance as a dict."""
    params = params or WindowParams()
    index = FMIndex.load(index_path)
    codes, offsets, names = read_pair_files(r1, r2, n_pairs)
    n_reads = len(offsets) - 1
    seeds = find_smems(index, codes, offsets, params.min_seed_len)
    occs = locate(index, seeds, params.max_occ)
    keep = ~occs.spans_contigs
    sid = occs.seed[keep]
    occ = {
        "read": seeds.read[sid],
        "qstart": seeds.start[sid],
        "qend": seeds.end[sid],
        "contig": occs.contig[keep],
        "pos": occs.pos[keep],
        "reverse": occs.reverse[keep],
    }
    seed_len = seeds.length[sid]
    inputs = prepare(index, codes, offsets, occ, params)
    score = extend(inputs, seed_len, params)
    rlen = offsets[occ["read"] + 1] - offsets[occ["read"]]
    qs_f = np.where(occ["reverse"], rlen - occ["qend"], occ["qstart"])
    implied = occ["pos"] - qs_f  # forward start of the whole read at this occurrence
    if truth:
        loci = _truth_loci(truth, names, index)[occ["read"]]
        on_locus = (
            (loci[:, 0] == occ["contig"])
            & (loci[:, 1].astype(bool) == occ["reverse"])
            & (np.abs(implied - loci[:, 2]) <= params.locus_tolerance)
        )
    else:  # real data: the read's unique best-scoring occurrence stands in for the truth
        df = pd.DataFrame({"read": occ["read"], "score": score})
        best = df.groupby("read")["score"].transform("max").to_numpy()
        n_best = df.assign(b=score == best).groupby("read")["b"].transform("sum").to_numpy()
        locus_key = occ["contig"] * 2 + occ["reverse"]
        # occurrences of other seeds at the same place count as the same locus
        bd = pd.DataFrame({"read": occ["read"], "key": locus_key, "start": implied})
        top = bd[(score == best)].groupby("read").first()
        tk = top.reindex(occ["read"])
        on_locus = (
            (n_best >= 1)
            & (tk["key"].to_numpy() == locus_key)
            & (np.abs(tk["start"].to_numpy() - implied) <= params.locus_tolerance)
        )
        # ambiguous reads (two loci share the best score) have no true locus
        n_loci = bd[score == best].groupby("read")["key"].nunique().reindex(occ["read"])
        on_locus &= n_loci.to_numpy() == 1
    label = (on_locus & (score >= params.min_score)).astype(np.uint8)
    per_read_n = np.bincount(seeds.read, minlength=n_reads)
    per_read_max = np.zeros(n_reads, np.int64)
    np.maximum.at(per_read_max, seeds.read, seeds.length)
    rd = occ["read"]
    arrays = {
        "qwin": inputs.qwin,
        "rwin": inputs.rwin,
        "label": label,
        "pair": rd // 2,
        "mate": (rd % 2 + 1).astype(np.uint8),
        "read": rd,
        "seed_len": seed_len,
        "occ": seeds.occ[sid],
        "qstart": occ["qstart"],
        "qend": occ["qend"],
        "qend_gap": rlen - occ["qend"],
        "read_len": rlen,
        "reverse": occ["reverse"].astype(np.uint8),
        "contig": occ["contig"],
        "pos": occ["pos"],
        "score": score,
        "on_locus": on_locus.astype(np.uint8),
        "flank_mm_left": inputs.flank_mm[:, 0],
        "flank_mm_right": inputs.flank_mm[:, 1],
        "n_seeds_read": per_read_n[rd],
        "max_seed_len_read": per_read_max[rd],
        "read_codes": codes,
        "read_offsets": offsets,
        "params": np.array(
            [
                params.min_seed_len,
                params.max_occ,
                params.flank,
                params.max_seed,
                params.width,
                params.band,
                params.min_score,
                params.locus_tolerance,
            ],
            np.int64,
        ),
    }
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    n = int(label.shape[0])
    n_pos = int(label.sum())
    reads_with_seed = int(np.unique(rd).shape[0])
    reads_viable = int(np.unique(rd[label == 1]).shape[0])
    balance = {
        "read_pairs": len(names),
        "reads": n_reads,
        "smems": len(seeds),
        "smems_over_max_occ": int((seeds.occ > params.max_occ).sum()),
        "windows": n,
        "viable": n_pos,
        "non_viable": n - n_pos,
        "viable_fraction": n_pos / n if n else float("nan"),
        "on_locus_low_score": int((on_locus & (score < params.min_score)).sum()),
        "reads_with_seed": reads_with_seed,
        "reads_with_viable_seed": reads_viable,
    }
    if n == 0:
        raise BiometalError(
            f"{r1}: no seed of length >= {params.min_seed_len} in the first {n_pairs} pairs"
        )
    with atomic_path(balance_out) as tmp:
        pd.DataFrame([balance]).T.reset_index().to_csv(
            tmp, sep="\t", index=False, header=["metric", "value"]
        )
    log.info("windows: %s", balance)
    return balance


@dataclass
class WindowSet:
    """A loaded windows file: every array of :func:`label_windows` by name."""

    arrays: dict[str, np.ndarray]

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def __len__(self) -> int:
        return int(self.arrays["label"].shape[0])

    def features(self, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, len(FEATURES)) seed features."""
        sel = slice(None) if rows is None else rows
        return np.stack([self.arrays[f][sel].astype(np.float32) for f in FEATURES], axis=1)

    def one_hot(self, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, 2, width, 4) one-hot windows (query, reference)."""
        q = self.arrays["qwin"] if rows is None else self.arrays["qwin"][rows]
        r = self.arrays["rwin"] if rows is None else self.arrays["rwin"][rows]
        return one_hot(q, r)


def run_features(ws: WindowSet, inp: ExtensionInputs) -> np.ndarray:
    """float32 (n, len(FEATURES)) seed features at run time: the flank mismatches as
    :func:`prepare` computed them for ``inp``, every other feature from the windows file."""
    flank = {"flank_mm_left": inp.flank_mm[:, 0], "flank_mm_right": inp.flank_mm[:, 1]}
    cols = [flank[f] if f in flank else ws[f] for f in FEATURES]
    return np.stack([c.astype(np.float32) for c in cols], axis=1)


def one_hot(qwin: np.ndarray, rwin: np.ndarray) -> np.ndarray:
    """uint8 windows (B, W) x2 -> float32 (B, 2, W, 4) one-hot (N/padding all zeros)."""
    out = np.empty((qwin.shape[0], 2, qwin.shape[1], 4), np.float32)
    _k.one_hot(np.ascontiguousarray(qwin), np.ascontiguousarray(rwin), out)
    return out


def load_windows(path: str | os.PathLike) -> WindowSet:
    """Read a windows file written by :func:`label_windows`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return WindowSet({k: z[k] for k in z.files})
    except (OSError, ValueError) as exc:
        raise InputFormatError(str(path), None, f"not a seed-windows file: {exc}") from None
