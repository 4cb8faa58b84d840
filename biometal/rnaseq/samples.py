"""The RNA-seq sample sheet: ``sample condition fq1 [fq2]``, validated row by row.

Tab-separated with a header (see :func:`biometal.io.samplesheet.read_sample_sheet` for the
general rules: relative paths resolve against the sheet's directory, URLs pass through). On
top of those checks a condition must be a plain label (letters, digits, ``_ . -``; it names
groups in tables and figures) and the sheet must hold at least two conditions (the case study
compares them). Every error names the sheet and line.
"""

from __future__ import annotations

import os
import re

from biometal.errors import InputFormatError
from biometal.io.samplesheet import read_sample_sheet

CONDITION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
COLUMNS = ("sample", "condition", "fq1", "fq2")


def read_rnaseq_sheet(
    path: str | os.PathLike, *, check_files: bool = True, min_conditions: int = 2
) -> list[dict[str, str]]:
    """Rows (``sample``, ``condition``, ``fq1``, ``fq2`` ('' for single-end), ``_line``)."""
    rows = read_sample_sheet(
        path,
        required=("sample", "condition", "fq1"),
        optional=("fq2",),
        file_columns=("fq1", "fq2"),
        check_files=check_files,
    )
    for row in rows:
        cond = row["condition"]
        if not CONDITION.match(cond):
            raise InputFormatError(
                str(path),
                int(row["_line"]),
                f"invalid condition '{cond}' for sample '{row['sample']}' (letters, digits, "
                "'_', '.', '+', '-'; must start with a letter or digit)",
            )
        if row["fq2"] and row["fq2"] == row["fq1"]:
            raise InputFormatError(
                str(path), int(row["_line"]), f"fq1 and fq2 are the same file '{row['fq1']}'"
            )
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    if len(conditions) < min_conditions:
        raise InputFormatError(
            str(path),
            None,
            f"column 'condition' needs at least {min_conditions} distinct conditions to "
            f"compare, found {len(conditions)} ({', '.join(conditions)})",
        )
    return rows


def sample_conditions(path: str | os.PathLike) -> dict[str, str]:
    """``{sample: condition}`` in sheet order (files not checked: for tables and figures)."""
    return {r["sample"]: r["condition"] for r in read_rnaseq_sheet(path, check_files=False)}
