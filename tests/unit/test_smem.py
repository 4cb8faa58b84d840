"""SMEM seeds: suffix array and FM-index against naive references, and the seeds against
``bwa fastmap -l 19`` itself on the same reference and reads (skipped without bwa)."""

from __future__ import annotations

import shutil
import subprocess
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
