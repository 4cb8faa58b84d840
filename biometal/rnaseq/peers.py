"""Peers' outputs in biometal's quant table format, and what they processed.

* kallisto ``abundance.tsv`` (``target_id length eff_length est_counts tpm``) and its
  ``run_info.json`` (``n_processed``);
* salmon ``quant.sf`` (``Name Length EffectiveLength TPM NumReads``) and
  ``aux_info/meta_info.json`` (``num_processed``);
* biometal's own table and its ``{sample}.json`` (``reads``).

Every reader returns :data:`biometal.rnaseq.tables.QUANT_COLUMNS` indexed by transcript_id;
a peer's GENCODE header (kallisto keeps the whole ``|``-separated header) is cut to the
transcript ID as biometal's index does (:func:`biometal.rnaseq.tables.transcript_id`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from biometal.errors import BiometalError
from biometal.rnaseq.tables import QUANT_COLUMNS, read_quant, transcript_id

METHODS = ("biometal", "kallisto", "salmon")
#: the peers' columns, renamed to ours.
_RENAME = {
    "kallisto": {
        "target_id": "transcript_id",
        "length": "length",
        "eff_length": "effective_length",
        "est_counts": "est_counts",
        "tpm": "tpm",
    },
    "salmon": {
        "Name": "transcript_id",
        "Length": "length",
        "EffectiveLength": "effective_length",
        "NumReads": "est_counts",
        "TPM": "tpm",
    },
}


def read_method_quant(method: str, path: str | os.PathLike) -> pd.DataFrame:
    """The quant table of ``method`` (biometal, kallisto or salmon) in biometal's format."""
    if method == "biometal":
        return read_quant(path)
    if method not in _RENAME:
        raise BiometalError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    path = Path(path)
    if not path.is_file():
        raise BiometalError(f"{path}: {method} output not found")
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in _RENAME[method] if c not in table.columns]
    if missing:
        raise BiometalError(f"{path}: not a {method} table (missing column {missing[0]!r})")
    table = table.rename(columns=_RENAME[method])[QUANT_COLUMNS]
    table["transcript_id"] = table["transcript_id"].astype(str).map(transcript_id)
    return table.set_index("transcript_id")


def reads_processed(method: str, path: str | os.PathLike) -> int:
    """Reads (fragments) ``method`` processed, from the run information next to ``path``."""
    path = Path(path)
    if method == "biometal":
        info, key = path.with_suffix(".json"), "reads"
    elif method == "kallisto":
        info, key = path.parent / "run_info.json", "n_processed"
    elif method == "salmon":
        info, key = path.parent / "aux_info" / "meta_info.json", "num_processed"
    else:
        raise BiometalError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    try:
        return int(json.loads(info.read_text())[key])
    except (OSError, ValueError, KeyError) as exc:
        raise BiometalError(f"{info}: cannot read '{key}' ({exc})") from None
