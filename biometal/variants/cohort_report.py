"""The cohort case study's measurements: per-sample scores of single-sample, joint and peer
calls against a multi-sample truth, recall by allele frequency and depth, whole-job CPU
time, the site_stats kernel's throughput, the bcftools multi-sample peer, and the figures.

Scoring (per sample and type, :func:`biometal.variants.joint.sample_alleles`): a call is a
PASS record whose sample GT carries the ALT; TP / FP / FN by normalised allele (genotype
agnostic, as :mod:`biometal.variants.evaluate`); ``het_found`` = true heterozygous alleles
called (any genotype); ``gt_concordance`` = TP alleles whose zygosity (het / hom) equals
the truth's. Single-sample calls are the non-reference genotypes of each sample's gVCF
(SNPs: what :func:`biometal.variants.call.call_variants` calls; indels: the same
thresholds and prior on the gVCF's read counts, :func:`biometal.variants.gvcf.write_gvcf`).
The peer's records are all counted (``bcftools call -mv`` writes no FILTER).

Your own cohort (:mod:`biometal.workflow.cohort`): only alleles inside ``cohort.region``
are scored; without a truth VCF the calls are counted per caller, sample, type and zygosity,
not scored (the table's ``note`` says so), and the kernel's throughput is measured on the
first sample's covered positions.

CPU time (user + sys of the whole job, Python imports and start-up included, from the jobs'
own ``cpu`` records): single = the gVCF jobs, joint = the gVCF jobs + the joint job (for a
simulated cohort one job, :func:`gvcf_joint_job`, whose CPU is split into per-sample and
joint records: the first sample's holds the start-up), peer =
the ``bcftools mpileup | bcftools call`` pipeline and its index (bash ``times``). Mapping is
shared and not counted. ``library_cpu_s``: the same without the Python jobs' start-up
(imports, numba's cache loading), the library calls alone.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd  # imported where used: the gVCF + joint job does not need it

AC_BINS = ((1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 8, "5-8"), (9, 10**9, ">8"))
DEPTH_BINS = ((0, 5, "<6"), (6, 9, "6-9"), (10, 13, "10-13"), (14, 10**9, ">13"))


def cpu_seconds() -> float:
    """User + sys CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def write_cpu(out_json: str | os.PathLike, stats: Mapping[str, float] | None = None) -> None:
    """The job's CPU time so far (:func:`cpu_seconds`) and ``stats`` as JSON (atomic)."""
    data = {"cpu_s": cpu_seconds(), **(stats or {})}  # stats may set cpu_s
    with atomic_path(out_json) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=1) + "\n")


