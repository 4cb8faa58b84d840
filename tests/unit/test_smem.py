"""SMEM seeds: suffix array and FM-index against naive references, and the seeds against
``bwa fastmap -l 19`` itself on the same reference and reads (skipped without bwa)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biometal.align.smem import (
    FMIndex,
    build_fm_index,
    find_smems,
    format_fastmap,
    locate,
    parse_fastmap,
    reverse_complement,
    suffix_array,
)
from biometal.errors import InputFormatError
from biometal.io.encoding import decode, encode
from biometal.io.fastx import read_fastq_chunks

LETTERS = np.array(list("ACGT"))


def _write_fasta(path: Path, contigs: list[np.ndarray]) -> Path:
    with open(path, "w") as fh:
        for i, c in enumerate(contigs):
            fh.write(f">c{i}\n{''.join(LETTERS[c])}\n")
    return path


def _repeat_genome(rng: np.random.Generator, n_contigs: int = 3) -> list[np.ndarray]:
    """Contigs of unique sequence, 2%-divergent copies of a 500 bp unit and tandem repeats."""
    unit = rng.integers(0, 4, 500)
    contigs = []
    for _ in range(n_contigs):
        parts = []
        for _ in range(12):
            parts.append(rng.integers(0, 4, 300))
            cp = unit.copy()
            m = rng.random(500) < 0.02
            cp[m] = rng.integers(0, 4, int(m.sum()))
            parts.append(cp)
            parts.append(np.tile(rng.integers(0, 4, int(rng.integers(1, 7))), 20))
        contigs.append(np.concatenate(parts))
    return contigs


def _reads(rng, contigs, n: int, path: Path) -> Path:
    with open(path, "w") as fh:
        for r in range(n):
            c = contigs[int(rng.integers(0, len(contigs)))]
            ln = int(rng.integers(20, 200))
            p = int(rng.integers(0, len(c) - ln))
            s = c[p : p + ln].copy()
            m = rng.random(ln) < 0.03
            s[m] = rng.integers(0, 4, int(m.sum()))
            if rng.random() < 0.5:
                s = (3 - s)[::-1]
            seq = LETTERS[s]
            if rng.random() < 0.1:
                seq[int(rng.integers(0, ln))] = "N"
            fh.write(f"@r{r}\n{''.join(seq)}\n+\n{'I' * ln}\n")
    return path


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("smem")
    rng = np.random.default_rng(1)
    contigs = _repeat_genome(rng)
    fa = _write_fasta(d / "ref.fa", contigs)
    fq = _reads(rng, contigs, 1500, d / "reads.fq")
    return fa, fq, contigs, build_fm_index(fa)


@pytest.mark.parametrize("seed", range(5))
def test_suffix_array_equals_naive_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    alphabet = int(rng.integers(1, 5))  # 1: a single letter repeated (the worst case)
    text = np.append(rng.integers(1, alphabet + 1, n), 0).astype(np.uint8)
    naive = sorted(range(n + 1), key=lambda i: text[i:].tobytes())
    assert suffix_array(text).tolist() == naive


def test_count_is_both_strands(genome) -> None:
    _, _, contigs, idx = genome
    both = [decode(c) for c in contigs] + [decode(reverse_complement(c)) for c in contigs]
    rng = np.random.default_rng(3)
    for _ in range(40):
        c = contigs[int(rng.integers(0, 3))]
        p = int(rng.integers(0, len(c) - 30))
        pat = decode(c[p : p + int(rng.integers(1, 30))])
        naive = sum(
            sum(1 for i in range(len(s) - len(pat) + 1) if s.startswith(pat, i)) for s in both
        )
        assert idx.count(pat) == naive, pat


def test_save_load_roundtrip(genome, tmp_path: Path) -> None:
    _, fq, _, idx = genome
    idx.save(tmp_path / "i.npz")
    back = FMIndex.load(tmp_path / "i.npz")
    ch = next(read_fastq_chunks(fq, 200))
    a = find_smems(idx, ch.codes, ch.offsets)
    b = find_smems(back, ch.codes, ch.offsets)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.occ, b.occ)
    (tmp_path / "bad.npz").write_bytes(b"not an index")
    with pytest.raises(InputFormatError, match="bad.npz: not a biometal FM-index"):
        FMIndex.load(tmp_path / "bad.npz")


def test_smems_are_maximal_exact_matches(genome) -> None:
    _, fq, _, idx = genome
    ch = next(read_fastq_chunks(fq, 300))
    seeds = find_smems(idx, ch.codes, ch.offsets, min_len=19)
    assert len(seeds) > 100
    for j in range(0, len(seeds), 7):
        q = ch.codes[ch.offsets[seeds.read[j]] : ch.offsets[seeds.read[j] + 1]]
        s, e = int(seeds.start[j]), int(seeds.end[j])
        assert e - s >= 19 and idx.count(q[s:e]) == seeds.occ[j] > 0
        if s > 0 and q[s - 1] < 4:  # not extendable to the left ...
            assert idx.count(q[s - 1 : e]) == 0
        if e < len(q) and q[e] < 4:  # ... nor to the right
            assert idx.count(q[s : e + 1]) == 0


def test_positions_spell_the_seed(genome) -> None:
    _, fq, contigs, idx = genome
    ch = next(read_fastq_chunks(fq, 300))
    seeds = find_smems(idx, ch.codes, ch.offsets, min_len=19)
    occ = locate(idx, seeds, max_occ=20)
    assert len(occ.seed) >= int((seeds.occ[seeds.occ <= 20]).sum())
    for k in range(0, len(occ.seed), 5):
        j = occ.seed[k]
        if occ.spans_contigs[k]:
            continue
        q = ch.codes[ch.offsets[seeds.read[j]] : ch.offsets[seeds.read[j] + 1]]
        s, e = int(seeds.start[j]), int(seeds.end[j])
        ref = contigs[occ.contig[k]][occ.pos[k] : occ.pos[k] + e - s]
        want = reverse_complement(q[s:e]) if occ.reverse[k] else q[s:e]
        assert np.array_equal(ref, want)


@pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed")
def test_seeds_equal_bwa_fastmap(genome, tmp_path: Path) -> None:
    fa, fq, _, idx = genome
    ref = tmp_path / "ref.fa"
    shutil.copy(fa, ref)
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    bwa = subprocess.run(
        ["bwa", "fastmap", "-l", "19", str(ref), str(fq)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ch = next(read_fastq_chunks(fq, 10000, with_names=True))
    names = [n.decode() if isinstance(n, bytes) else n for n in ch.names]
    seeds = find_smems(idx, ch.codes, ch.offsets, min_len=19)
    ours = parse_fastmap(format_fastmap(idx, names, np.diff(ch.offsets), seeds))
    theirs = parse_fastmap(bwa)
    assert len(theirs) == 1500 and sum(len(v) for v in theirs.values()) > 2000
    assert any(e[2] > 20 for v in theirs.values() for e in v)  # repeats beyond -w 20
    diff = [k for k in theirs if ours.get(k) != theirs[k]]
    assert not diff, (diff[:3], [ours.get(k) for k in diff[:3]], [theirs[k] for k in diff[:3]])


def _fastmap_text_python(index, names, lengths, seeds, max_positions):
    """``bwa fastmap``'s text line by line in Python (the formatter before the compiled one)."""
    occs = locate(index, seeds, max_positions)
    by_seed: dict[int, list[str]] = {}
    for s, c, p, r in zip(occs.seed, occs.contig, occs.pos + 1, occs.reverse, strict=True):
        by_seed.setdefault(int(s), []).append(f"{index.names[c]}:{'-' if r else '+'}{p}")
    lines, j = [], 0
    for r, (name, ln) in enumerate(zip(names, lengths, strict=True)):
        lines.append(f"SQ\t{name}\t{ln}")
        while j < len(seeds) and seeds.read[j] == r:
            tail = "\t".join(by_seed.get(j, ["*\n"]))  # bwa 0.7.17: puts("\t*") + "\n"
            lines.append(f"EM\t{seeds.start[j]}\t{seeds.end[j]}\t{seeds.occ[j]}\t{tail}")
            j += 1
        lines.append("//")
    return "".join(line + "\n" for line in lines)


