"""Model inputs of the variant filter: one (C, W) window per candidate site.

Each window covers reference positions ``pos - W // 2 .. pos - W // 2 + W`` (0-based, the
candidate's anchor base at column ``W // 2``); positions past a contig end are N with zero
coverage. Channels (:data:`biometal.ml.varfilter.model.CHANNELS`), from the multi-modal
region loader's arrays of that window (sequence one-hot, coverage, base counts, base-quality
histogram, the candidate VCF's variant channels) and the site's own record:

- reference one-hot A C G T (N: all zero);
- depth: coverage / ``depth_scale`` (the sample's median depth at the candidate sites);
- base fractions A C G T N deletion: counts / coverage (0 where coverage is 0);
- base-quality histogram (bins 0-10, 10-20, 20-30, 30-40, >= 40) / coverage;
- candidate calls: is-SNP, is-indel-start, ALT dosage of the caller's genotype;
- the site's QUAL / 100, ALT fraction, depth / ``depth_scale`` and is-indel, each the same
  over the window.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from biometal.ml.regions import iter_region_arrays
from biometal.ml.varfilter.model import N_CHANNELS, WIDTH

QUALITY_BINS = (0, 10, 20, 30, 40)


def site_regions(calls: pd.DataFrame, width: int = WIDTH) -> pd.DataFrame:
    """Windows (chrom, start, end; 0-based half-open) of the calls, in the calls' order."""
    start = calls["pos"].to_numpy(np.int64) - width // 2
    return pd.DataFrame({"chrom": calls["chrom"].to_numpy(), "start": start, "end": start + width})


def _window(arrays: dict, site: tuple[float, float, float, float], scale: float) -> np.ndarray:
    """(C, W) float32 window of one region's loader arrays and the site's scalars."""
    seq = arrays["sequence"]
    cov = arrays["coverage"]
    w = cov.shape[0]
    x = np.zeros((N_CHANNELS, w), np.float32)
    x[0:4] = seq
    x[4] = cov / scale
    inv = np.where(cov > 0, 1.0 / np.maximum(cov, 1e-9), 0.0).astype(np.float32)
    x[5:11] = arrays["bases"] * inv
    x[11:16] = arrays["base_quality"] * inv
    x[16:19] = arrays["variants"]
    x[19:23] = np.asarray(site, np.float32)[:, None]
    return x


def site_windows(
    reference: str | os.PathLike,
    bam: str | os.PathLike,
    candidates_vcf: str | os.PathLike,
    calls: pd.DataFrame,
    width: int = WIDTH,
    min_mapq: int = 0,
    min_baseq: int = 0,
) -> np.ndarray:
    """float32 (n, C, W) windows of the calls (module doc), in the calls' order.

    ``calls``: :func:`biometal.ml.varfilter.data.read_calls` of ``candidates_vcf``, sorted by
    contig and position; the windows are streamed from the BAM, reference and VCF by the
    multi-modal region loader (:func:`biometal.ml.regions.iter_region_arrays`, with the
    read filters ``min_mapq`` and base filter ``min_baseq``).
    """
    n = len(calls)
    out = np.zeros((n, N_CHANNELS, width), np.float32)
    if not n:
        return out
    dp = calls["dp"].to_numpy(np.float64)
    scale = float(np.median(dp[dp > 0])) if (dp > 0).any() else 1.0
    qual = np.nan_to_num(calls["qual"].to_numpy(np.float64), nan=0.0)
    af = np.nan_to_num(calls["af"].to_numpy(np.float64), nan=0.0)
    site = np.stack(
        [
            np.minimum(qual, 1000.0) / 100.0,
            af,
            dp / scale,
            (calls["type"].to_numpy() == "INDEL").astype(np.float64),
        ],
        axis=1,
    )
    regions = site_regions(calls, width)
    for arrays in iter_region_arrays(
        reference,
        regions,
        bam=bam,
        vcf=candidates_vcf,
        encoding="onehot",
        quality_bins=QUALITY_BINS,
        min_mapq=min_mapq,
        min_baseq=min_baseq,
    ):
        i = int(arrays["index"])
        out[i] = _window(arrays, tuple(site[i]), scale)
    return out
