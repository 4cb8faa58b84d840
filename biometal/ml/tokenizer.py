"""DNABERT-style overlapping k-mer tokenizer with a ``vocab.txt`` in DNABERT's layout.

Vocabulary (:meth:`KmerTokenizer.save_vocabulary` writes it, :meth:`from_vocab_file` reads
it): one token a line, ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4) and then all ``4**k``
k-mers in DNABERT's order, ``itertools.product("ATCG", repeat=k)`` (``AAA AAT AAC AAG ATA
...`` for k=3), so a DNABERT ``bert-config-K/vocab.txt`` loads as is. A vocabulary file in
any other order (or missing some k-mers, which then encode as ``[UNK]``) is read correctly
too: encoding goes through a lookup table built from the file.

Encoding follows DNABERT: the read is cut into overlapping k-mers (k-mer ``j`` starts at
base ``j * stride``), wrapped as ``[CLS] k-mers [SEP]``, truncated on the right to
``max_length`` tokens and padded with ``[PAD]``. A k-mer holding any base other than
A/C/G/T (``N``, IUPAC codes) is ``[UNK]``; a read shorter than ``k`` is ``[CLS] [SEP]``.
Bases are case-insensitive (the reader's codes). Batch encoding runs on the numpy chunks of
the streaming reader through the ``kmer_tokenize`` kernel (numba on CPU, Metal on Apple
GPUs); :meth:`encode` and :meth:`encode_batch` take strings for convenience.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError, InputFormatError
from biometal.io.encoding import encode as encode_bases
from biometal.io.fastx import ReadChunk
from biometal.io.sinks import write_bytes
from biometal.kernels.kmer_tokenize import KmerTokens, kmer_tokenize

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = SPECIAL_TOKENS
#: base order of DNABERT's vocab.txt (product order of the k-mers)
DNABERT_BASES = "ATCG"
_CODE = {"A": 0, "C": 1, "G": 2, "T": 3}  # the reader's codes
MIN_K, MAX_K = 1, 8

__all__ = [
    "KmerTokenizer",
    "KmerTokens",
    "SPECIAL_TOKENS",
    "TokenizerError",
    "dnabert_vocabulary",
    "seq2kmer",
    "tokenize_file",
]


class TokenizerError(BiometalError, ValueError):
    """An invalid tokenizer setting (k, stride, max_length). One-line message."""


def dnabert_vocabulary(k: int) -> list[str]:
    """The tokens of DNABERT's ``vocab.txt`` for ``k``: 5 specials, then ``4**k`` k-mers."""
    return [*SPECIAL_TOKENS, *("".join(p) for p in itertools.product(DNABERT_BASES, repeat=k))]


def seq2kmer(seq: str, k: int, stride: int = 1) -> str:
    """DNABERT's input text: the overlapping k-mers of ``seq`` joined by spaces."""
    return " ".join(seq[i : i + k] for i in range(0, len(seq) - k + 1, stride))


def _kmer_index(kmer: str) -> int:
    index = 0
    for base in kmer:
        index = (index << 2) | _CODE[base]
    return index