@pytest.mark.parametrize("max_positions", [0, 1, 5, 20, 1000])
def test_fastmap_text_equals_line_by_line_formatting(genome, max_positions: int) -> None:
    """The compiled formatter writes what formatting each line in Python writes: names
    beyond ASCII, reads with no SMEM (empty, all N), seeds over and under -w."""
    _, fq, _, idx = genome
    ch = next(read_fastq_chunks(fq, 400, with_names=True))
    codes, offsets = ch.codes.copy(), ch.offsets.copy()
    codes[offsets[3] : offsets[4]] = 4  # read 3: all N, no SMEM
    names = [f"r{i}_\u00e9\u4e2d" if i % 3 else f"read{i}" for i in range(len(offsets) - 1)]
    lengths = np.diff(offsets)
    seeds = find_smems(idx, codes, offsets, min_len=19)
    assert (seeds.occ > 20).any() and not (seeds.read == 3).any()
    ours = format_fastmap(idx, names, lengths, seeds, max_positions)
    assert ours == _fastmap_text_python(idx, names, lengths.tolist(), seeds, max_positions)
    empty = find_smems(idx, codes[:0], np.zeros(1, np.int64))
    assert format_fastmap(idx, [], np.zeros(0, np.int64), empty, max_positions) == ""


def test_lockstep_batch_equals_one_read_at_a_time(genome) -> None:
    """The search interleaves up to LANES reads (fewer for long reads); alone, a read has
    no neighbour to interleave with: every read's SMEMs must be the same either way."""
    from biometal.align import _smem_kernels as k

    _, _, contigs, idx = genome
    rng = np.random.default_rng(5)
    reads = []
    for r in range(k.CHUNK + 90):  # more than one chunk; lengths 0 .. 6000 (fewer lanes)
        c = contigs[r % len(contigs)]
        ln = int(rng.choice([0, 1, 25, 150, 151, 6000]))
        ln = min(ln, len(c) - 1)
        p = int(rng.integers(0, len(c) - ln))
        s = c[p : p + ln].astype(np.uint8)
        m = rng.random(ln) < 0.02
        s[m] = rng.integers(0, 5, int(m.sum()))  # substitutions and N
        if r % 7 == 0 and ln > 40:
            s[10:30] = 4  # a run of N
        reads.append(s)
    offsets = np.zeros(len(reads) + 1, np.int64)
    np.cumsum([len(s) for s in reads], out=offsets[1:])
    codes = np.concatenate(reads)
    batch = find_smems(idx, codes, offsets, min_len=15)
    assert len(batch) > 2 * len(reads) and max(offsets[1:] - offsets[:-1]) == 6000
    for r, s in enumerate(reads):
        one = find_smems(idx, s, np.array([0, len(s)]), min_len=15)
        sel = batch.read == r
        for f in ("start", "end", "occ", "sa_start"):
            assert getattr(one, f).tolist() == getattr(batch, f)[sel].tolist(), (r, f)


