"""The pileup equals ``samtools mpileup`` at every position of every test BAM.

Command (biometal.pileup.samtools_command): ``samtools mpileup -B -x -d 0 -aa -q Q -Q B
--ff FLAGS [-A] -f ref``: BAQ off, read-pair overlap removal off (both mates counted, our
rule), no depth cap, every position. Each of the 24 count columns is compared at every
position (the samtools text is parsed by tests/unit/mpileup_oracle.py), and the indel
events (position, length, strand, inserted bases) as multisets.

BAMs: real third-party data (the SAM specification's toy examples, samtools' ex1, salmon's
example alignments), reads simulated here and aligned by minimap2 and bwa (real aligner
output: soft clips, indels, overlapping mates) and by biometal's mappy mapper, and a
hand-made BAM with every CIGAR operation and flag combination.

samtools prints qualities and MAPQ as one character capped at 93, so the quality and MAPQ
sums (columns 18-23) are compared on a copy with both capped at 93; the counts (columns
0-17) on the original too.
"""

from __future__ import annotations

import array
import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest
from mpileup_oracle import (
    SAMTOOLS,
    SKIP_REASON,
    capped_copy,
    samtools_pileup,
    samtools_pileup_sparse,
)
from variant_data import aligner_bam, dataset, third_party_bams

from biometal.io.bam import check_bam
from biometal.pileup import PileupParams, iter_pileup
from biometal.pileup import engine as pileup_engine
from biometal.pileup.tsv import write_pileup_tsv

pytestmark = pytest.mark.skipif(SAMTOOLS is None, reason=SKIP_REASON)

PARAMS = {
    "default": PileupParams(),
    "mapq20_bq20_orphans": PileupParams(min_mapq=20, min_baseq=20, count_orphans=True),
    "bq0_keep_dup_small_regions": PileupParams(
        min_baseq=0, exclude_flags=("UNMAP", "SECONDARY"), region_size=1000, threads=2
    ),
}


def ours(bam: Path, ref: Path, params: PileupParams):
    header = check_bam(bam, ref)
    counts = {
        n: np.zeros((ln, 24), np.uint32) for n, ln in zip(header.names, header.lengths, strict=True)
    }
    events = Counter()
    last = (-1, -1)
    for block in iter_pileup(bam, params, reference=ref, header=header):
        assert (block.tid, block.start) > last, "blocks out of order or overlapping"
        last = (block.tid, block.end - 1)
        counts[block.contig][block.start : block.end] = block.counts
        for p, ln, rv, sq in zip(
            block.events.pos,
            block.events.length,
            block.events.reverse,
            block.events.seqs,
            strict=True,
        ):
            assert block.start <= p < block.end
            events[(block.contig, int(p), int(ln), int(rv), sq)] += 1
    return counts, events


def compare(
    bam: Path, ref: Path, params: PileupParams, columns=slice(0, 24), seq_check=True
) -> None:
    exp, exp_events = samtools_pileup(str(bam), str(ref), params)
    got, got_events = ours(bam, ref, params)
    for contig, table in got.items():
        e = exp.get(contig, np.zeros_like(table))
        diff = np.flatnonzero((e[:, columns] != table[:, columns]).any(axis=1))
        assert not len(diff), (
            f"{bam.name} {contig}: {len(diff)} positions differ, first at {diff[0] + 1}:\n"
            f"samtools {e[diff[0]].tolist()}\nbiometal {table[diff[0]].tolist()}"
        )
    exp_ev = Counter((c, p, ln, rv, s if ln > 0 else "") for c, p, ln, rv, s in exp_events)
    if not seq_check:
        exp_ev = Counter(k[:4] for k in exp_ev.elements())
        got_events = Counter(k[:4] for k in got_events.elements())
    assert exp_ev == got_events, (exp_ev - got_events, got_events - exp_ev)


# ----------------------------------------------------------------------------- real BAMs


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    bams = third_party_bams(tmp_path_factory.mktemp("real"))
    if not bams:
        pytest.skip(
            "the samtools / salmon example files (Debian packages samtools, salmon) "
            "are not installed"
        )
    return bams


