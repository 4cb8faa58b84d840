"""Alignment benchmark: biometal's kernels against parasail, same pairs, same run.

Two entry points:

- :func:`run_benchmark` (rule ``bench_alignment``): a grid of query lengths x batch sizes x
  identities; for each cell of the grid the same simulated pairs go through every method,
  in interleaved repeats: biometal on the CPU (numba, one thread and all threads; Metal as
  well where a GPU answers), score only and with traceback, local and global, and
  parasail 1.3.4 called once per pair from Python, as a Python user would
  (``sw_striped_16``, ``sw_trace_striped_16`` + its CIGAR, ``nw_striped_16``). Writes one
  row per (grid cell, method) with timing statistics (:mod:`biometal.stats`), GCUPS and
  alignments/s, a summary of ratios against the peers with Cohen's d, and the figure.
- ``python -m biometal.align.bench --headline``: the headline measurement, 20,000 pairs of
  150 bp at 90% identity (``--lengths`` adds other lengths), printed as a table.

GCUPS = sum over pairs of query length x target length / seconds / 1e9. Times are wall
clock of the whole batch call (for parasail: the Python loop over pairs), after one
untimed warm-up run of every method (numba compiles on first use).

A grid cell whose cells (pairs x length x length) exceed ``max_cells`` is measured on the
first ``max_cells // length**2`` pairs (at least one) for every method, and the table says
so (``batch_measured`` < ``batch``): the full grid then stays tractable on two cores.
Scores of biometal and parasail are compared on every measured pair (``score_mismatches``;
parasail's 16-bit functions saturate above 32767, counted in ``peer_saturated``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biometal import stats
from biometal._threads import clamp_threads, numba_threads, pool_size
from biometal.align.core import SequenceBatch, align_batch
from biometal.align.scoring import Scoring
from biometal.io.encoding import DECODE_ALPHABET

log = logging.getLogger(__name__)

DEFAULT_SCORING = Scoring(match=2, mismatch=-3, gap_open=5, gap_extend=2)
PARASAIL_SKIP = "parasail not installed (pip install parasail==1.3.4)"


# --------------------------------------------------------------------------------------
# data


@dataclass
class PairSet:
    """Simulated pairs: encoded batches and the same sequences as str (for parasail)."""

    queries: SequenceBatch
    targets: SequenceBatch
    query_str: list[str]
    target_str: list[str]

    @property
    def cells(self) -> int:
        return int((self.queries.lengths * self.targets.lengths).sum())

    def head(self, n: int) -> PairSet:
        """The first n pairs."""
        q = SequenceBatch(self.queries.codes, self.queries.offsets[: n + 1])
        t = SequenceBatch(self.targets.codes, self.targets.offsets[: n + 1])
        return PairSet(q, t, self.query_str[:n], self.target_str[:n])


def simulate_pairs(n: int, length: int, identity: float, seed: int) -> PairSet:
    """n pairs: a uniform random query of ``length`` bases and a target copied from it
    with errors at rate 1 - identity per base (80% substitutions, 10% 1-base insertions,
    10% 1-base deletions), so targets are about ``length`` long."""
    if not 0 < identity <= 1:
        raise ValueError(f"identity must be in (0, 1], got {identity}")
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 4, (n, length), dtype=np.uint8)
    err = rng.random((n, length)) < (1 - identity)
    kind = rng.random((n, length))
    sub = err & (kind < 0.8)
    ins = err & (kind >= 0.8) & (kind < 0.9)
    dele = err & (kind >= 0.9)
    t = q.copy()
    t[sub] = (t[sub] + rng.integers(1, 4, int(sub.sum()), dtype=np.uint8)) % 4
    ins_base = rng.integers(0, 4, (n, length), dtype=np.uint8)
    tparts: list[np.ndarray] = []
    for p in range(n):
        keep = ~dele[p]
        # base, then an inserted base after it where ins
        row = np.stack([t[p], ins_base[p]], axis=1)
        mask = np.stack([keep, ins[p]], axis=1)
        tparts.append(row[mask])
    qb = SequenceBatch(q.ravel(), np.arange(n + 1, dtype=np.int64) * length)
    toff = np.zeros(n + 1, np.int64)
    np.cumsum([len(x) for x in tparts], out=toff[1:])
    tb = SequenceBatch(np.concatenate(tparts) if n else np.zeros(0, np.uint8), toff)
    qtext = DECODE_ALPHABET[q].tobytes().decode("ascii")
    ttext = DECODE_ALPHABET[tb.codes].tobytes().decode("ascii")
    tlist = toff.tolist()
    return PairSet(
        qb,
        tb,
        [qtext[p * length : (p + 1) * length] for p in range(n)],
        [ttext[tlist[p] : tlist[p + 1]] for p in range(n)],
    )


# --------------------------------------------------------------------------------------
# methods


@dataclass
class Method:
    """One way to align a PairSet: ``run(pairs)`` returns the scores (int64[n])."""

    name: str
    kind: str  # "biometal" or "peer"
    task: str  # "score" (local), "trace" (local + CIGAR), "global"
    threads: int
    run: Callable[[PairSet], np.ndarray]
    peer_of: str = ""  # for biometal methods: the peer task name
    saturated: Callable[[], int] | None = None


def biometal_methods(
    scoring: Scoring, threads: Sequence[int], backend: str = "cpu", tasks: Sequence[str] = ()
) -> list[Method]:
    """biometal on ``backend`` for each task and thread count."""
    tasks = tasks or ("score", "trace", "global")
    out = []
    for task in tasks:
        mode = "global" if task == "global" else "local"
        tb = task == "trace"
        for th in threads if backend == "cpu" else [0]:

            def run(ps: PairSet, mode=mode, tb=tb, th=th) -> np.ndarray:
                res = align_batch(
                    ps.queries,
                    ps.targets,
                    scoring,
                    mode,
                    traceback=tb,
                    backend=backend,
                    threads=th or None,
                )
                return res.score

            label = f"biometal-{backend}" + (f"-{th}t" if backend == "cpu" else "")
            out.append(Method(f"{label}:{task}", "biometal", task, th, run))
    return out


def parasail_available() -> bool:
    try:
        import parasail  # noqa: F401
    except Exception:
        return False
    return True


def parasail_methods(scoring: Scoring, tasks: Sequence[str] = ()) -> list[Method]:
    """parasail called once per pair from Python (16-bit striped SIMD functions)."""
    import parasail

    tasks = tasks or ("score", "trace", "global")
    sm = scoring.substitution_matrix()
    matrix = parasail.matrix_create("ACGTN", 0, 0)
    for a in range(5):
        for b in range(5):
            matrix[a, b] = int(sm[a, b])
    go, ge = scoring.gap_open, scoring.gap_extend
    out = []
    for task in tasks:
        sat = [0]
        if task == "score":
            fn, name = parasail.sw_striped_16, "parasail-sw_striped_16:score"
        elif task == "trace":
            fn, name = parasail.sw_trace_striped_16, "parasail-sw_trace_striped_16+cigar:trace"
        else:
            fn, name = parasail.nw_striped_16, "parasail-nw_striped_16:global"

        def run(ps: PairSet, fn=fn, task=task, sat=sat) -> np.ndarray:
            scores = np.empty(len(ps.query_str), np.int64)
            n_sat = 0
            if task == "trace":
                for p, (a, b) in enumerate(zip(ps.query_str, ps.target_str, strict=True)):
                    r = fn(a, b, go, ge, matrix)
                    r.cigar.decode  # noqa: B018 (the traceback is done here)
                    scores[p] = r.score
                    n_sat += r.saturated
            else:
                for p, (a, b) in enumerate(zip(ps.query_str, ps.target_str, strict=True)):
                    r = fn(a, b, go, ge, matrix)
                    scores[p] = r.score
                    n_sat += r.saturated
            sat[0] = n_sat
            return scores

        out.append(Method(name, "peer", task, 1, run, saturated=lambda sat=sat: sat[0]))
    return out


# --------------------------------------------------------------------------------------
# measuring


def measure(
    methods: Sequence[Method], pairs: PairSet, repeats: int
) -> tuple[dict[str, list[float]], dict[str, np.ndarray]]:
    """Interleaved repeats: in each round every method runs once on the same pairs.
    Returns (seconds per repeat, scores of the last repeat) by method name."""
    times: dict[str, list[float]] = {m.name: [] for m in methods}
    scores: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for m in methods:
            t0 = time.perf_counter()
            s = m.run(pairs)
            times[m.name].append(time.perf_counter() - t0)
            scores[m.name] = s
    return times, scores


def _warm_up(methods: Sequence[Method], seed: int, lengths: Sequence[int] = ()) -> None:
    """Compile the numba kernels (and touch parasail) before any timing: batches in both
    CPU layouts, and one pair at the longest length (long global alignments run in int32,
    a kernel of its own)."""
    sets = [simulate_pairs(70, length, 0.9, seed) for length in (40, 600)]
    sets += [simulate_pairs(1, max(lengths), 0.5, seed)] if lengths else []
    for pairs in sets:
        for m in methods:
            m.run(pairs)
            m.run(pairs.head(min(3, len(pairs.query_str))))


def _rows_for(
    methods: Sequence[Method],
    times: dict[str, list[float]],
    scores: dict[str, np.ndarray],
    pairs: PairSet,
    base: dict,
) -> tuple[list[dict], list[dict]]:
    cells = pairs.cells
    n = len(pairs.query_str)
    rows = []
    peer_by_task = {m.task: m for m in methods if m.kind == "peer"}
    for m in methods:
        t = np.asarray(times[m.name])
        s = stats.summarize(t)
        g = cells / t / 1e9
        mism = ""
        sat = ""
        peer = peer_by_task.get(m.task)
        if m.kind == "biometal" and peer is not None:
            mism = int((scores[m.name] != scores[peer.name]).sum())
        if m.kind == "peer" and m.saturated is not None:
            sat = int(m.saturated())
        rows.append(
            {
                **base,
                "method": m.name,
                "kind": m.kind,
                "task": m.task,
                "threads": m.threads,
                "cells": cells,
                "repeats": len(t),
                **{f"time_{k}": v for k, v in s.as_dict().items() if k != "n"},
                "gcups_median": float(np.median(g)),
                "gcups_min": float(g.min()),
                "gcups_max": float(g.max()),
                "aln_per_s_median": float(n / np.median(t)),
                "score_mismatches": mism,
                "peer_saturated": sat,
            }
        )
    summary = []
    for m in methods:
        peer = peer_by_task.get(m.task)
        if m.kind != "biometal" or peer is None:
            continue
        r = stats.ratio_summary(times[peer.name], times[m.name])
        summary.append(
            {
                **base,
                "method": m.name,
                "peer": peer.name,
                "task": m.task,
                "speedup_median": r["ratio_of_medians"],
                "speedup_min": r["ratio_min"],
                "speedup_max": r["ratio_max"],
                "cohens_d_time": stats.cohens_d(times[peer.name], times[m.name]),
                "gcups": cells / float(np.median(times[m.name])) / 1e9,
                "peer_gcups": cells / float(np.median(times[peer.name])) / 1e9,
            }
        )
    return rows, summary


def run_benchmark(
    out_table: str | Path,
    out_summary: str | Path,
    out_figure: str | Path | None = None,
    *,
    lengths: Sequence[int] = (100, 500, 1000, 5000),
    batch_sizes: Sequence[int] = (1, 10, 100, 1000, 10000),
    identities: Sequence[float] = (0.9, 0.7, 0.5),
    repeats: int = 3,
    seed: int = 42,
    max_cells: int = 500_000_000,
    threads: Sequence[int] | None = None,
    tasks: Sequence[str] = ("score", "trace", "global"),
    scoring: Scoring = DEFAULT_SCORING,
    backend: str = "auto",
) -> pd.DataFrame:
    """The benchmark grid (see the module doc). Writes the per-method table, the ratio
    summary and (optionally) the GCUPS figure; returns the table."""
    from biometal.io.atomic import atomic_path
    from biometal.kernels import metal_available, resolve_backend

    if repeats < 2:
        raise ValueError("repeats must be >= 2 (a spread needs two values)")
    all_threads = pool_size()
    threads = sorted({1, all_threads} if threads is None else set(threads))
    methods = biometal_methods(scoring, threads, "cpu", tasks)
    if resolve_backend(backend) == "metal" or (backend == "auto" and metal_available()):
        methods += biometal_methods(scoring, [0], "metal", tasks)
    peers = parasail_methods(scoring, tasks) if parasail_available() else []
    if not peers:
        log.warning("%s: measuring biometal alone", PARASAIL_SKIP)
    methods += peers
    log.info("methods: %s", ", ".join(m.name for m in methods))
    _warm_up(methods, seed, lengths)

    rows: list[dict] = []
    summary: list[dict] = []
    grid_seed = seed
    for length in lengths:
        for batch in batch_sizes:
            for identity in identities:
                grid_seed += 1
                n = batch
                note = ""
                if batch * length * length > max_cells:
                    n = max(1, max_cells // (length * length))
                    note = f"measured on {n} of {batch} pairs (max_cells={max_cells})"
                pairs = simulate_pairs(n, length, identity, grid_seed)
                t0 = time.perf_counter()
                times, scores = measure(methods, pairs, repeats)
                base = {
                    "length": length,
                    "batch": batch,
                    "batch_measured": n,
                    "identity": identity,
                }
                r, s = _rows_for(methods, times, scores, pairs, base)
                for row in r:
                    row["note"] = note
                rows += r
                summary += s
                log.info(
                    "length %d batch %d (measured %d) identity %.2f: %.1f s",
                    length,
                    batch,
                    n,
                    identity,
                    time.perf_counter() - t0,
                )
    table = pd.DataFrame(rows)
    summ = pd.DataFrame(summary)
    with atomic_path(out_table) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    with atomic_path(out_summary) as tmp:
        summ.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    if out_figure is not None:
        plot_gcups(table, out_figure)
    return table


def run_benchmark_config(
    cfg: dict,
    out_table: str | Path,
    out_summary: str | Path,
    out_figure: str | Path,
    *,
    seed: int,
    threads: int,
    backend: str = "auto",
) -> pd.DataFrame:
    """:func:`run_benchmark` from the validated config section ``bench.alignment`` (schema in
    config/schema.yaml; defaults filled in by :func:`biometal.config.validate_config`).
    ``seed`` is the master seed (this stage derives its own from it), ``threads`` the job's
    threads (timed: 1 and ``threads`` unless cfg lists them)."""
    from biometal.simulate import stage_seed

    sc = cfg["scoring"]
    scoring = Scoring(
        match=sc["match"],
        mismatch=sc["mismatch"],
        gap_open=sc["gap_open"],
        gap_extend=sc["gap_extend"],
    )
    # an empty list (the schema's default) means: 1 and the job's threads
    th = [clamp_threads(t) for t in cfg["threads"] or sorted({1, max(1, int(threads))})]
    with numba_threads(max(th)):
        return run_benchmark(
            out_table,
            out_summary,
            out_figure,
            lengths=cfg["lengths"],
            batch_sizes=cfg["batch_sizes"],
            identities=cfg["identities"],
            repeats=cfg["repeats"],
            seed=stage_seed(seed, "bench_alignment"),
            max_cells=cfg["max_cells"],
            threads=th,
            tasks=cfg["tasks"],
            scoring=scoring,
            backend=backend,
        )


# --------------------------------------------------------------------------------------
# figure


def _family(method: str) -> str:
    """Legend family of a method: the backend/threads part, parasail as one peer."""
    name = method.split(":")[0]
    return "parasail, per pair" if name.startswith("parasail") else name


def plot_gcups(table: pd.DataFrame, out: str | Path, identity: float | None = None) -> None:
    """GCUPS (median of the repeats) against query length, one panel per task, one colour per
    method family (biometal per backend and thread count, parasail dashed) and one line width
    per batch size; at the highest identity measured unless ``identity`` is given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from biometal.io.atomic import atomic_path

    if identity is None:
        identity = float(table["identity"].max())
    sub = table[np.isclose(table["identity"], identity)].copy()
    sub["family"] = sub["method"].map(_family)
    tasks = [t for t in ("score", "trace", "global") if t in set(sub["task"])]
    titles = {
        "score": "local, score only (parasail sw_striped_16)",
        "trace": "local + traceback (parasail sw_trace_striped_16 + CIGAR)",
        "global": "global, score only (parasail nw_striped_16)",
    }
    batches = sorted(sub["batch"].unique())
    families = sorted(sub["family"].unique(), key=lambda f: (f.startswith("parasail"), f))
    colors = {f: ("0.35" if f.startswith("parasail") else plt.cm.tab10(i % 10))
              for i, f in enumerate(families)}  # fmt: skip
    widths = {b: 0.7 + 2.6 * k / max(1, len(batches) - 1) for k, b in enumerate(batches)}
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.4 * len(tasks), 4.4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        st = sub[sub["task"] == task]
        for fam in families:
            for b in batches:
                d = st[(st["family"] == fam) & (st["batch"] == b)].sort_values("length")
                if d.empty:
                    continue
                ax.plot(
                    d["length"],
                    d["gcups_median"],
                    marker="o",
                    ms=2.5,
                    lw=widths[b],
                    color=colors[fam],
                    ls="--" if fam.startswith("parasail") else "-",
                    alpha=0.9,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("query length (bp)")
        ax.set_ylabel("GCUPS (median of repeats)")
        ax.set_title(titles[task], fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    handles = [
        Line2D(
            [], [], color=colors[f], ls="--" if f.startswith("parasail") else "-", lw=2, label=f
        )  # fmt: skip
        for f in families
    ]
    handles += [Line2D([], [], color="0.6", lw=widths[b], label=f"batch {b}") for b in batches]
    fig.legend(handles=handles, loc="lower center", ncol=min(8, len(handles)), fontsize=8,
               frameon=False)  # fmt: skip
    fig.suptitle(f"Pairwise alignment throughput at {identity:.0%} identity")
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


# --------------------------------------------------------------------------------------
# headline (python -m biometal.align.bench --headline)


def headline(
    n: int = 20_000,
    lengths: Sequence[int] = (150,),
    identity: float = 0.9,
    repeats: int = 7,
    seed: int = 7,
    max_cells: int = 2_000_000_000,
    scoring: Scoring = DEFAULT_SCORING,
) -> pd.DataFrame:
    """The headline comparison: ``n`` pairs per length (fewer where n x length^2 exceeds
    ``max_cells``), biometal numba on 1 thread and on all threads, score only and with
    traceback, against parasail sw_striped_16 and sw_trace_striped_16 (+ CIGAR) called per
    pair, interleaved repeats. Returns one row per (length, method)."""
    if not parasail_available():
        raise RuntimeError(PARASAIL_SKIP)
    all_threads = pool_size()
    threads = sorted({1, all_threads})
    methods = biometal_methods(scoring, threads, "cpu", ("score", "trace"))
    methods += parasail_methods(scoring, ("score", "trace"))
    _warm_up(methods, seed, lengths)
    out = []
    for length in lengths:
        m = n if n * length * length <= max_cells else max(1, max_cells // (length * length))
        pairs = simulate_pairs(m, length, identity, seed + length)
        times, scores = measure(methods, pairs, repeats)
        rows, _ = _rows_for(
            methods, times, scores, pairs, {"length": length, "pairs": m, "identity": identity}
        )
        peer_t = {r["task"]: times[r["method"]] for r in rows if r["kind"] == "peer"}
        for r in rows:
            pt = peer_t.get(r["task"])
            if pt is not None:
                rs = stats.ratio_summary(pt, times[r["method"]])
                r["x_peer_median"] = rs["ratio_of_medians"]
                r["x_peer_min"] = rs["ratio_min"]
                r["x_peer_max"] = rs["ratio_max"]
                r["cohens_d_time"] = stats.cohens_d(pt, times[r["method"]])
        out += rows
    return pd.DataFrame(out)


def _format_headline(df: pd.DataFrame) -> str:
    lines = [
        "length  pairs  method                                     GCUPS median (min-max)"
        "   x peer median (min-max)   score mismatches"
    ]
    for _, r in df.iterrows():
        ratio = (
            f"{r['x_peer_median']:.2f} ({r['x_peer_min']:.2f}-{r['x_peer_max']:.2f})"
            if pd.notna(r.get("x_peer_median"))
            else ""
        )
        lines.append(
            f"{int(r['length']):>6} {int(r['pairs']):>6}  {r['method']:<42} "
            f"{r['gcups_median']:7.2f} ({r['gcups_min']:.2f}-{r['gcups_max']:.2f})   "
            f"{ratio:<26}{r['score_mismatches']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m biometal.align.bench --headline [--lengths 150 1000]``."""
    ap = argparse.ArgumentParser(prog="python -m biometal.align.bench", description=__doc__)
    ap.add_argument("--headline", action="store_true", help="run the headline measurement")
    ap.add_argument("--pairs", type=int, default=20_000, help="pairs per length (20000)")
    ap.add_argument("--lengths", type=int, nargs="+", default=[150], help="query lengths (150)")
    ap.add_argument("--identity", type=float, default=0.9, help="pair identity (0.9)")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved repeats (7)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--max-cells", type=int, default=2_000_000_000, help="cap on pairs x length^2 per run"
    )
    ap.add_argument("--tsv", help="also write the rows to this TSV file")
    args = ap.parse_args(argv)
    if not args.headline:
        ap.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING)
    df = headline(args.pairs, args.lengths, args.identity, args.repeats, args.seed, args.max_cells)
    import platform

    print(
        f"# {platform.machine()} {platform.processor() or ''}, {pool_size()}"
        f" numba threads; {args.repeats} interleaved repeats; identity {args.identity}"
    )
    print(_format_headline(df))
    if args.tsv:
        df.to_csv(args.tsv, sep="\t", index=False, float_format="%.6g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
