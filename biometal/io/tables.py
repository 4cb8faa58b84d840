"""Small helpers for the workflow's TSV tables."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path


def merge_tables(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate TSV tables with the same columns into ``out`` (atomically)."""
    table = pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table


def read_benchmark(path: str | os.PathLike) -> dict:
    """``{wall_s, cpu_s, max_rss_mb}`` of a Snakemake benchmark file (first repeat)."""
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError) as exc:
        raise BiometalError(f"{path}: cannot read benchmark file ({exc})") from None
    if table.empty or "s" not in table.columns:
        raise BiometalError(f"{path}: not a Snakemake benchmark file")
    row = table.iloc[0]

    def num(col: str) -> float:
        v = pd.to_numeric(row.get(col, float("nan")), errors="coerce")
        return float(v)

    return {"wall_s": num("s"), "cpu_s": num("cpu_time"), "max_rss_mb": num("max_rss")}