@pytest.mark.parametrize("name", ["toy", "ex1", "salmon"])
@pytest.mark.parametrize("pname", list(PARAMS))
def test_third_party_bams(real, name, pname, tmp_path):
    if name not in real:
        pytest.skip(f"example BAM {name} not installed")
    bam, ref = real[name]
    params = PARAMS[pname]
    compare(bam, ref, params, columns=slice(0, 18))  # counts on the original
    capped = capped_copy(str(bam), tmp_path / f"{name}.capped.bam")
    compare(Path(capped), ref, params)  # every column where samtools can print the values


# ----------------------------------------------------------------------------- sparse, real

# Real BAMs with reads at selected sites of whole human genomes, from the Debian package
# covtobed-examples: duplicates.bam (2,613 reads of 1000 Genomes runs with sequences and
# qualities, at scattered sites of chr1 and chr2, all marked duplicate, under a GRCh38
# header of 3,366 contigs) and panel_01.bam (a breast-cancer gene panel aligned by bwa mem
# to hg19, 25 contigs, SEQ and QUAL stripped, no proper pairs). No reference ships with
# them, so both tools run without one (reference letters 'N'). The genome-sized headers
# are the point: the pileup must skip the empty contigs and the empty stretches between
# sites (engine.MIN_GAP) and still equal samtools at every covered position.
COVTOBED = Path("/usr/share/doc/covtobed-examples/examples")
# contigs of panel_01.bam with few (off-target) reads: the test's samtools text stays small
PANEL_CONTIGS = ["chr1", "chr3", "chr4", "chr6", "chr12", "chr14", "chr18", "chr19", "chr20"]
SPARSE_PARAMS = {
    # duplicates.bam: every read is a duplicate with an unmapped mate
    "duplicates": [
        PileupParams(exclude_flags=("UNMAP", "SECONDARY", "QCFAIL"), count_orphans=True),
        PileupParams(
            min_mapq=20, min_baseq=0, exclude_flags=("UNMAP",), count_orphans=True, threads=2
        ),
    ],
    # panel_01.bam: no qualities (stored as 255, as missing) and no proper pairs
    "panel": [
        PileupParams(count_orphans=True, min_baseq=0),
        PileupParams(count_orphans=True, min_mapq=20, min_baseq=0, region_size=1000),
    ],
}


@pytest.fixture(scope="module")
def covtobed(tmp_path_factory):
    if not (COVTOBED / "duplicates.bam").exists():
        pytest.skip(
            "real sparse BAMs not installed (Debian package covtobed-examples: "
            "apt-get install covtobed-examples)"
        )
    d = tmp_path_factory.mktemp("covtobed")
    dup = d / "duplicates.bam"
    dup.write_bytes((COVTOBED / "duplicates.bam").read_bytes())
    pysam.index(str(dup))
    full = d / "panel_full.bam"
    full.write_bytes((COVTOBED / "panel_01.bam").read_bytes())
    pysam.index(str(full))
    panel = d / "panel.bam"  # the same header (whole hg19), the reads of PANEL_CONTIGS
    pysam.view("-b", "-o", str(panel), str(full), *PANEL_CONTIGS, catch_stdout=False)
    pysam.index(str(panel))
    return {"duplicates": dup, "panel": panel}


