"""The quant table format shared by biometal and the peers' parsers (no numba import here).

``transcript_id length effective_length est_counts tpm``: one row per transcript, TSV with a
header; lengths in bp, ``est_counts`` expected fragments, ``tpm`` transcripts per million.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from biometal.errors import BiometalError

if TYPE_CHECKING:
    import pandas as pd

QUANT_COLUMNS = ["transcript_id", "length", "effective_length", "est_counts", "tpm"]


def read_quant(path: str | os.PathLike) -> pd.DataFrame:
    """A quant table as a DataFrame indexed by ``transcript_id``."""
    import pandas as pd  # lazily: the quantifier itself does not need pandas

    path = Path(path)
    if not path.is_file():
        raise BiometalError(f"{path}: quant table not found")
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in QUANT_COLUMNS if c not in table.columns]
    if missing:
        raise BiometalError(f"{path}: not a quant table (missing column {missing[0]!r})")
    return table.set_index("transcript_id")