class KmerTokenizer:
    """Overlapping k-mer tokenizer (``k`` in 1..8, DNABERT uses 3..6; ``1 <= stride <= k``).

    ``vocab``: the tokens in id order (default: DNABERT's layout for ``k``). ``backend``:
    the compute backend of batch encoding (auto | metal | cpu; None: ``$BIOMETAL_BACKEND``).
    Attributes: ``vocab``, ``vocab_size``, ``token_to_id``, ``pad_id`` ``unk_id``
    ``cls_id`` ``sep_id`` ``mask_id``, ``kmer_ids`` (sorted ids of the k-mer tokens) and
    ``lut`` (int32[4**k], k-mer index in the reader's base codes -> id).
    """

    def __init__(
        self,
        k: int = 6,
        stride: int = 1,
        vocab: Sequence[str] | None = None,
        *,
        backend: str | None = None,
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= MAX_K:
            raise TokenizerError(f"k must be an integer in {MIN_K}..{MAX_K}, got {k!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= k:
            raise TokenizerError(f"stride must be an integer in 1..k ({k}), got {stride!r}")
        self.k = k
        self.stride = stride
        self.backend = backend
        tokens = list(dnabert_vocabulary(k) if vocab is None else vocab)
        self._set_vocab(tokens, "<vocab>")

    def _set_vocab(self, tokens: list[str], where: str) -> None:
        token_to_id: dict[str, int] = {}
        lut = np.full(4**self.k, -1, np.int32)
        for i, tok in enumerate(tokens):
            if tok in token_to_id:
                raise InputFormatError(where, i + 1, f"duplicate token {tok!r}")
            token_to_id[tok] = i
            if tok in SPECIAL_TOKENS:
                continue
            if len(tok) != self.k or any(b not in _CODE for b in tok):
                raise InputFormatError(
                    where,
                    i + 1,
                    f"token {tok!r} is neither a special token {'/'.join(SPECIAL_TOKENS)} "
                    f"nor a {self.k}-mer over ACGT",
                )
            lut[_kmer_index(tok)] = i
        missing = [t for t in SPECIAL_TOKENS if t not in token_to_id]
        if missing:
            raise InputFormatError(where, None, f"vocabulary lacks {', '.join(missing)}")
        self.vocab = tokens
        self.token_to_id = token_to_id
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (
            token_to_id[t] for t in SPECIAL_TOKENS
        )
        lut[lut < 0] = self.unk_id
        self.lut = lut
        self.kmer_ids = np.array(
            sorted(i for t, i in token_to_id.items() if t not in SPECIAL_TOKENS), np.int64
        )

    # ------------------------------------------------------------------ vocabulary file

    @property
    def vocab_size(self) -> int:
        """Number of tokens (``5 + 4**k`` for DNABERT's layout)."""
        return len(self.vocab)

    @property
    def special_ids(self) -> tuple[int, int, int, int, int]:
        """(pad, unk, cls, sep, mask) ids."""
        return self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id

    @classmethod
    def from_vocab_file(
        cls, path: str | os.PathLike, stride: int = 1, *, backend: str | None = None
    ) -> KmerTokenizer:
        """Load a ``vocab.txt`` (one token a line; a directory means ``DIR/vocab.txt``).

        ``k`` is the length of its k-mers. Raises InputFormatError (file, line, what) for a
        line that is not a special token or a k-mer, k-mers of different lengths, a
        duplicate, a missing special token or a vocabulary without k-mers.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "vocab.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputFormatError(str(path), None, f"cannot read vocabulary: {exc}") from None
        tokens = text.split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        tokens = [t.rstrip("\r") for t in tokens]
        kmers = [(i, t) for i, t in enumerate(tokens) if t not in SPECIAL_TOKENS]
        if not kmers:
            raise InputFormatError(str(path), None, "vocabulary has no k-mer tokens")
        k = len(kmers[0][1])
        for i, t in kmers:
            if len(t) != k:
                raise InputFormatError(
                    str(path), i + 1, f"token {t!r} has length {len(t)}, the first k-mer {k}"
                )
        if not MIN_K <= k <= MAX_K:
            raise InputFormatError(str(path), kmers[0][0] + 1, f"k-mer length {k} not in 1..8")
        tok = cls.__new__(cls)
        tok.k, tok.backend = k, backend
        if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= k:
            raise TokenizerError(f"stride must be an integer in 1..k ({k}), got {stride!r}")
        tok.stride = stride
        tok._set_vocab(tokens, str(path))
        return tok

    def save_vocabulary(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary (one token a line) to ``path`` (a directory: ``DIR/vocab.txt``).

        Atomic: the file appears complete or not at all. Returns the file written.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "vocab.txt"
        write_bytes(path, ("\n".join(self.vocab) + "\n").encode("ascii"))
        return path

    # ------------------------------------------------------------------ encoding

    def encode_arrays(
        self,
        codes: np.ndarray,
        qual: np.ndarray | None,
        offsets: np.ndarray,
        *,
        max_length: int = 512,
        add_special_tokens: bool = True,
        mask_below: int = 0,
        reverse_complement: np.ndarray | None = None,
    ) -> KmerTokens:
        """Tokens of reads given as reader arrays (codes/qual uint8[n_bases], offsets int64[n+1]).

        Returns :class:`~biometal.kernels.kmer_tokenize.KmerTokens` (ids int32[n,
        max_length], n_tokens, min_qual). ``mask_below``: k-mers with a base quality under it
        become ``[MASK]`` (0: off). ``reverse_complement``: uint8/bool[n], 1 to tokenize that
        read's reverse complement.
        """
        return kmer_tokenize(
            codes,
            qual,
            offsets,
            self.lut,
            self.k,
            stride=self.stride,
            max_length=max_length,
            add_special=add_special_tokens,
            mask_below=mask_below,
            special=self.special_ids,
            rc=reverse_complement,
            backend=self.backend,
        )

    def encode_chunk(self, chunk: ReadChunk, **kwargs) -> KmerTokens:
        """:meth:`encode_arrays` on a :class:`~biometal.io.fastx.ReadChunk` of the reader."""
        return self.encode_arrays(chunk.codes, chunk.qual, chunk.offsets, **kwargs)

    def n_kmers(self, length: int) -> int:
        """k-mer tokens of a read of ``length`` bases (before truncation)."""
        return (length - self.k) // self.stride + 1 if length >= self.k else 0

    def encode_batch(
        self,
        seqs: Iterable[str],
        *,
        max_length: int | None = None,
        add_special_tokens: bool = True,
        reverse_complement: bool = False,
    ) -> KmerTokens:
        """Tokens of several sequences; ``max_length`` None: the longest, untruncated."""
        parts = [encode_bases(s) for s in seqs]
        lengths = np.array([len(p) for p in parts], np.int64)
        offsets = np.zeros(len(parts) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        codes = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
        if max_length is None:
            longest = max((self.n_kmers(int(n)) for n in lengths), default=0)
            max_length = longest + (2 if add_special_tokens else 0) or 1
        rc = np.full(len(parts), int(reverse_complement), np.uint8)
        return self.encode_arrays(
            codes,
            None,
            offsets,
            max_length=max_length,
            add_special_tokens=add_special_tokens,
            reverse_complement=rc,
        )

    def encode(
        self,
        seq: str,
        *,
        max_length: int | None = None,
        add_special_tokens: bool = True,
        reverse_complement: bool = False,
    ) -> list[int]:
        """Token ids of one sequence, without padding (truncated to ``max_length`` if given)."""
        tokens = self.encode_batch(
            [seq],
            max_length=max_length,
            add_special_tokens=add_special_tokens,
            reverse_complement=reverse_complement,
        )
        return tokens.ids[0, : int(tokens.n_tokens[0])].tolist()

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        """The token strings of ``ids``."""
        return [self.vocab[int(i)] for i in ids]

    def decode(self, ids: Iterable[int], *, skip_special_tokens: bool = True) -> str:
        """The k-mer tokens of ``ids`` joined by spaces (DNABERT's text form)."""
        toks = self.convert_ids_to_tokens(ids)
        if skip_special_tokens:
            toks = [t for t in toks if t not in SPECIAL_TOKENS]
        return " ".join(toks)

    def __repr__(self) -> str:
        return f"KmerTokenizer(k={self.k}, stride={self.stride}, vocab_size={self.vocab_size})"


# ---------------------------------------------------------------------- files

#: bytes of the ``.npy`` header :func:`tokenize_file` reserves (rewritten with the final shape).
_NPY_HEADER = 128


def _npy_header(n_rows: int, n_cols: int) -> bytes:
    """A version 1.0 ``.npy`` header of an int32 C-order [n_rows, n_cols] array, padded to
    :data:`_NPY_HEADER` bytes (so it can be rewritten in place once the row count is known)."""
    import struct

    body = f"{{'descr': '<i4', 'fortran_order': False, 'shape': ({n_rows}, {n_cols}), }}"
    size = _NPY_HEADER - 10  # magic (6) + version (2) + header length (2)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", size) + (body.ljust(size - 1) + "\n").encode()


def tokenize_file(
    reads: str | os.PathLike,
    out: str | os.PathLike,
    tokenizer: KmerTokenizer,
    *,
    max_length: int = 512,
    add_special_tokens: bool = True,
    mask_below: int = 0,
    chunk_reads: int = 65536,
    threads: int | None = None,
) -> dict[str, int]:
    """Token ids of every read of a FASTQ file (plain/gzip/URL, ``-`` for standard input),
    streamed chunk by chunk through :meth:`KmerTokenizer.encode_chunk`.

    ``out`` ending in ``.npy``: int32[n_reads, max_length], ``[PAD]`` after each read's
    tokens (load with ``numpy.load``). Anything else (``.tsv``, ``.tsv.gz``, ``-`` for
    standard output): a TSV with a header line and one row per read, ``read`` (ID),
    ``n_tokens`` and ``token_ids`` (space-separated, no padding). Written atomically.
    ``threads``: numba threads of the cpu kernel (None: unchanged). Returns counts.
    """
    from biometal._threads import numba_threads
    from biometal.io.atomic import atomic_path
    from biometal.io.fastx import read_fastq_chunks
    from biometal.io.sinks import output_sink

    if max_length < (3 if add_special_tokens else 1):
        raise TokenizerError(
            f"max_length must be >= {3 if add_special_tokens else 1} (a k-mer"
            f"{' between [CLS] and [SEP]' if add_special_tokens else ''}), got {max_length}"
        )
    opts = dict(max_length=max_length, add_special_tokens=add_special_tokens, mask_below=mask_below)
    n_reads = n_tokens = 0

    def encoded() -> Iterator[tuple[ReadChunk, KmerTokens]]:
        nonlocal n_reads, n_tokens
        for chunk in read_fastq_chunks(reads, chunk_reads=chunk_reads, with_names=True):
            tokens = tokenizer.encode_chunk(chunk, **opts)
            n_reads += len(chunk)
            n_tokens += int(tokens.n_tokens.sum())
            yield chunk, tokens

    with numba_threads(threads):
        if os.fspath(out).endswith(".npy"):
            with atomic_path(out) as tmp, open(tmp, "wb") as fh:
                fh.write(_npy_header(0, max_length))
                for _, tokens in encoded():
                    fh.write(np.ascontiguousarray(tokens.ids, "<i4").tobytes())
                fh.seek(0)
                fh.write(_npy_header(n_reads, max_length))
        else:
            with output_sink(out) as sink:
                sink.write(b"read\tn_tokens\ttoken_ids\n")
                for chunk, tokens in encoded():
                    lines = []
                    for i, (name, n) in enumerate(
                        zip(chunk.names or [], tokens.n_tokens.tolist(), strict=True)
                    ):
                        read_id = (name.split(None, 1) or [b""])[0].decode("latin-1")
                        ids = " ".join(map(str, tokens.ids[i, :n].tolist()))
                        lines.append(f"{read_id}\t{n}\t{ids}\n")
                    sink.write("".join(lines).encode())
    log.info("%s: %d reads, %d tokens -> %s", reads, n_reads, n_tokens, out)
    return {"reads": n_reads, "tokens": n_tokens}