def test_reference_n_and_short_reads(tmp_path: Path) -> None:
    fa = tmp_path / "n.fa"
    fa.write_text(">a\nACGTNNNNACGTTTGCA\n>b\nGGGCCCAAAT\n")
    idx = build_fm_index(fa, seed=1)
    assert idx.names == ["a", "b"] and idx.forward_length == 27
    assert set(np.unique(idx.text)) <= {0, 1, 2, 3}
    codes = encode("ACGTTTGCANNGGGCCC")
    seeds = find_smems(idx, codes, np.array([0, len(codes)]), min_len=5)
    spans = {(int(s), int(e)) for s, e in zip(seeds.start, seeds.end, strict=True)}
    assert (0, 9) in spans and (11, 17) in spans
    empty = find_smems(idx, np.zeros(0, np.uint8), np.array([0, 0]), min_len=5)
    assert len(empty) == 0


def test_sampled_suffix_array_gives_every_row(genome) -> None:
    _, _, _, idx = genome
    sym = np.append(idx.text + 1, 0).astype(np.uint8)
    full = suffix_array(sym)
    assert np.array_equal(idx.sa_values(np.arange(full.shape[0])), full)
    assert idx.sa.shape[0] == (full.shape[0] + idx.sa_intv - 1) // idx.sa_intv


