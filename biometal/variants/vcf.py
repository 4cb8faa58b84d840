"""VCF 4.3 output: full header, bgzip (BGZF) and tabix index, atomic.

:class:`VcfWriter` writes records given as :class:`VcfRecord`; the header declares every
contig (with length), INFO, FILTER and FORMAT field used. The ``.vcf.gz`` and its ``.tbi``
appear together and only on success: on any error (a bad BAM discovered half way, an
interrupted job) neither is left behind, nor a partial file.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from biometal.io.atomic import AtomicWriter
from biometal.io.bgzf import BgzfWriter
from biometal.io.tabix import VcfTabix


def text_table(strings: list[str]):
    """ASCII ``strings`` concatenated (uint8) and their int64[k + 1] offsets: a table of
    texts formatted once in Python that the compiled line writers copy from
    (:mod:`biometal.variants._kernels`)."""
    import numpy as np

    off = np.zeros(len(strings) + 1, np.int64)
    np.cumsum([len(x) for x in strings], out=off[1:])
    return np.frombuffer("".join(strings).encode("ascii"), np.uint8), off


def distinct_floats(x):
    """The distinct values of a float32 or float64 array by their bits (``-0.0`` apart from
    ``0.0``), in order of first occurrence, and each element's index into them (a hash
    table, no sort: :func:`biometal.variants._kernels.group_rows`): each value is then
    formatted once."""
    import numpy as np

    from biometal.variants._kernels import group_rows

    x = np.ascontiguousarray(x)
    bits = x.view(np.uint32 if x.itemsize == 4 else np.int64).astype(np.int64)
    first, inv = group_rows(bits.reshape(-1, 1))
    return x[first], inv


INFO_FIELDS = (
    (
        "DP",
        "1",
        "Integer",
        "Reads at the site after filters (SNP: A/C/G/T bases; indel: reads over the anchor base)",
    ),
    ("AF", "A", "Float", "Fraction of those reads that show the ALT allele"),
    ("TYPE", "1", "String", "Variant type: SNP, INS or DEL"),
    ("MQ", "1", "Float", "Mean mapping quality of the reads at the site"),
    ("SB", "4", "Integer", "Strand counts: REF forward, REF reverse, ALT forward, ALT reverse"),
    (
        "BINOMQ",
        "1",
        "Float",
        "Phred-scaled binomial P(ALT reads >= observed | sequencing error at "
        "the base qualities' rate)",
    ),
    (
        "BBQ",
        "1",
        "Float",
        "Phred-scaled beta-binomial P(ALT reads >= observed | overdispersed sequencing error)",
    ),
)
FORMAT_FIELDS = (
    ("GT", "1", "String", "Genotype"),
    ("GQ", "1", "Integer", "Genotype quality: -10 log10 P(genotype is wrong), capped at 99"),
    ("DP", "1", "Integer", "Read depth (as INFO/DP)"),
    ("AD", "R", "Integer", "Reads showing the REF and the ALT allele"),
    ("PL", "G", "Integer", "Phred-scaled genotype likelihoods of 0/0, 0/1, 1/1"),
)


@dataclass
class VcfRecord:
    """One biallelic call (``pos`` 0-based)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    qual: float
    filters: tuple[str, ...]
    info: dict[str, object]
    gt: str
    gq: int
    dp: int
    ad: tuple[int, int]
    pl: tuple[int, int, int]

    def line(self) -> str:
        info = ";".join(f"{k}={_fmt(v)}" for k, v in self.info.items() if v is not None)
        flt = ";".join(self.filters) if self.filters else "PASS"
        fmt = f"{self.gt}:{self.gq}:{self.dp}:{self.ad[0]},{self.ad[1]}:" + ",".join(
            map(str, self.pl)
        )
        return (
            f"{self.chrom}\t{self.pos + 1}\t.\t{self.ref}\t{self.alt}\t{self.qual:.2f}\t{flt}\t"
            f"{info}\tGT:GQ:DP:AD:PL\t{fmt}\n"
        )


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, tuple | list):
        return ",".join(_fmt(x) for x in v)
    return str(v)


def header_lines(
    sample: str,
    contigs: list[tuple[str, int]],
    reference: str | os.PathLike,
    filters: list[tuple[str, str]],
    meta: list[str] | None = None,
) -> list[str]:
    """The VCF 4.3 header lines (without newlines), ``#CHROM`` line last."""
    lines = [
        "##fileformat=VCFv4.3",
        "##source=biometal",
        f"##reference=file://{Path(reference).resolve()}",
    ]
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contigs]
    lines += [
        f'##INFO=<ID={i},Number={n},Type={t},Description="{d}">' for i, n, t, d in INFO_FIELDS
    ]
    lines.append('##FILTER=<ID=PASS,Description="All filters passed">')
    lines += [f'##FILTER=<ID={i},Description="{d}">' for i, d in filters]
    lines += [
        f'##FORMAT=<ID={i},Number={n},Type={t},Description="{d}">' for i, n, t, d in FORMAT_FIELDS
    ]
    lines += [f"##{m}" for m in meta or []]
    lines.append(
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample])
    )
    return lines


class VcfWriter(AtomicWriter):
    """bgzipped VCF + tabix index, atomic. Records must come sorted (contig order, pos).

    ``level``: the BGZF deflate level (6: zlib's default; 1-3: ISA-L's, when installed,
    about 5x faster for ~20% bigger files; the text is the same)."""

    def __init__(self, path: str | os.PathLike, header: list[str], *, level: int = 6) -> None:
        self._header = header
        self._level = int(level)
        self.n_records = 0
        super().__init__(path)

    def _open(self, stack: ExitStack, tmp: Path) -> None:
        self._out = BgzfWriter(tmp, level=self._level)
        self._tabix = VcfTabix()
        stack.callback(self._out.abort)  # no-op once closed; else drops its temporary file
        self._put(("\n".join(self._header) + "\n").encode())

    def _put(self, text: bytes) -> None:
        self._out.write(text)
        self._tabix.add(text)

    def write(self, rec: VcfRecord) -> None:
        self._put(rec.line().encode())
        self.n_records += 1

    def write_lines(self, text: bytes | bytearray | memoryview, n: int, intervals=None) -> None:
        """``n`` preformatted records: their ASCII text (any buffer: bytes, a uint8 array),
        whole lines, in file order. ``intervals``: (contig, each line's end offset in
        ``text``, 0-based begin, exclusive end), the records' tabix intervals, when the
        caller knows them (one contig's lines; the index is then not parsed from the text)."""
        view = memoryview(text).cast("B")
        if intervals is None:
            self._put(view)
        else:
            contig, line_ends, beg, end = intervals
            self._out.write(view)
            self._tabix.add_lines(view, line_ends, beg, end, contig)
        self.n_records += n

    def _finish(self) -> None:
        """Close the BGZF stream and write its index (built from the text as it was
        written: :mod:`biometal.io.tabix`; htslib indexes the file when that cannot) next
        to ``path``."""
        tbi = Path(f"{self.path}.tbi")
        try:
            self._out.close()
            if self._tabix.complete():
                self._tabix.write(tbi, self._out)
            else:
                import pysam

                pysam.tabix_index(str(self._tmp), preset="vcf", force=True)
                os.replace(f"{self._tmp}.tbi", tbi)
        except BaseException:
            Path(f"{self._tmp}.tbi").unlink(missing_ok=True)
            raise
