"""The quant table format shared by biometal and the peers' parsers (no numba import here).

``transcript_id length effective_length est_counts tpm``: one row per transcript, TSV with a
header; lengths in bp, ``est_counts`` expected fragments, ``tpm`` transcripts per million.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from biometal.errors import BiometalError

if TYPE_CHECKING:
    import pandas as pd

QUANT_COLUMNS = ["transcript_id", "length", "effective_length", "est_counts", "tpm"]

_GENCODE_TX = re.compile(r"ENS[A-Z]*T\d+(\.\d+)?(_PAR_Y)?")
_GENCODE_GENE = re.compile(r"ENS[A-Z]*G\d+(\.\d+)?(_PAR_Y)?")


def transcript_id(name: str) -> str:
    """The transcript ID of a FASTA record name (the header up to the first whitespace).

    A GENCODE header (``ENST00000456328.2|ENSG00000290825.1|-|-|DDX11L2-202|DDX11L2|1657|
    lncRNA|``: transcript ID, gene ID, then names, length, biotype, ``|``-separated) gives
    its first field, the versioned transcript ID its GTF's ``transcript_id`` has (salmon's
    ``--gencode``). Any other name is the ID as it is (kallisto, salmon without the flag),
    ``|`` and all.
    """
    if "|" not in name:
        return name
    fields = name.split("|")
    if _GENCODE_TX.fullmatch(fields[0]) and _GENCODE_GENE.fullmatch(fields[1]):
        return fields[0]
    return name


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
