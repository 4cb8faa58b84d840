"""Sample sheets of the variant-calling case study (config ``variants.samples``).

Columns (tab-separated, header line): ``sample``, then either ``fq1`` (and optionally
``fq2``) - FASTQ to map with mappy - or ``bam`` - a coordinate-sorted, indexed BAM already
aligned to ``variants.reference``. Relative paths are resolved against the sheet's
directory. Problems raise :class:`~biometal.errors.InputFormatError` naming the sheet and
line (see :func:`biometal.io.samplesheet.read_sample_sheet` for the generic checks).
"""

from __future__ import annotations

import os

from biometal.errors import InputFormatError
from biometal.io.samplesheet import read_sample_sheet


def read_variant_sheet(path: str | os.PathLike) -> list[dict[str, str]]:
    """Validated rows: ``sample``, ``fq1``, ``fq2``, ``bam`` (absent ones are "")."""
    rows = read_sample_sheet(
        path,
        required=("sample",),
        optional=("fq1", "fq2", "bam"),
        file_columns=("fq1", "fq2", "bam"),
    )
    for row in rows:
        line = int(row["_line"])
        if row["bam"] and (row["fq1"] or row["fq2"]):
            raise InputFormatError(
                str(path), line, f"sample '{row['sample']}' has both FASTQ and bam; give one"
            )
        if not row["bam"] and not row["fq1"]:
            raise InputFormatError(
                str(path), line, f"sample '{row['sample']}' needs fq1 (and fq2) or bam"
            )
        if row["fq2"] and not row["fq1"]:
            raise InputFormatError(str(path), line, f"sample '{row['sample']}' has fq2 but no fq1")
        if row["bam"].startswith(("http://", "https://", "-")):
            raise InputFormatError(
                str(path), line, "bam must be a local file (with its .bai index next to it)"
            )
    return rows
