"""KmerTokenizer against the DNABERT-style reference pipeline (overlapping k-mers joined by
spaces -> Hugging Face ``tokenizers`` BertWordPiece over the same vocab.txt); vocab.txt
layout and round trips; quality-aware helpers against naive references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from biometal.errors import InputFormatError
from biometal.io import FastqWriter, read_fastq, read_fastq_chunks
from biometal.ml import KmerTokenizer
from biometal.ml.quality import (
    PHRED_ERROR,
    candidate_tokens,
    kmer_positions,
    token_weights,
    tokens_affected,
)
from biometal.ml.tokenizer import SPECIAL_TOKENS, dnabert_vocabulary, seq2kmer

tokenizers = pytest.importorskip("tokenizers", reason="tokenizers (test extra) not installed")

IUPAC = "RYSWKMBDHVN"
COMP = str.maketrans("ACGTN", "TGCAN")


def hf_pipeline(vocab_path, max_length=None):
    """DNABERT-style reference: BERT WordPiece over vocab.txt, no lower-casing."""
    hf = tokenizers.BertWordPieceTokenizer(
        str(vocab_path), lowercase=False, strip_accents=False, clean_text=False
    )
    if max_length is not None:
        hf.enable_truncation(max_length)
        hf.enable_padding(length=max_length, pad_id=0, pad_token="[PAD]")
    return hf


def random_seqs(rng, n, max_len, alphabet="ACGT", other_rate=0.0):
    seqs = []
    letters = np.array(list(alphabet))
    others = np.array(list(IUPAC))
    for _ in range(n):
        length = int(rng.integers(0, max_len + 1))
        s = letters[rng.integers(0, len(letters), length)]
        if other_rate:
            hit = rng.random(length) < other_rate
            s[hit] = others[rng.integers(0, len(others), int(hit.sum()))]
        seqs.append("".join(s))
    return seqs


# --------------------------------------------------------------------------- vocabulary


def test_vocab_layout_is_dnabert():
    vocab = dnabert_vocabulary(3)
    assert vocab[:5] == list(SPECIAL_TOKENS) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # the first lines of DNABERT's bert-config-3/vocab.txt
    assert vocab[5:17] == "AAA AAT AAC AAG ATA ATT ATC ATG ACA ACT ACC ACG".split()
    assert vocab[-1] == "GGG" and len(vocab) == 5 + 64
    for k in range(3, 7):
        tok = KmerTokenizer(k)
        assert tok.vocab_size == 5 + 4**k
        assert tok.special_ids == (0, 1, 2, 3, 4)
        assert len(set(tok.vocab)) == tok.vocab_size


def test_vocab_round_trip(tmp_path):
    tok = KmerTokenizer(4)
    path = tok.save_vocabulary(tmp_path)
    assert path == tmp_path / "vocab.txt"
    assert path.read_text().splitlines() == dnabert_vocabulary(4)
    again = KmerTokenizer.from_vocab_file(path, stride=2)
    assert again.k == 4 and again.stride == 2 and again.vocab == tok.vocab
    assert np.array_equal(again.lut, tok.lut)
    assert KmerTokenizer.from_vocab_file(tmp_path).vocab == tok.vocab  # a directory


def test_vocab_in_another_order_encodes_by_name(tmp_path):
    rng = np.random.default_rng(3)
    vocab = dnabert_vocabulary(3)
    shuffled = [vocab[i] for i in rng.permutation(len(vocab))]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(shuffled) + "\n")
    tok = KmerTokenizer.from_vocab_file(path)
    ids = tok.encode("ACGTTN")
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "ACG", "CGT", "GTT", "[UNK]", "[SEP]"]
    assert ids == hf_pipeline(path).encode(seq2kmer("ACGTTN", 3)).ids


@pytest.mark.parametrize(
    "lines,line,what",
    [
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "AAX"], 6, "neither a special"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "AAA", "AAA"], 7, "duplicate"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "AAA", "AAAA"], 7, "length 4"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "AAA"], None, r"lacks \[MASK\]"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], None, "no k-mer"),
    ],
)
def test_bad_vocab_file_names_file_and_line(tmp_path, lines, line, what):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFormatError, match=what) as info:
        KmerTokenizer.from_vocab_file(path)
    prefix = f"{path}:{line}:" if line else f"{path}:"
    assert str(info.value).startswith(prefix) and "\n" not in str(info.value)


@pytest.mark.parametrize("k,stride", [(0, 1), (9, 1), (3, 0), (3, 4), (True, 1)])
def test_bad_k_or_stride(k, stride):
    with pytest.raises(ValueError):
        KmerTokenizer(k, stride)


# --------------------------------------------------------------------------- vs Hugging Face


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_same_ids_as_hf_pipeline_on_random_reads(tmp_path, k):
    rng = np.random.default_rng(k)
    tok = KmerTokenizer(k)
    hf = hf_pipeline(tok.save_vocabulary(tmp_path))
    seqs = random_seqs(rng, 300, 160) + random_seqs(rng, 200, 60, other_rate=0.05)
    got = tok.encode_batch(seqs)
    expect = hf.encode_batch([seq2kmer(s, k) for s in seqs])
    for i, (s, e) in enumerate(zip(seqs, expect, strict=True)):
        n = int(got.n_tokens[i])
        assert got.ids[i, :n].tolist() == e.ids, s
        assert (got.ids[i, n:] == tok.pad_id).all()


@pytest.mark.parametrize("k,stride", [(3, 2), (3, 3), (4, 3), (6, 2), (6, 6)])
def test_same_ids_as_hf_pipeline_with_stride(tmp_path, k, stride):
    rng = np.random.default_rng(100 + k * stride)
    tok = KmerTokenizer(k, stride)
    hf = hf_pipeline(tok.save_vocabulary(tmp_path))
    seqs = random_seqs(rng, 200, 80, "ACGTN", other_rate=0.02)
    got = tok.encode_batch(seqs)
    for i, s in enumerate(seqs):
        ref = hf.encode(seq2kmer(s, k, stride)).ids
        assert got.ids[i, : int(got.n_tokens[i])].tolist() == ref, s


EDGE = [
    "",
    "A",
    "ACGTA",  # k - 1 for k = 6
    "ACGTAC",  # exactly k
    "ACGTACG",
    "NNNNNNNNNN",
    "ACGTNACGTACGTA",  # N in the middle
    "NACGTACGTACGTAN",  # N at both ends
    "RYSWKMBDHV" * 2,  # every IUPAC ambiguity code
    "ACGTRACGTYACGTSACGTW",
    "AAAAAAAAAAAAAAAAAAAA",
    "GGGGGGGGGGGGGGGGGGGGG",
    "TTTTTTTTT",
]


@pytest.mark.parametrize("max_length", [2, 3, 8, 64])
def test_edge_sequences_and_truncation_match_hf(tmp_path, max_length):
    tok = KmerTokenizer(6)
    hf = hf_pipeline(tok.save_vocabulary(tmp_path), max_length=max_length)
    rng = np.random.default_rng(max_length)
    seqs = EDGE + random_seqs(rng, 50, 200, other_rate=0.01)
    got = tok.encode_batch(seqs, max_length=max_length)
    expect = hf.encode_batch([seq2kmer(s, 6) for s in seqs])
    for i, (s, e) in enumerate(zip(seqs, expect, strict=True)):
        assert got.ids[i].tolist() == e.ids, s
        assert got.attention_mask[i].tolist() == e.attention_mask, s
    assert tok.encode("ACGTA") == [tok.cls_id, tok.sep_id]  # shorter than k
    assert tok.encode("ACGTRA") == [tok.cls_id, tok.unk_id, tok.sep_id]  # IUPAC -> [UNK]


def test_reader_chunks_match_hf_on_records(tmp_path):
    """From the streaming reader's arrays (the batch path) == HF on the same records."""
    rng = np.random.default_rng(11)
    seqs = random_seqs(rng, 500, 150, other_rate=0.01) + EDGE
    fq = tmp_path / "r.fastq.gz"
    with FastqWriter(fq) as out:
        for i, s in enumerate(seqs):
            out.write((f"r{i}", s, "I" * len(s)))
    tok = KmerTokenizer(6)
    hf = hf_pipeline(tok.save_vocabulary(tmp_path), max_length=100)
    records = list(read_fastq(fq))
    expect = hf.encode_batch([seq2kmer(r.seq.upper(), 6) for r in records])
    rows = []
    for chunk in read_fastq_chunks(fq, chunk_reads=97):
        rows.extend(tok.encode_chunk(chunk, max_length=100).ids.tolist())
    assert rows == [e.ids for e in expect]