def compare_sparse(bam: Path, params: PileupParams, columns: list[int]) -> int:
    """Counts equal samtools' at every covered position, zero elsewhere; returns positions."""
    exp, exp_events = samtools_pileup_sparse(str(bam), None, params)
    header = check_bam(bam)
    got_pos: dict[str, list[np.ndarray]] = {}
    got_rows: dict[str, list[np.ndarray]] = {}
    events = Counter()
    for block in iter_pileup(bam, params, header=header):
        got_pos.setdefault(block.contig, []).append(block.start + np.arange(len(block.counts)))
        got_rows.setdefault(block.contig, []).append(block.counts)
        for p, ln, rv in zip(
            block.events.pos, block.events.length, block.events.reverse, strict=True
        ):
            events[(block.contig, int(p), int(ln), int(rv))] += 1
    n = 0
    for contig in set(exp) | set(got_pos):
        e_pos, e_rows = exp.get(contig, (np.zeros(0, np.int64), np.zeros((0, 24), np.uint32)))
        g_pos = np.concatenate(got_pos.get(contig, [np.zeros(0, np.int64)]))
        g_rows = np.concatenate(got_rows.get(contig, [np.zeros((0, 24), np.uint32)]))
        g_map = {p: i for i, p in enumerate(g_pos.tolist())}
        mine = np.zeros_like(e_rows)
        for k, p in enumerate(e_pos.tolist()):
            if p in g_map:
                mine[k] = g_rows[g_map[p]]
        diff = np.flatnonzero((mine[:, columns] != e_rows[:, columns]).any(axis=1))
        assert not len(diff), (
            f"{bam.name} {contig}:{e_pos[diff[0]] + 1}: samtools {e_rows[diff[0]].tolist()} "
            f"biometal {mine[diff[0]].tolist()}"
        )
        # positions samtools does not print have nothing counted here
        extra = ~np.isin(g_pos, e_pos)
        assert not g_rows[extra].any(), f"{bam.name} {contig}: counts where samtools has none"
        n += len(e_pos)
    exp_ev = Counter((c, p, ln, rv) for c, p, ln, rv, _ in exp_events)
    assert exp_ev == events, (exp_ev - events, events - exp_ev)
    return n


@pytest.mark.parametrize("name", ["duplicates", "panel"])
@pytest.mark.parametrize("k", [0, 1])
def test_real_sparse_bams_whole_genome_header(covtobed, name, k):
    # panel_01 has no qualities: its quality sums (stored 255) are not in samtools' text
    columns = list(range(24)) if name == "duplicates" else [*range(18), 23]
    n = compare_sparse(covtobed[name], SPARSE_PARAMS[name][k], columns)
    assert n > 1000  # positions with reads


def test_sparse_blocks_skip_empty_stretches(covtobed, tmp_path, monkeypatch):
    """Blocks cover the reads' stretches, not the gaps; the TSV is the same bytes as with
    no gap cut (one block per region_size window, the earlier layout)."""
    bam = covtobed["duplicates"]
    params = SPARSE_PARAMS["duplicates"][0]
    blocks = list(iter_pileup(bam, params))
    covered = sum(len(b.counts) for b in blocks)
    with pysam.AlignmentFile(str(bam)) as fh:
        span = sum(r.reference_length for r in fh.fetch(until_eof=True) if not r.is_unmapped)
    assert covered <= span  # never more rows than read bases: gaps are not walked
    a, b = tmp_path / "gap.tsv.gz", tmp_path / "nogap.tsv.gz"
    write_pileup_tsv(bam, a, params)
    monkeypatch.setattr(pileup_engine, "MIN_GAP", 1 << 62)
    write_pileup_tsv(bam, b, params)
    assert len(list(iter_pileup(bam, params))) < len(blocks)
    assert a.read_bytes() == b.read_bytes()


# ----------------------------------------------------------------------------- simulated


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return dataset(tmp_path_factory.getbasetemp() / "variant_data")


@pytest.mark.parametrize("aligner", ["mappy", "minimap2", "bwa"])
@pytest.mark.parametrize("pname", ["default", "mapq20_bq20_orphans"])
def test_simulated_reads_real_aligners(sim, aligner, pname):
    bam = sim.bam if aligner == "mappy" else aligner_bam(sim, aligner)
    if bam is None:
        pytest.skip(f"{aligner} not installed")
    compare(bam, sim.reference, PARAMS[pname])


# ----------------------------------------------------------------------------- hand-made

