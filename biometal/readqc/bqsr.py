"""A BQSR-style empirical base-quality recalibration table (the standard peer).

GATK's BaseRecalibrator counts, at aligned bases of non-variant reference positions,
bases and mismatches by reported quality x machine cycle x dinucleotide context, and turns
the counts into error probabilities hierarchically: each level is an estimate shrunk
towards the level above it, so a sparse cell falls back to a coarser estimate. Here:

1. global: the data's error rate against the mean reported error rate gives a shift
   ``d_g`` (logit scale);
2. reported quality ``Q``: ``p_Q`` with prior ``expit(logit(10**(-Q/10)) + d_g)``;
3. ``Q x cycle`` (cycle per mate) and ``Q x context`` (previous base and the base itself in
   sequencing order, 16 dinucleotides + 1 for any ``N``): each with prior ``p_Q``, giving
   logit deltas ``d_cycle`` and ``d_context``; their sum is the additive estimate
   ``expit(logit p_Q + d_cycle + d_context)`` (GATK's model);
4. ``Q x cycle x context``: the joint cell with the additive estimate as prior.

Every shrinkage step is a beta prior with mean ``p0`` worth ``prior_errors`` errors
(``prior_errors / p0`` bases): ``p = (errors + prior_errors) / (bases + prior_errors / p0)``.
A cell without data is its prior; a cycle beyond the training data uses no cycle delta.
Qualities above ``Q_DIM - 1`` are treated as ``Q_DIM - 1``.

The table is saved as TSV (:meth:`BqsrTable.save`): a ``#`` header line with the
parameters, then one row per non-empty joint cell (the counts; every level is derived
from them, so :meth:`BqsrTable.load` gives the same predictions).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.special import expit, logit

from biometal.errors import InputFormatError
from biometal.readqc.covariates import CONTEXT, BaseFeatures

#: reported qualities 0 .. Q_DIM - 1 (higher ones are clipped).
Q_DIM = 64
#: dinucleotide contexts: 16 (previous base, base) + 1 for an ``N`` in either.
N_CONTEXTS = 17
_P_MIN, _P_MAX = 1e-7, 0.75
_HEADER = "quality\tmate\tcycle\tcontext\tbases\terrors\trecalibrated_q"
_MAGIC = "# biometal-bqsr v1"
_BASES = "ACGT"


def dinucleotide(feats: BaseFeatures) -> np.ndarray:
    """uint8 [n]: ``4 * previous + base`` in sequencing order, 16 when either is N/absent."""
    prev = feats.context[:, CONTEXT - 1].astype(np.int64)
    cur = feats.context[:, CONTEXT].astype(np.int64)
    return np.where((prev < 4) & (cur < 4), 4 * prev + cur, 16).astype(np.uint8)


def context_name(code: int) -> str:
    """``"AC"`` for a dinucleotide code, ``"N"`` for 16."""
    return "N" if code == 16 else _BASES[code // 4] + _BASES[code % 4]


def _context_code(name: str) -> int:
    if name == "N":
        return 16
    if len(name) != 2 or set(name) - set(_BASES):
        raise ValueError(name)
    return 4 * _BASES.index(name[0]) + _BASES.index(name[1])


def _shrink(errors: np.ndarray, bases: np.ndarray, prior: np.ndarray, m: float) -> np.ndarray:
    prior = np.clip(prior, _P_MIN, _P_MAX)
    return np.clip((errors + m) / (bases + m / prior), _P_MIN, _P_MAX)


class BqsrTable:
    """Empirical error table by reported Q x cycle (per mate) x dinucleotide context.

    Build with :meth:`fit` (or :meth:`add` batches, then use), predict with
    :meth:`error_probability` (an :class:`~biometal.readqc.recalibrate.ErrorPredictor`).
    ``prior_errors``: strength of each shrinkage prior, in pseudo-errors.
    """

    def __init__(self, prior_errors: float = 10.0) -> None:
        if not prior_errors > 0:
            raise ValueError(f"prior_errors must be > 0, got {prior_errors!r}")
        self.prior_errors = float(prior_errors)
        self.bases = np.zeros((Q_DIM, 2, 0, N_CONTEXTS), np.float64)
        self.errors = np.zeros_like(self.bases)
        self._p: np.ndarray | None = None

    @property
    def n_cycles(self) -> int:
        """Cycles covered by the counts (per mate)."""
        return int(self.bases.shape[2])

    def _grow(self, n_cycles: int) -> None:
        if n_cycles > self.n_cycles:
            pad = ((0, 0), (0, 0), (0, n_cycles - self.n_cycles), (0, 0))
            self.bases = np.pad(self.bases, pad)
            self.errors = np.pad(self.errors, pad)

    def add(self, feats: BaseFeatures, error: np.ndarray) -> BqsrTable:
        """Count the bases of ``feats`` with labels ``error`` (bool [n]); returns self."""
        error = np.asarray(error, dtype=bool)
        if error.shape != (len(feats),):
            raise ValueError(f"error has shape {error.shape}, expected ({len(feats)},)")
        if len(feats) == 0:
            return self
        cycle = feats.cycle.astype(np.int64)
        if cycle.min() < 0:
            raise ValueError("negative cycle")
        self._grow(int(cycle.max()) + 1)
        idx = self._index(feats, cycle)
        size = self.bases.size
        self.bases += np.bincount(idx, minlength=size).reshape(self.bases.shape)
        self.errors += np.bincount(idx, weights=error, minlength=size).reshape(self.bases.shape)
        self._p = None
        return self

    def _index(self, feats: BaseFeatures, cycle: np.ndarray) -> np.ndarray:
        q = np.minimum(feats.quality.astype(np.int64), Q_DIM - 1)
        mate = np.minimum(feats.mate.astype(np.int64), 1)
        ctx = dinucleotide(feats).astype(np.int64)
        return ((q * 2 + mate) * self.n_cycles + cycle) * N_CONTEXTS + ctx

    @classmethod
    def fit(cls, feats: BaseFeatures, error: np.ndarray, prior_errors: float = 10.0) -> BqsrTable:
        """A table counted from ``feats`` and ``error`` (bool [n])."""
        return cls(prior_errors).add(feats, error)

    def levels(self) -> dict[str, np.ndarray]:
        """The estimates of every level (error probabilities): ``quality`` [Q_DIM],
        ``cycle`` [Q_DIM, 2, C], ``context`` [Q_DIM, 17], ``additive`` and ``joint``
        [Q_DIM, 2, C + 1, 17] (cycle index C: beyond the training data)."""
        m = self.prior_errors
        b, e = self.bases, self.errors
        nq = b.sum(axis=(1, 2, 3))
        eq = e.sum(axis=(1, 2, 3))
        total = nq.sum()
        reported = 10.0 ** (-np.arange(Q_DIM) / 10.0)
        if total > 0:
            p_rep = float((nq * reported).sum() / total)
            p_emp = (eq.sum() + 1.0) / (total + 2.0)
            shift = float(
                logit(np.clip(p_emp, _P_MIN, _P_MAX)) - logit(np.clip(p_rep, _P_MIN, _P_MAX))
            )
        else:
            shift = 0.0
        prior_q = expit(logit(np.clip(reported, _P_MIN, _P_MAX)) + shift)
        p_q = _shrink(eq, nq, prior_q, m)
        nqc, eqc = b.sum(axis=3), e.sum(axis=3)
        p_qc = _shrink(eqc, nqc, p_q[:, None, None], m)
        nqx, eqx = b.sum(axis=(1, 2)), e.sum(axis=(1, 2))
        p_qx = _shrink(eqx, nqx, p_q[:, None], m)
        lq = logit(p_q)
        d_c = logit(p_qc) - lq[:, None, None]
        d_c = np.concatenate([d_c, np.zeros((Q_DIM, 2, 1))], axis=2)  # unseen cycles
        d_x = logit(p_qx) - lq[:, None]
        add = expit(lq[:, None, None, None] + d_c[:, :, :, None] + d_x[:, None, None, :])
        pad = ((0, 0), (0, 0), (0, 1), (0, 0))
        joint = _shrink(np.pad(e, pad), np.pad(b, pad), add, m)
        return {"quality": p_q, "cycle": p_qc, "context": p_qx, "additive": add, "joint": joint}

    def error_probability(self, feats: BaseFeatures) -> np.ndarray:
        """float32 [n]: the joint-cell estimate of every base of ``feats``."""
        from biometal.readqc._kernels import table_lookup

        if self._p is None:
            self._p = np.ascontiguousarray(self.levels()["joint"], dtype=np.float32)
        out = np.empty(len(feats), np.float32)
        if len(feats):
            table_lookup(
                np.ascontiguousarray(feats.quality),
                np.ascontiguousarray(feats.mate),
                np.ascontiguousarray(feats.cycle),
                np.ascontiguousarray(feats.context),
                CONTEXT,
                self._p,
                out,
            )
        return out

    # ------------------------------------------------------------------ TSV

    def save(self, path: str | os.PathLike) -> None:
        """Write the counts (and each cell's recalibrated Q) as TSV, atomically."""
        from biometal.io.atomic import atomic_path

        joint = self.levels()["joint"][:, :, : self.n_cycles]
        q, mate, cyc, ctx = np.nonzero(self.bases)
        recal = -10.0 * np.log10(joint[q, mate, cyc, ctx])
        lines = [f"{_MAGIC} prior_errors={self.prior_errors!r} cycles={self.n_cycles}", _HEADER]
        lines += [
            f"{a}\t{b}\t{c}\t{context_name(int(d))}\t{int(n)}\t{int(k)}\t{r:.2f}"
            for a, b, c, d, n, k, r in zip(
                q.tolist(),
                mate.tolist(),
                cyc.tolist(),
                ctx.tolist(),
                self.bases[q, mate, cyc, ctx].tolist(),
                self.errors[q, mate, cyc, ctx].tolist(),
                recal.tolist(),
                strict=True,
            )
        ]
        with atomic_path(path) as tmp:
            Path(tmp).write_text("\n".join(lines) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> BqsrTable:
        """Read a table written by :meth:`save`; a malformed file raises
        :class:`~biometal.errors.InputFormatError` naming the line."""
        name = os.fspath(path)
        if not Path(name).is_file():
            raise InputFormatError(name, None, "BQSR table not found")
        with open(name) as fh:
            first = fh.readline().rstrip("\n")
            if not first.startswith(_MAGIC):
                raise InputFormatError(name, 1, f"not a biometal BQSR table (expected '{_MAGIC}')")
            params = dict(kv.split("=", 1) for kv in first[len(_MAGIC) :].split() if "=" in kv)
            try:
                table = cls(float(params["prior_errors"]))
                table._grow(int(params["cycles"]))
            except (KeyError, ValueError):
                raise InputFormatError(name, 1, "header lacks prior_errors=/cycles=") from None
            if fh.readline().rstrip("\n") != _HEADER:
                raise InputFormatError(name, 2, f"expected the column header '{_HEADER}'")
            for line_no, line in enumerate(fh, start=3):
                f = line.rstrip("\n").split("\t")
                try:
                    q, mate, cyc = int(f[0]), int(f[1]), int(f[2])
                    ctx = _context_code(f[3])
                    n, k = int(f[4]), int(f[5])
                    if not (0 <= q < Q_DIM and mate in (0, 1) and 0 <= cyc < table.n_cycles):
                        raise ValueError
                    if not 0 <= k <= n:
                        raise ValueError
                except (ValueError, IndexError):
                    raise InputFormatError(
                        name,
                        line_no,
                        f"bad row {line.rstrip()[:60]!r} (quality 0-{Q_DIM - 1}, "
                        "mate 0/1, cycle < cycles, context like AC or N, 0 <= errors <= bases)",
                    ) from None
                table.bases[q, mate, cyc, ctx] = n
                table.errors[q, mate, cyc, ctx] = k
        return table
