"""Your own cohort's inputs for case_study_cohort (see :mod:`biometal.workflow.cohort`): the
reference copied to a plain, indexed FASTA, BAMs cut to a region, and the truth VCF cut to
the cohort's samples and region with AC / AN recounted from their genotypes.

Every problem is a one-line :class:`~biometal.errors.BiometalError` naming the file.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

Interval = tuple[str, int, "int | None"]  # contig, 0-based start, end (exclusive) or None


def parse_interval(text: str) -> Interval | None:
    """cohort.region text (as :func:`biometal.workflow.cohort.parse_region`), "" -> None."""
    if not text:
        return None
    from biometal.workflow.cohort import parse_region

    return parse_region(text)


def _check_interval(contigs: dict[str, int], interval: Interval | None, where: str) -> None:
    if interval is None:
        return
    contig, start, end = interval
    if contig not in contigs:
        shown = ", ".join(list(contigs)[:5]) + (", ..." if len(contigs) > 5 else "")
        raise BiometalError(f"config cohort.region: contig '{contig}' is not in {where} ({shown})")
    if start >= contigs[contig] or (end is not None and end > contigs[contig]):
        raise BiometalError(
            f"config cohort.region: {contig}:{start + 1}-{end} runs past the end of "
            f"{contig} ({contigs[contig]:,} bp) in {where}"
        )


def prepare_reference(
    src: str | os.PathLike, dest: str | os.PathLike, interval: Interval | None = None
) -> dict[str, int]:
    """Copy ``src`` (FASTA, plain, gzip or bgzip) to a plain FASTA ``dest`` with its ``.fai``
    (atomic); check the region's contig and bounds. Returns contig -> length."""
    import pysam

    from biometal.io.bam import reference_contigs

    src = Path(src)
    if not src.is_file():
        raise BiometalError(f"{src}: reference FASTA not found")
    with open(src, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with atomic_path(dest) as tmp:
        try:
            with gzip.open(src, "rb") if gz else open(src, "rb") as fin, open(tmp, "wb") as out:
                shutil.copyfileobj(fin, out, 1 << 22)
        except (OSError, EOFError) as exc:
            raise BiometalError(f"{src}: cannot read the reference ({exc})") from None
        contigs = reference_contigs(tmp)
        _check_interval(contigs, interval, str(src))
    Path(f"{tmp}.fai").replace(f"{dest}.fai")
    pysam.FastaFile(str(dest)).close()  # the .fai is newer than the FASTA and matches it
    return contigs


def subset_bam(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    out_bam: str | os.PathLike,
    interval: Interval,
) -> int:
    """The records of ``bam`` overlapping ``interval`` (through its index) -> ``out_bam`` +
    ``.bai`` (atomic); the header is kept, so contigs match the reference. Returns records."""
    import pysam

    from biometal.io.bam import check_bam

    header = check_bam(bam, reference)
    _check_interval(dict(zip(header.names, header.lengths, strict=True)), interval, str(bam))
    contig, start, end = interval
    n = 0
    with atomic_path(f"{out_bam}.bai") as tmp_bai, atomic_path(out_bam) as tmp:
        with pysam.AlignmentFile(str(bam), "rb") as fin:
            with pysam.AlignmentFile(str(tmp), "wb", template=fin) as fout:
                for rec in fin.fetch(contig, start, end):
                    fout.write(rec)
                    n += 1
        pysam.index(str(tmp), "-o", str(tmp_bai))
    return n


def subset_truth(
    truth: str | os.PathLike,
    out_vcf: str | os.PathLike,
    samples: Sequence[str],
    interval: Interval | None = None,
) -> int:
    """The records of ``truth`` (VCF / VCF.gz) inside ``interval`` where one of ``samples``
    carries an ALT, with only those samples' columns and INFO AC / AN recounted from their
    genotypes -> bgzipped ``out_vcf`` + ``.tbi`` (atomic). Returns the records written."""
    import pysam

    try:
        fin = pysam.VariantFile(str(truth))
    except (OSError, ValueError) as exc:
        raise BiometalError(f"{truth}: cannot read the truth VCF ({exc})") from None
    with fin:
        missing = [s for s in samples if s not in fin.header.samples]
        if missing:
            raise BiometalError(f"{truth}: no sample {missing[0]!r} in the truth VCF")
        fin.subset_samples(list(samples))
        header = fin.header.copy()
        for key, number, desc in (
            ("AC", "A", "ALT alleles in the cohort's called genotypes"),
            ("AN", "1", "Alleles in the cohort's called genotypes"),
        ):
            if key not in header.info:
                header.info.add(key, number, "Integer", desc)
        if interval is not None and interval[0] not in header.contigs:
            header.contigs.add(interval[0])
        n = 0
        with atomic_path(f"{out_vcf}.tbi") as tmp_tbi, atomic_path(out_vcf) as tmp:
            plain = Path(f"{tmp}.plain.vcf")
            with pysam.VariantFile(str(plain), "w", header=header) as fout:
                try:
                    if interval is None:
                        records = iter(fin)
                    else:
                        records = _records_in(fin, interval)
                    for rec in records:
                        alts = rec.alts or ()
                        ac = [0] * len(alts)
                        an = 0
                        for s in samples:
                            for a in rec.samples[s].get("GT") or ():
                                if a is None:
                                    continue
                                an += 1
                                if a > 0:
                                    ac[a - 1] += 1
                        if not any(ac):
                            continue
                        new = fout.new_record(
                            contig=rec.chrom, start=rec.start, stop=rec.stop,
                            alleles=rec.alleles, id=rec.id, qual=rec.qual,
                        )  # fmt: skip
                        for f in rec.filter:
                            new.filter.add(f)
                        new.info["AC"] = ac
                        new.info["AN"] = an
                        for s in samples:
                            new.samples[s]["GT"] = rec.samples[s].get("GT")
                            new.samples[s].phased = rec.samples[s].phased
                        fout.write(new)
                        n += 1
                except (OSError, ValueError) as exc:
                    raise BiometalError(f"{truth}: malformed truth VCF ({exc})") from None
            pysam.tabix_compress(str(plain), str(tmp), force=True)
            plain.unlink()
            pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_tbi))
    return n


def _records_in(fin, interval: Interval):
    contig, start, end = interval
    if fin.index is not None:
        if contig not in fin.index:
            return
        yield from fin.fetch(contig, start, end)
        return
    for rec in fin:
        if rec.chrom == contig and rec.stop > start and (end is None or rec.start < end):
            yield rec