def test_lower_case_and_reverse_complement():
    tok = KmerTokenizer(5)
    seq = "ACGTTGCAANNACGTAGGCT"
    assert tok.encode(seq.lower()) == tok.encode(seq)
    revcomp = seq.translate(COMP)[::-1]
    assert tok.encode(seq, reverse_complement=True) == tok.encode(revcomp)
    assert tok.decode(tok.encode("ACGTTG")) == "ACGTT CGTTG"


# --------------------------------------------------------------------------- quality-aware


def _chunk(rng, n, max_len, n_rate=0.02):
    lengths = rng.integers(0, max_len + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = rng.integers(0, 4, offsets[-1]).astype(np.uint8)
    codes[rng.random(offsets[-1]) < n_rate] = 4
    qual = rng.integers(2, 42, offsets[-1]).astype(np.uint8)
    return codes, qual, offsets


def _kmer_slices(offsets, r, k, stride, rc, room):
    a, b = int(offsets[r]), int(offsets[r + 1])
    pos = np.arange(a, b)[::-1] if rc else np.arange(a, b)
    n = min((b - a - k) // stride + 1 if b - a >= k else 0, room)
    return [pos[j * stride : j * stride + k] for j in range(n)]


@pytest.mark.parametrize("k,stride,threshold", [(3, 1, 20), (6, 1, 25), (4, 2, 15)])
def test_quality_mask_and_weights_match_naive(k, stride, threshold):
    rng = np.random.default_rng(k + threshold)
    codes, qual, offsets = _chunk(rng, 120, 60)
    rc = (rng.random(120) < 0.5).astype(np.uint8)
    tok = KmerTokenizer(k, stride)
    L = 40
    plain = tok.encode_arrays(codes, qual, offsets, max_length=L, reverse_complement=rc)
    masked = tok.encode_arrays(
        codes, qual, offsets, max_length=L, mask_below=threshold, reverse_complement=rc
    )
    w = token_weights(qual, offsets, k, stride=stride, max_length=L, rc=rc)
    for r in range(120):
        slices = _kmer_slices(offsets, r, k, stride, rc[r], L - 2)
        for j, idx in enumerate(slices):
            low = int(qual[idx].min())
            assert plain.min_qual[r, 1 + j] == low
            expect = tok.mask_id if low < threshold else plain.ids[r, 1 + j]
            assert masked.ids[r, 1 + j] == expect
            ref = np.prod(1.0 - PHRED_ERROR[qual[idx]])
            assert w[r, 1 + j] == pytest.approx(ref, rel=1e-5)
        n = len(slices)
        assert w[r, 0] == 1.0 and w[r, n + 1] == 1.0 and (w[r, n + 2 :] == 0).all()
    assert (masked.ids == tok.mask_id).any() and (masked.ids != plain.ids).any()


@pytest.mark.parametrize("top", [1, 3, 4])
def test_candidates_are_the_most_likely_kmers(top):
    """Beam search == brute force over all 4**k k-mers (k = 3)."""
    rng = np.random.default_rng(top)
    k, threshold, L = 3, 20, 30
    codes, qual, offsets = _chunk(rng, 60, 30, n_rate=0.05)
    tok = KmerTokenizer(k)
    toks = tok.encode_arrays(codes, qual, offsets, max_length=L)
    cand, prob = candidate_tokens(
        codes, qual, offsets, tok.lut, toks.ids, k, threshold=threshold, top=top
    )
    n_low = 0
    for r in range(60):
        for j, idx in enumerate(_kmer_slices(offsets, r, k, 1, False, L - 2)):
            t = 1 + j
            if qual[idx].min() >= threshold:
                assert cand[r, t, 0] == toks.ids[r, t] and prob[r, t, 0] == 1.0
                assert (prob[r, t, 1:] == 0).all()
                continue
            n_low += 1
            scores = []
            for combo in itertools.product(range(4), repeat=k):
                p = 1.0
                for b, x in zip(idx, combo, strict=True):
                    c, e = codes[b], PHRED_ERROR[qual[b]]
                    p *= 0.25 if c >= 4 else (1 - e if x == c else e / 3)
                index = combo[0] * 16 + combo[1] * 4 + combo[2]
                scores.append((-p, index))
            best = sorted(scores)[:top]
            total = -sum(s for s, _ in best)
            assert cand[r, t].tolist() == [int(tok.lut[i]) for _, i in best]
            np.testing.assert_allclose(prob[r, t], [-s / total for s, _ in best], rtol=1e-5)
            assert prob[r, t].sum() == pytest.approx(1.0, rel=1e-5)
    assert n_low > 20


def test_tokens_affected_per_threshold(tmp_path):
    rng = np.random.default_rng(5)
    codes, qual, offsets = _chunk(rng, 300, 80)
    fq = tmp_path / "q.fastq"
    with FastqWriter(fq) as out:
        for r in range(300):
            a, b = offsets[r], offsets[r + 1]
            seq = "".join("ACGTN"[c] for c in codes[a:b])
            out.write((f"r{r}", seq, "".join(chr(33 + x) for x in qual[a:b])))
    table = tokens_affected([fq], [0, 10, 20, 30, 50], k=4, max_length=50, chunk_reads=70)
    tok = KmerTokenizer(4)
    toks = tok.encode_arrays(codes, qual, offsets, max_length=50)
    mq = toks.min_qual[kmer_positions(toks.n_tokens, 50)]
    for row in table.itertuples():
        assert row.tokens == len(mq) and row.reads == 300
        assert row.tokens_affected == int((mq < row.threshold).sum())
    assert table.fraction_tokens.is_monotonic_increasing
    assert table.fraction_tokens.iloc[0] == 0.0 and table.fraction_tokens.iloc[-1] == 1.0
    half = tokens_affected([fq], [20], k=4, max_length=50, max_reads=120, chunk_reads=50)
    assert half.reads.iloc[0] == 120
