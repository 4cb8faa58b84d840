"""Nucleotide codes shared by the parsers and the kernels.

A base is one ``uint8`` code: ``A=0, C=1, G=2, T=3`` (upper or lower case) and ``4`` for
everything else (``N``, IUPAC ambiguity codes, any other byte). :data:`ENCODE_LUT` is the
256-entry lookup table from an ASCII byte to its code; :data:`DECODE_ALPHABET` maps a code
back to an upper-case letter (so ``decode(encode(s)) == s.upper()`` for ``s`` over ACGTN,
and every other letter comes back as ``N``).
"""

from __future__ import annotations

import numpy as np

CODE_A, CODE_C, CODE_G, CODE_T, CODE_N = 0, 1, 2, 3, 4
N_CODES = 5

#: byte -> code lookup table, ``uint8[256]``.
ENCODE_LUT = np.full(256, CODE_N, dtype=np.uint8)
for _letters, _code in ((b"Aa", CODE_A), (b"Cc", CODE_C), (b"Gg", CODE_G), (b"Tt", CODE_T)):
    for _b in _letters:
        ENCODE_LUT[_b] = _code
ENCODE_LUT.setflags(write=False)

#: code -> ASCII byte, ``uint8[5]`` (``b"ACGTN"``).
DECODE_ALPHABET = np.frombuffer(b"ACGTN", dtype=np.uint8)

#: code -> ASCII byte for any ``uint8`` (codes >= 4 give ``N``), ``uint8[256]``.
DECODE_LUT = np.full(256, ord("N"), dtype=np.uint8)
DECODE_LUT[:4] = DECODE_ALPHABET[:4]
DECODE_LUT.setflags(write=False)


def encode(seq: bytes | bytearray | memoryview | str) -> np.ndarray:
    """Codes of a sequence: ``uint8[len(seq)]`` (A/a=0, C/c=1, G/g=2, T/t=3, else 4).

    A ``str`` with non-ASCII characters keeps its length (each such character is code 4).
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    return ENCODE_LUT[np.frombuffer(seq, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Sequence of codes as an upper-case string over ``ACGTN``.

    ``codes`` is any integer array of values 0..4; a value outside that range raises
    ``ValueError``.
    """
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() > CODE_N):
        raise ValueError(f"nucleotide codes must be in 0..4, got {codes.min()}..{codes.max()}")
    return DECODE_ALPHABET[codes.astype(np.intp, copy=False)].tobytes().decode("ascii")
