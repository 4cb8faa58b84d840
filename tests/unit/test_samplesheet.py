"""Sample sheet validation: every bad row is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from biometal.errors import InputFormatError
from biometal.io.samplesheet import read_sample_sheet

KW = dict(
    required=("sample", "condition", "fq1"),
    optional=("fq2",),
    file_columns=("fq1", "fq2"),
    choices={"condition": {"A", "B"}},
)


def _sheet(tmp_path: Path, text: str) -> Path:
    for name in ("a_1.fq.gz", "a_2.fq.gz", "b_1.fq.gz"):
        (tmp_path / name).write_bytes(b"")
    p = tmp_path / "samples.tsv"
    p.write_text(text)
    return p


def test_valid_sheet_resolves_relative_paths(tmp_path: Path) -> None:
    p = _sheet(
        tmp_path,
        "# my samples\nsample\tcondition\tfq1\tfq2\n\nS1\tA\ta_1.fq.gz\ta_2.fq.gz\n"
        "S2\tB\tb_1.fq.gz\t\n",
    )
    rows = read_sample_sheet(p, **KW)
    assert [r["sample"] for r in rows] == ["S1", "S2"]
    assert rows[0]["fq1"] == str(tmp_path / "a_1.fq.gz")
    assert rows[1]["fq2"] == ""
    assert rows[1]["_line"] == "5"


def test_urls_pass_through(tmp_path: Path) -> None:
    p = _sheet(tmp_path, "sample\tcondition\tfq1\nS1\tA\thttps://example.org/x.fq.gz\n")
    assert read_sample_sheet(p, **KW)[0]["fq1"] == "https://example.org/x.fq.gz"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "sample\tcondition\tfq1\nS1\tA\ta_1.fq.gz\nS1\tB\tb_1.fq.gz\n",
            3,
            "duplicate sample 'S1'",
        ),
        ("sample\tcondition\tfq1\nS1\tA\tmissing.fq.gz\n", 2, "fq1 file 'missing.fq.gz' not found"),
        ("sample\tcondition\tfq1\nS1\tC\ta_1.fq.gz\n", 2, "column 'condition' has 'C'"),
        ("sample\tcondition\tfq1\nS1\tA\n", 2, "expected 3 tab-separated fields"),
        ("sample\tfq1\nS1\ta_1.fq.gz\n", 1, "missing required column 'condition'"),
        ("sample\tcondtion\tfq1\nS1\tA\ta_1.fq.gz\n", 1, "unknown column 'condtion'"),
        ("sample\tcondition\tfq1\nbad name\tA\ta_1.fq.gz\n", 2, "invalid sample name"),
        ("sample\tcondition\tfq1\nS1\t\ta_1.fq.gz\n", 2, "empty value in required column"),
        ("sample\tcondition\tfq1\n", 1, "no samples"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    p = _sheet(tmp_path, text)
    with pytest.raises(InputFormatError) as info:
        read_sample_sheet(p, **KW)
    msg = str(info.value)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert fragment in msg
    assert "\n" not in msg


def test_min_distinct(tmp_path: Path) -> None:
    p = _sheet(tmp_path, "sample\tcondition\tfq1\nS1\tA\ta_1.fq.gz\nS2\tA\tb_1.fq.gz\n")
    with pytest.raises(InputFormatError, match="at least 2 distinct"):
        read_sample_sheet(p, **KW, min_distinct={"condition": 2})


def test_missing_sheet(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="sample sheet not found"):
        read_sample_sheet(tmp_path / "nope.tsv")