# Not here: consecutive deletions (1D1D), which no aligner writes. htslib 1.16 (samtools
# 1.16) reports them as separate deletions, later htslib merges them like one 2D; biometal
# follows the later rule (test_consecutive_deletions_merge).
CIGARS = [
    "20M",
    "3S10M2I5M3D8M2S",
    "2I8M",
    "2S1I8M",
    "10M5N10M",
    "4M1P1I4M",
    "5=1X4=",
    "3M1D2I3M",
    "2D10M",
    "10M3I",
    "10M3I2S",
    "7M1I1I7M",
    "5M1D5M",
    "12M",
    "4H8M4H",
    "1M",
    "9M1N9M1D2M",
    "6M1N2D6M",
]
FLAGS = [0, 16, 256, 512, 1024, 2048, 4, 1, 17, 3, 19, 35, 83, 163, 99, 147, 1 | 8, 1 | 2 | 1024]


def _query_len(cigar: str) -> int:
    rec = pysam.AlignedSegment()
    rec.cigarstring = cigar
    return rec.infer_query_length()


def handmade_bam(path: Path, ref_path: Path, seed: int = 1, n: int = 1500) -> None:
    rng = np.random.default_rng(seed)
    contigs = {"c1": 5000, "c2": 800}
    with open(ref_path, "w") as fh:
        for name, ln in contigs.items():
            fh.write(f">{name}\n{''.join(rng.choice(list('ACGT'), ln))}\n")
    pysam.faidx(str(ref_path))
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": k, "LN": v} for k, v in contigs.items()],
    }
    tmp = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
        for i in range(n):
            rec = pysam.AlignedSegment(out.header)
            rec.query_name = f"r{i // 2}"
            contig = "c1" if rng.random() < 0.8 else "c2"
            cigar = CIGARS[rng.integers(len(CIGARS))]
            if i % 53 == 0:  # SEQ '*': samtools would print insertion bases from beyond SEQ
                cigar = "5M1D5M"
            if i % 97 == 0:
                cigar = "10M3000N10M" if contig == "c1" else "10M300N10M"  # spans regions
            rec.cigarstring = cigar
            qlen = _query_len(cigar)
            rec.flag = int(FLAGS[rng.integers(len(FLAGS))])
            rec.reference_id = 0 if contig == "c1" else 1
            rlen = rec.reference_length or 1
            rec.reference_start = int(rng.integers(0, contigs[contig] - rlen))
            rec.mapping_quality = int(rng.choice([0, 5, 20, 30, 60, 60, 60]))
            bases = rng.choice(list("ACGTACGTACGTNR"), qlen)
            if i % 53 == 0:
                rec.query_sequence = None  # SEQ '*'
            else:
                rec.query_sequence = "".join(bases)
                if i % 41 != 0:  # else qualities '*' (stored as 255)
                    rec.query_qualities = array.array("B", rng.integers(0, 42, qlen).tolist())
            if rec.flag & 1:
                rec.next_reference_id = rec.reference_id
                rec.next_reference_start = max(
                    0, rec.reference_start + int(rng.integers(-100, 100))
                )
            out.write(rec)
    pysam.sort("-o", str(path), str(tmp))
    pysam.index(str(path))
    tmp.unlink()


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    d = tmp_path_factory.mktemp("handmade")
    bam, ref = d / "hand.bam", d / "hand.fa"
    handmade_bam(bam, ref)
    return bam, ref


@pytest.mark.parametrize("pname", list(PARAMS))
def test_handmade_every_cigar_and_flag(handmade, pname, tmp_path):
    bam, ref = handmade
    params = PARAMS[pname]
    compare(bam, ref, params, columns=slice(0, 18))
    capped = Path(capped_copy(str(bam), tmp_path / "capped.bam"))
    compare(capped, ref, params)