def gvcf_joint_job(
    bams: Sequence[str | os.PathLike],
    samples: Sequence[str],
    reference: str | os.PathLike,
    gvcfs: Sequence[str | os.PathLike],
    cpu_gvcf: Sequence[str | os.PathLike] | None,
    joint_vcf: str | os.PathLike,
    cpu_joint: str | os.PathLike | None,
    **options,
) -> None:
    """Every sample's gVCF (:func:`biometal.variants.gvcf.write_gvcf`) then the joint VCF
    (:func:`biometal.variants.joint.joint_genotype`) in one process: Python and numba
    start-up paid once; each gVCF's records are handed to the joint step as written (its
    ``evidence``), not parsed again from the file. Each output's CPU JSON holds the CPU
    spent since the previous one (the first sample's includes the start-up), so their sum
    is the job's CPU time.
    ``cpu_gvcf`` / ``cpu_joint`` None: no CPU JSON. ``options``: ``pileup``, ``calling``,
    ``gvcf``, ``backend`` (as write_gvcf takes them). The ``biometal joint`` command and the
    ``cohort_gvcf_joint`` rule run it."""
    import gc

    from biometal.io.bam import check_bam
    from biometal.variants.gvcf import write_gvcf
    from biometal.variants.joint import joint_genotype

    cpu_files = [None] * len(bams) if cpu_gvcf is None else list(cpu_gvcf)
    n = {len(bams), len(samples), len(gvcfs), len(cpu_files)}
    if len(n) != 1:
        raise BiometalError(f"gvcf_joint_job: {len(bams)} BAMs for {len(samples)} samples")
    twice = sorted({s for s in samples if list(samples).count(s) > 1})
    if twice:
        raise BiometalError(
            f"sample {twice[0]!r} is named by more than one BAM: each sample needs its own "
            "name (biometal joint --samples; the BAMs' read-group SM)"
        )
    for bam in bams:  # every input before the first output (one-line errors)
        check_bam(bam, reference)
    mark = 0.0
    evidence: list = []  # each gVCF's records as written: the joint step does not reparse
    written: list[str] = []
    try:
        for bam, sample, out, cpu in zip(bams, samples, gvcfs, cpu_files, strict=True):
            written += [str(out), f"{out}.tbi"]
            stats = write_gvcf(
                bam, reference, out, sample=sample, threads=1, evidence=evidence, **options
            )
            # what is alive now (the evidence kept for the joint step, the library) is kept
            # to the end: out of the collector's sight, not scanned again by each collection
            gc.freeze()
            now = cpu_seconds()
            if cpu is not None:
                written.append(str(cpu))
                write_cpu(cpu, {**stats, "cpu_s": now - mark})
            mark = now
        stats = joint_genotype(evidence, reference, joint_vcf, calling=options.get("calling"))
    except BaseException:  # no partial cohort: the gVCFs written so far go too
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise
    if cpu_joint is not None:
        write_cpu(cpu_joint, {**stats, "cpu_s": cpu_seconds() - mark})


