"""Small helpers for the workflow's TSV tables."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from biometal.io.atomic import atomic_path


def merge_tables(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate TSV tables with the same columns into ``out`` (atomically)."""
    table = pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table