def _one_read_bam(tmp_path: Path, cigar: str, seq: str) -> tuple[Path, Path]:
    ref = tmp_path / "r.fa"
    ref.write_text(">c\n" + "ACGT" * 10 + "\n")
    pysam.faidx(str(ref))
    bam = tmp_path / "one.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c", "LN": 40}]}
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        rec = pysam.AlignedSegment(out.header)
        rec.query_name, rec.flag, rec.reference_id, rec.reference_start = "x", 0, 0, 2
        rec.cigarstring, rec.mapping_quality = cigar, 60
        rec.query_sequence = seq
        rec.query_qualities = array.array("B", [30] * len(seq))
        out.write(rec)
    pysam.index(str(bam))
    return bam, ref


def test_deletion_then_insertion_sequence(tmp_path):
    """A D-then-I read: the insertion sits on the last deleted position, with its bases."""
    bam, ref = _one_read_bam(tmp_path, "3M2D3I4M", "GTAGGGCGTA")
    counts, events = ours(bam, ref, PileupParams())
    assert events == Counter({("c", 4, -2, 0, ""): 1, ("c", 6, 3, 0, "GGG"): 1})
    assert counts["c"][6, 10] == 1 and counts["c"][6, 14] == 1


def test_consecutive_deletions_merge(tmp_path):
    """1D1D counts like 2D: one deletion of 2 bp after the last base (later htslib's rule)."""
    bam, ref = _one_read_bam(tmp_path, "3M1D1D3M", "GTACGT")
    counts, events = ours(bam, ref, PileupParams())
    assert events == Counter({("c", 4, -2, 0, ""): 1})
    assert counts["c"][5:7, 10].tolist() == [1, 1]
    assert counts["c"][:, 16:18].sum() == 1


def test_gap_cut_at_the_boundary(tmp_path, monkeypatch):
    """Reads MIN_GAP - 1 and MIN_GAP apart, a spliced read whose skip spans a later read's
    start, a second contig: same counts as without the gap rule; blocks split only at empty
    stretches of >= MIN_GAP and never inside a read's span."""
    gap = pileup_engine.MIN_GAP
    ref = tmp_path / "g.fa"
    rng = np.random.default_rng(3)
    contigs = {"a": 60_000, "b": 30_000}
    with open(ref, "w") as fh:
        for name, ln in contigs.items():
            fh.write(f">{name}\n{''.join(rng.choice(list('ACGT'), ln))}\n")
    pysam.faidx(str(ref))
    reads = [  # (contig, start, cigar)
        ("a", 100, "50M"),
        ("a", 150 + gap - 1, "50M"),  # empty stretch of gap - 1: same block
        ("a", 200 + 2 * gap - 1, "50M"),  # empty stretch of exactly gap: a new block
        ("a", 20_000, "10M9000N10M"),  # the skip covers [20010, 29010)
        ("a", 25_000, "30M"),  # starts inside the skip: same block
        ("a", 40_000, "5M2D5M"),
        ("b", 10, "20M"),
        ("b", 10 + 20 + gap, "20M"),
    ]
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": k, "LN": v} for k, v in contigs.items()],
    }
    bam = tmp_path / "g.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for i, (contig, start, cigar) in enumerate(reads):
            rec = pysam.AlignedSegment(out.header)
            rec.query_name, rec.flag = f"r{i}", 0
            rec.reference_id = list(contigs).index(contig)
            rec.reference_start, rec.cigarstring, rec.mapping_quality = start, cigar, 60
            n = rec.infer_query_length()
            rec.query_sequence = "".join(rng.choice(list("ACGT"), n))
            rec.query_qualities = array.array("B", [30] * n)
            out.write(rec)
    pysam.index(str(bam))
    params = PileupParams(min_baseq=0)
    compare(bam, ref, params)
    starts = [(b.contig, b.start, b.end) for b in iter_pileup(bam, params, reference=ref)]
    assert starts == [
        ("a", 100, 200 + gap - 1),
        ("a", 200 + 2 * gap - 1, 250 + 2 * gap - 1),
        ("a", 20_000, 29_020),
        ("a", 40_000, 40_012),
        ("b", 10, 30),
        ("b", 30 + gap, 50 + gap),
    ]
    got, _ = ours(bam, ref, params)
    monkeypatch.setattr(pileup_engine, "MIN_GAP", 1 << 62)
    assert len(list(iter_pileup(bam, params, reference=ref))) == 2  # one per contig
    nogap, _ = ours(bam, ref, params)
    for contig in got:
        assert np.array_equal(got[contig], nogap[contig])