def test_saved_index_is_compact_and_reads_version_1(genome, tmp_path: Path) -> None:
    _, fq, _, idx = genome
    idx.save(tmp_path / "i.npz")
    per_base = (tmp_path / "i.npz").stat().st_size / idx.forward_length
    assert per_base < 1.5  # 2-bit BWT + 2-bit text + SA every 32 rows: ~1.25 + headers
    # a version-1 file (text and the full suffix array) still loads
    full = idx.sa_values(np.arange(idx.cnt[4]))
    np.savez(
        tmp_path / "v1.npz",
        version=np.int64(1),
        text=idx.text,
        sa=full,
        primary=np.int64(idx.primary),
        names=np.array(idx.names),
        offsets=idx.offsets,
    )
    v1 = FMIndex.load(tmp_path / "v1.npz")
    assert np.array_equal(v1.bwt, idx.bwt) and np.array_equal(v1.sa, idx.sa)


@pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed")
def test_bwa_index_files_are_read_exactly(genome, tmp_path: Path) -> None:
    from biometal.align.smem import bwa_prefix, fastmap_file, load_or_build_index

    fa, fq, contigs, idx = genome
    # no N: BWA's index is ours, row for row
    subprocess.run(["bwa", "index", "-p", str(tmp_path / "g"), str(fa)], check=True,
                   capture_output=True)  # fmt: skip
    g = FMIndex.from_bwa(tmp_path / "g")
    assert g.primary == idx.primary and g.names == idx.names
    for a in ("bwt", "sa", "cnt", "text", "offsets"):
        assert np.array_equal(getattr(g, a), getattr(idx, a)), a
    # with N runs and several contigs: BWA's own N replacement, SMEMs and positions equal
    ref = tmp_path / "n.fa"
    with open(ref, "w") as fh:
        for i, c in enumerate(contigs):
            s = LETTERS[c].copy()
            s[100 + 7 * i : 160 + 7 * i] = "N"
            fh.write(f">n{i} some description\n{''.join(s)}\n")
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    assert bwa_prefix(ref) is None and bwa_prefix(f"{ref}.bwt") == str(ref)
    assert isinstance(load_or_build_index(f"{ref}.bwt"), FMIndex)
    cmd = [sys.executable, "-m", "biometal", "fmindex", str(tmp_path / "g")]
    subprocess.run([*cmd, str(tmp_path / "g.npz")],
                   check=True, capture_output=True)  # fmt: skip
    assert np.array_equal(FMIndex.load(tmp_path / "g.npz").bwt, idx.bwt)
    bwa = subprocess.run(
        ["bwa", "fastmap", "-l", "19", str(ref), str(fq)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fastmap_file(f"{ref}.bwt", fq, tmp_path / "ours.txt", min_len=19)
    assert (tmp_path / "ours.txt").read_text() == bwa  # byte for byte, "*" lines included
    assert "\t*\n\n" in bwa
    (tmp_path / "bad.sa").write_bytes(b"\0" * 8)
    for ext in (".bwt", ".pac", ".ann"):
        shutil.copy(f"{ref}{ext}", tmp_path / f"bad{ext}")
    with pytest.raises(InputFormatError, match="not a readable BWA index"):
        FMIndex.from_bwa(tmp_path / "bad")