def bcftools_multisample(
    bams: Sequence[str | os.PathLike],
    reference: str | os.PathLike,
    out_vcf: str | os.PathLike,
    *,
    min_mapq: int = 0,
    min_baseq: int = 13,
) -> dict[str, float]:
    """Peer: ``bcftools mpileup -b bams.txt | bcftools call -mv`` on the same BAMs (the
    same MAPQ / base-quality filters as biometal's pileup); bgzipped VCF + ``.tbi``.
    Returns the pipeline's CPU seconds (RUSAGE_CHILDREN) and wall seconds."""
    out_vcf = Path(out_vcf)
    with atomic_path(f"{out_vcf}.tbi") as tmp_tbi, atomic_path(out_vcf) as tmp:
        lst = Path(tmp).with_suffix(".bams.txt")
        lst.write_text("".join(f"{b}\n" for b in bams))
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        cmd = (
            f"bcftools mpileup -f '{reference}' -q {int(min_mapq)} -Q {int(min_baseq)} "
            f"-a AD,DP -b '{lst}' -Ou | bcftools call -mv -Oz -o '{tmp}'"
        )
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        lst.unlink(missing_ok=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise BiometalError(f"bcftools failed on {out_vcf.name}: {last}")
        cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
        idx = subprocess.run(["bcftools", "index", "-t", "-f", "-o", str(tmp_tbi), str(tmp)])
        if idx.returncode != 0:
            raise BiometalError(f"bcftools index failed on {out_vcf.name}")
    return {"peer_cpu_s": cpu, "peer_wall_s": wall}


def _bin(value: int, bins) -> str:
    for lo, hi, name in bins:
        if lo <= value <= hi:
            return name
    return "?"


def _truth_ac(truth: str | os.PathLike) -> dict[tuple, int]:
    from biometal.io.vcf import read_vcf_all

    ch = read_vcf_all(truth, info=("AC",), gt=False)
    ac = ch.info["AC"]
    ac = ac[:, 0] if ac.ndim == 2 else ac
    return {
        (str(c), int(p) - 1, str(r), str(a)): int(n)
        for c, p, r, a, n in zip(ch.chrom, ch.pos, ch.ref, ch.alt, ac, strict=True)
    }


def read_cpu(path: str | os.PathLike) -> float:
    """CPU seconds recorded by a job: a JSON of :func:`write_cpu`, or the output of bash's
    ``times`` (``.times``: the shell's and its children's user and sys, all summed)."""
    text = Path(path).read_text()
    if str(path).endswith(".times"):
        total = 0.0
        for m in re.finditer(r"(\d+)m([\d.]+)s", text):
            total += 60 * int(m.group(1)) + float(m.group(2))
        return total
    return float(json.loads(text)["cpu_s"])


def _cpu(paths: Sequence[str | os.PathLike], key: str = "cpu_s") -> float:
    """Sum of the jobs' CPU seconds; ``key="library_cpu_s"``: of the library calls alone
    (start-up and imports left out; a ``.times`` record counts whole)."""
    total = 0.0
    for p in paths:
        if str(p).endswith(".times"):
            total += read_cpu(p)
        else:
            data = json.loads(Path(p).read_text())
            total += float(data.get(key, data["cpu_s"]))
    return total


def _inside(alleles: dict[str, dict[tuple, str]], interval) -> dict[str, dict[tuple, str]]:
    """The alleles whose (normalised) position lies in ``interval`` (contig, start, end)."""
    if interval is None:
        return alleles
    contig, start, end = interval
    return {
        kind: {
            k: z
            for k, z in d.items()
            if k[0] == contig and k[1] >= start and (end is None or k[1] < end)
        }
        for kind, d in alleles.items()
    }


def _count_calls(reference, samples, callers, cpu, out_eval, out_recall, interval) -> pd.DataFrame:
    """Without a truth: every caller's calls per sample and type (het / hom), CPU; an
    empty recall table. The ``note`` column says they are not scored."""
    import pandas as pd

    from biometal.variants.joint import sample_alleles

    rows = []
    for s in samples:
        for caller, files in callers.items():
            c = sample_alleles(files[s], reference, s, pass_only=caller in ("single", "joint"))
            c = _inside(c, interval)
            for kind in ("SNP", "INDEL"):
                z = list(c[kind].values())
                rows.append(
                    {"caller": caller, "sample": s, "type": kind, "calls": len(z),
                     "het_calls": z.count("het"), "hom_calls": z.count("hom")}
                )  # fmt: skip
    table = pd.DataFrame(rows)
    total = table.groupby(["caller", "type"], sort=False, as_index=False).sum(numeric_only=True)
    total.insert(1, "sample", "all")
    table = pd.concat([table, total], ignore_index=True)
    table["job_cpu_s"] = table["caller"].map({c: _cpu(p) for c, p in cpu.items()}).round(2)
    lib_s = {c: _cpu(paths, "library_cpu_s") for c, paths in cpu.items()}
    table["library_cpu_s"] = table["caller"].map(lib_s).round(2)
    table["note"] = NO_TRUTH
    with atomic_path(out_eval) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    cols = ["caller", "type", "axis", "bin", "n_truth", "n_found", "recall"]
    with atomic_path(out_recall) as tmp:
        pd.DataFrame(columns=cols).to_csv(tmp, sep="\t", index=False)
    return table


NO_TRUTH = "not scored: no truth VCF (cohort.truth)"


def evaluate_cohort(
    truth: str | os.PathLike | None,
    reference: str | os.PathLike,
    samples: Sequence[str],
    gvcfs: Mapping[str, str | os.PathLike],
    joint: str | os.PathLike,
    peers: Mapping[str, str | os.PathLike],
    cpu: Mapping[str, Sequence[str | os.PathLike]],
    out_eval: str | os.PathLike,
    out_recall: str | os.PathLike,
    *,
    interval: tuple[str, int, int | None] | None = None,
) -> pd.DataFrame:
    """Score every caller on every sample (see the module docstring); write the evaluation
    table and the recall-by-AC/depth table (TSV). ``cpu``: caller -> the CPU JSONs of its
    jobs. ``interval`` (contig, 0-based start, end or None): only alleles there count (your
    own cohort's cohort.region). ``truth`` None: the calls are counted per caller, sample,
    type and zygosity, not scored (a ``note`` column says so; the recall table is empty).
    Returns the evaluation table."""
    import pandas as pd

    from biometal.variants.joint import read_evidence, sample_alleles

    callers: dict[str, dict[str, str | os.PathLike]] = {
        "single": dict(gvcfs),
        "joint": {s: joint for s in samples},
        **{p: {s: v for s in samples} for p, v in peers.items()},
    }
    if truth is None:
        return _count_calls(reference, samples, callers, cpu, out_eval, out_recall, interval)
    ac = _truth_ac(truth)
    rows, recall_rows = [], []
    for s in samples:
        t = _inside(sample_alleles(truth, reference, s, pass_only=False), interval)
        ev = read_evidence(gvcfs[s])
        depth = {k: ev.depth(k[0], k[1]) for kind in t for k in t[kind]}
        for caller, files in callers.items():
            c = sample_alleles(files[s], reference, s, pass_only=caller in ("single", "joint"))
            c = _inside(c, interval)
            for kind in ("SNP", "INDEL"):
                truth_k, calls = t[kind], c[kind]
                tp = calls.keys() & truth_k.keys()
                hets = [k for k, z in truth_k.items() if z == "het"]
                rows.append(
                    {
                        "caller": caller, "sample": s, "type": kind, "TP": len(tp),
                        "FP": len(calls) - len(tp), "FN": len(truth_k) - len(tp),
                        "het_truth": len(hets), "het_found": sum(k in calls for k in hets),
                        "gt_match": sum(calls[k] == truth_k[k] for k in tp),
                    }
                )  # fmt: skip
                for k in truth_k:
                    recall_rows.append(
                        (caller, s, kind, _bin(ac.get(k, 0), AC_BINS) if k in ac else "?",
                         _bin(depth[k], DEPTH_BINS), k in calls, truth_k[k])
                    )  # fmt: skip
    table = pd.DataFrame(rows)
    total = table.groupby(["caller", "type"], sort=False, as_index=False).sum(numeric_only=True)
    total.insert(1, "sample", "all")
    table = pd.concat([table, total], ignore_index=True)
    tp, fp, fn = table["TP"], table["FP"], table["FN"]
    table["precision"] = (tp / (tp + fp)).where(tp + fp > 0, 0.0)
    table["recall"] = (tp / (tp + fn)).where(tp + fn > 0, 0.0)
    pr = table["precision"] + table["recall"]
    table["F1"] = (2 * table["precision"] * table["recall"] / pr).where(pr > 0, 0.0)
    table["het_recall"] = (table["het_found"] / table["het_truth"]).where(
        table["het_truth"] > 0, 0.0
    )
    table["gt_concordance"] = (table["gt_match"] / tp).where(tp > 0, 0.0)
    cpu_s = {c: _cpu(paths) for c, paths in cpu.items()}
    table["job_cpu_s"] = table["caller"].map(cpu_s)
    lib_s = {c: _cpu(paths, "library_cpu_s") for c, paths in cpu.items()}
    table["library_cpu_s"] = table["caller"].map(lib_s).round(2)
    for col in ("precision", "recall", "F1", "het_recall", "gt_concordance"):
        table[col] = table[col].round(4)
    table["job_cpu_s"] = table["job_cpu_s"].round(2)
    with atomic_path(out_eval) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    rec = pd.DataFrame(
        recall_rows, columns=["caller", "sample", "type", "cohort_ac", "depth", "found", "zyg"]
    )
    parts = []
    for axis in ("cohort_ac", "depth"):
        g = rec.groupby(["caller", "type", axis], sort=False)["found"]
        part = g.agg(n_truth="size", n_found="sum").reset_index()
        part = part.rename(columns={axis: "bin"})
        part.insert(2, "axis", axis)
        parts.append(part)
    rt = pd.concat(parts, ignore_index=True)
    rt["recall"] = (rt["n_found"] / rt["n_truth"]).round(4)
    with atomic_path(out_recall) as tmp:
        rt.to_csv(tmp, sep="\t", index=False)
    return table


# ----------------------------------------------------------------------------- throughput


def site_stats_numpy(counts: np.ndarray, ref: np.ndarray, theta: float, rho: float) -> dict:
    """The site statistics of every row through biometal.variants.sitestats (numpy/scipy,
    call_snps' composition): the peer of the site_stats kernel."""
    from biometal.variants import sitestats as S

    c = counts.astype(np.int64)
    acgt = c[:, 0:4] + c[:, 5:9]
    r = np.where(ref < 4, ref, 0).astype(np.int64)
    k = np.arange(len(c))
    masked = acgt.copy()
    masked[k, r] = -1
    alt = masked.argmax(axis=1)
    n_ref, n_alt = acgt[k, r], acgt[k, alt]
    depth = acgt.sum(axis=1)
    qs = c[:, 18:22]
    e_ref = S.mean_error(qs[k, r], n_ref)
    e_alt = S.mean_error(qs[k, alt], n_alt)
    e_site = S.mean_error(qs.sum(axis=1), depth)
    gl = S.genotype_log10_likelihoods(n_ref, n_alt, e_ref, e_alt)
    gt, gq, qual = S.call_genotypes(S.genotype_posteriors(gl, theta))
    pl = S.phred_likelihoods(gl)
    binq = S.pvalue_to_phred(S.binomial_sf(n_alt, depth, e_site / 3))
    bbq = S.pvalue_to_phred(S.betabinomial_sf(n_alt, depth, e_site / 3, rho))
    return {"gt": gt, "gq": gq, "qual": qual, "pl": pl, "binq": binq, "bbq": bbq}


def site_stats_throughput(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    out_tsv: str | os.PathLike,
    *,
    theta: float = 0.001,
    rho: float = 0.02,
    repeats: int = 3,
    covered: bool = False,
    interval: tuple[str, int, int | None] | None = None,
    max_positions: int = 5_000_000,
) -> pd.DataFrame:
    """positions/s of the site_stats kernel (numba, 1 and 2 threads) vs the numpy path on
    every position of ``bam``'s pileup; CPU time (``time.process_time``), paths interleaved,
    median (min-max) over ``repeats``. Metal: not measured unless this runs on an Apple
    GPU (then a ``metal`` row is added, wall time).

    ``covered`` (your own cohort, whose reference may be a whole genome): the positions of
    the pileup's blocks (reads there) inside ``interval``, the first ``max_positions`` of
    them, instead of every position of every contig."""
    import pandas as pd
    import pysam

    from biometal.kernels import metal_available
    from biometal.kernels.site_stats import site_stats
    from biometal.pileup import PileupParams, iter_pileup, pileup_arrays

    fa = pysam.FastaFile(str(reference))
    lut = np.full(256, 4, np.uint8)
    for i, b in enumerate(b"ACGT"):
        lut[b] = i
    tables, codes = [], []
    if covered:
        left = max_positions
        for block in iter_pileup(bam, PileupParams(), reference=reference):
            lo, hi = block.start, block.start + len(block.counts)
            if interval is not None:
                contig, start, end = interval
                if block.contig != contig:
                    continue
                lo, hi = max(lo, start), min(hi, end if end is not None else hi)
            hi = min(hi, lo + left)
            if hi <= lo:
                continue
            tables.append(block.counts[lo - block.start : hi - block.start])
            seq = fa.fetch(block.contig, lo, hi).upper().encode()
            codes.append(lut[np.frombuffer(seq, np.uint8)])
            left -= hi - lo
            if left <= 0:
                break
        if not tables:
            raise BiometalError(f"{bam}: no reads to pile up for the throughput measurement")
    else:
        for contig in fa.references:
            counts, _ = pileup_arrays(bam, contig, PileupParams(), reference=reference)
            tables.append(counts)
            codes.append(lut[np.frombuffer(fa.fetch(contig).upper().encode(), np.uint8)])
    counts = np.ascontiguousarray(np.concatenate(tables), dtype=np.uint32)
    ref = np.concatenate(codes)
    n = len(ref)
    paths = {
        "numba_1t": ("cpu", 1, lambda: site_stats(counts, ref, theta=theta, rho=rho,
                                                  backend="cpu", threads=1)),
        "numba_2t": ("cpu", 2, lambda: site_stats(counts, ref, theta=theta, rho=rho,
                                                  backend="cpu", threads=2)),
        "numpy": ("numpy", 1, lambda: site_stats_numpy(counts, ref, theta, rho)),
    }  # fmt: skip
    if metal_available():
        paths["metal"] = ("metal", 0, lambda: site_stats(counts, ref, backend="metal"))
    for _, _, fn in paths.values():  # warm-up: compiled code loaded, scipy imported
        fn()
    cpu: dict[str, list[float]] = {k: [] for k in paths}
    wall: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    for rep in range(repeats):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            c0, w0 = time.process_time(), time.perf_counter()
            paths[name][2]()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    rows = []
    for name, (backend, threads, _) in paths.items():
        rate = [n / max(t, 1e-9) for t in (wall if backend == "metal" else cpu)[name]]
        ratio = [b / max(a, 1e-9) for a, b in zip(cpu[name], cpu["numpy"], strict=True)]
        rows.append(
            {
                "path": name, "backend": backend, "threads": threads, "positions": n,
                "repeats": repeats, "cpu_s_median": statistics.median(cpu[name]),
                "wall_s_median": statistics.median(wall[name]),
                "positions_per_s_median": statistics.median(rate),
                "positions_per_s_min": min(rate), "positions_per_s_max": max(rate),
                "ratio_vs_numpy_median": statistics.median(ratio),
                "ratio_vs_numpy_min": min(ratio), "ratio_vs_numpy_max": max(ratio),
            }
        )  # fmt: skip
    if not metal_available():
        rows.append(
            {"path": "metal", "backend": "metal", "threads": 0, "positions": n,
             "repeats": 0, "note": "not measured: no Apple GPU on this machine"}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    with atomic_path(out_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table


# ----------------------------------------------------------------------------- figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cohort_figures(
    evaluation: str | os.PathLike,
    recall: str | os.PathLike,
    throughput: str | os.PathLike,
    recall_png: str | os.PathLike,
    throughput_png: str | os.PathLike,
) -> None:
    """Recall by cohort allele count and by depth (SNPs, every caller) with F1 / het recall
    / CPU per caller; the kernel's positions per CPU-second (numba 1 / 2 threads, numpy)."""
    import pandas as pd

    plt = _plt()
    ev = pd.read_csv(evaluation, sep="\t")
    rt = pd.read_csv(recall, sep="\t", keep_default_na=False)
    callers = list(dict.fromkeys(ev["caller"]))
    colours = dict(zip(callers, ("#4c72b0", "#dd8452", "#55a868", "#c44e52"), strict=False))
    if "F1" not in ev.columns:  # no truth: the calls counted, not scored
        _calls_figure(plt, ev, callers, colours, recall_png)
    else:
        _recall_figure(plt, ev, rt, callers, colours, recall_png)
    _throughput_figure(plt, throughput, throughput_png)


def _calls_figure(plt, ev, callers, colours, png) -> None:
    tot = ev[ev["sample"] == "all"]
    fig, ax = plt.subplots(figsize=(8, 4.4), constrained_layout=True)
    labels = [f"{c}\n{k}" for c in callers for k in ("SNP", "INDEL")]
    x = np.arange(len(labels))
    for j, col in enumerate(("het_calls", "hom_calls")):
        v = [
            int(tot[(tot["caller"] == c) & (tot["type"] == k)][col].iloc[0])
            for c in callers
            for k in ("SNP", "INDEL")
        ]
        ax.bar(x + (j - 0.5) * 0.4, v, 0.4, label=col.replace("_", " "),
               color=("#4c72b0", "#dd8452")[j])  # fmt: skip
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("calls (all samples)")
    cpu = tot.drop_duplicates("caller").set_index("caller")["job_cpu_s"]
    ax.set_title(
        "Not scored: no truth VCF (cohort.truth). Whole-job CPU s: "
        + ", ".join(f"{c} {cpu[c]:.1f}" for c in callers),
        fontsize=8,
    )
    ax.legend(fontsize=8)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _recall_figure(plt, ev, rt, callers, colours, recall_png) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    for ax, axis, bins in (
        (axes[0], "cohort_ac", [b[2] for b in AC_BINS]),
        (axes[1], "depth", [b[2] for b in DEPTH_BINS]),
    ):
        sub = rt[(rt["axis"] == axis) & (rt["type"] == "SNP")]
        width = 0.8 / len(callers)
        x = np.arange(len(bins))
        for k, c in enumerate(callers):
            s = sub[sub["caller"] == c].set_index("bin").reindex(bins)
            ax.bar(x + (k - (len(callers) - 1) / 2) * width, s["recall"].to_numpy(float), width,
                   label=c, color=colours[c])  # fmt: skip
            for xi, n in zip(x, s["n_truth"].to_numpy(float), strict=True):
                if k == 0 and np.isfinite(n):
                    ax.annotate(f"n={int(n)}", (xi, 0.02), ha="center", fontsize=7)
        ax.set_xticks(x, bins)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("SNP recall (all samples)")
        ax.set_xlabel(
            "ALT alleles in the cohort (truth AC)" if axis == "cohort_ac" else "sample depth"
        )
        ax.legend(fontsize=8)
    tot = ev[ev["sample"] == "all"]
    labels, vals = [], []
    for c in callers:
        for kind in ("SNP", "INDEL"):
            r = tot[(tot["caller"] == c) & (tot["type"] == kind)].iloc[0]
            labels.append(f"{c}\n{kind}")
            vals.append((r["F1"], r["het_recall"]))
    v = np.array(vals)
    x = np.arange(len(labels))
    axes[2].bar(x - 0.2, v[:, 0], 0.4, label="F1", color="#4c72b0")
    axes[2].bar(x + 0.2, v[:, 1], 0.4, label="het recall", color="#dd8452")
    axes[2].set_xticks(x, labels, fontsize=7)
    axes[2].set_ylim(min(0.5, float(v.min()) - 0.05), 1.02)
    cpu = tot.drop_duplicates("caller").set_index("caller")["job_cpu_s"]
    axes[2].set_title(
        "whole-job CPU s: " + ", ".join(f"{c} {cpu[c]:.1f}" for c in callers), fontsize=8
    )
    axes[2].legend(fontsize=8)
    with atomic_path(recall_png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _throughput_figure(plt, throughput, throughput_png) -> None:
    import pandas as pd

    tp = pd.read_csv(throughput, sep="\t")
    tp = tp[tp["repeats"] > 0]
    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    y = tp["positions_per_s_median"].to_numpy(float) / 1e6
    lo = y - tp["positions_per_s_min"].to_numpy(float) / 1e6
    hi = tp["positions_per_s_max"].to_numpy(float) / 1e6 - y
    ax.bar(tp["path"], y, yerr=[lo, hi], color="#4c72b0", capsize=4)
    for i, (yy, r) in enumerate(zip(y, tp["ratio_vs_numpy_median"], strict=True)):
        ax.annotate(f"{yy:.2f} M/s\nx{r:.1f}", (i, yy), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("positions per CPU-second (millions)")
    ax.set_title(
        f"site_stats at every position ({int(tp['positions'].iloc[0]):,} positions); "
        "Metal not measured here",
        fontsize=9,
    )
    with atomic_path(throughput_png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