@pytest.mark.parametrize("name", ["toy", "ex1"])
def test_plain_tsv_is_the_bgzf_text_and_matches_samtools(real, name, tmp_path):
    """An output name without .gz is plain text (as samtools writes), the same bytes as the
    BGZF TSV decompressed; its depth and base columns equal samtools' counts."""
    if name not in real:
        pytest.skip(f"example BAM {name} not installed")
    bam, ref = real[name]
    params = PARAMS["default"]
    plain, packed = tmp_path / "p.tsv", tmp_path / "p.tsv.gz"
    write_pileup_tsv(bam, plain, params, reference=ref)
    write_pileup_tsv(bam, packed, params, reference=ref)
    text = plain.read_bytes()
    assert text[:2] != b"\x1f\x8b" and packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == text
    exp, _ = samtools_pileup(str(bam), str(ref), params)
    rows = [ln.split("\t") for ln in text.decode().splitlines() if not ln.startswith("#")]
    assert rows
    seen = {(r[0], int(r[1])) for r in rows}
    for r in rows:
        e = exp[r[0]][int(r[1]) - 1].astype(np.int64)
        assert int(r[3]) == e[:14].sum(), r  # depth: bases + del + skip
        assert [int(x) for x in r[4:9]] == (e[0:5] + e[5:10]).tolist(), r  # A C G T N
    for contig, table in exp.items():  # every position samtools shows depth at is a row
        for p0 in np.flatnonzero(table[:, :14].sum(axis=1)):
            assert (contig, int(p0) + 1) in seen


# ----------------------------------------------------------------------------- TSV rows

ROW_CASES = {
    # (BAM, params): -Q high enough that some covered positions have every base filtered
    "ex1_Q30": ("ex1", PileupParams(min_baseq=30)),
    "ex1_Q30_small_regions": ("ex1", PileupParams(min_baseq=30, region_size=1000, threads=2)),
    # no SEQ/QUAL: every entry is N with quality 0, so at the default -Q 13 every row is 0
    "panel_default": ("panel", PileupParams(count_orphans=True)),
    "duplicates_Q30": (
        "duplicates",
        PileupParams(
            exclude_flags=("UNMAP", "SECONDARY", "QCFAIL"), count_orphans=True, min_baseq=30
        ),
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(ROW_CASES))
def test_tsv_rows_are_the_positions_samtools_prints(request, case, tmp_path):
    """Without -a the TSV has a row for every position samtools mpileup prints: each one a
    read passing the read filters covers, with depth 0 where every entry failed -Q (it left
    those out before; all rows of Bioconductor dupRadar's BAM at -Q 13), and no other."""
    name, params = ROW_CASES[case]
    if name in ("panel", "duplicates"):
        bam, ref = request.getfixturevalue("covtobed")[name], None
    else:
        real = request.getfixturevalue("real")
        if name not in real:
            pytest.skip(f"example BAM {name} not installed")
        bam, ref = real[name]
    out = tmp_path / "p.tsv"
    write_pileup_tsv(bam, out, params, reference=ref)
    rows = [ln.split("\t", 4) for ln in out.read_text().splitlines() if ln[0] != "#"]
    got = [(r[0], int(r[1]) - 1) for r in rows]
    exp, _ = samtools_pileup_sparse(str(bam), ref and str(ref), params)
    order = {c: i for i, c in enumerate(check_bam(bam).names)}
    want = sorted(
        ((c, p) for c, (pos, _) in exp.items() for p in pos.tolist()),
        key=lambda cp: (order[cp[0]], cp[1]),
    )
    assert got == want
    zero = sum(r[3] == "0" for r in rows)
    assert zero > 0 and zero < len(rows) or name == "panel", (zero, len(rows))
