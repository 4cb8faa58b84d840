"""numba loops of the VCF/BCF reader (biometal.io.vcf; imported lazily: numba is slow to load).

Text VCF: :func:`parse_vcf_lines` walks the complete lines of a buffer once and records, per
record, byte spans of the string columns, POS, QUAL, spans of the requested INFO values,
GT (int8 alleles + a phased flag) and spans of the requested FORMAT values per sample.
BCF (BCF2.2 specification): :func:`parse_bcf_records` walks the binary records and records
the same things, with typed-value descriptors (type, count, byte offset) instead of spans.
The converters (:func:`spans_to_ints`, :func:`typed_to_ints`, ...) then turn only the
requested fields into padded numeric arrays with htslib's sentinels: int32 missing
``INT32_MIN``, end-of-vector ``INT32_MIN + 1``; float32 bit patterns 0x7F800001 (missing)
and 0x7F800002 (end of vector).
"""

from __future__ import annotations

import numpy as np

from biometal.kernels.jit import BYTES, intrinsic, njit, signature

# Status codes (the Python side turns them into one-line errors naming file and line/record).
OK = 0
BAD_COLUMNS = 1
BAD_POS = 2
BAD_QUAL = 3
BAD_GT = 4
HEADER_IN_BODY = 5
BAD_RECORD = 6
TOO_MANY_FORMAT_KEYS = 7
BIG_ALLELE = 8  # an allele index too large for the GT array's dtype (retry with int16)

INT_MISSING = np.int32(-2147483648)
INT_END = np.int32(-2147483647)
FLOAT_MISSING_BITS = np.uint32(0x7F800001)
FLOAT_END_BITS = np.uint32(0x7F800002)
GT_MISSING = -1  # '.' allele
GT_PAD = -2  # ploidy below the array's width

#: String columns recorded as spans by parse_vcf_lines.
S_CHROM, S_ID, S_REF, S_ALT, S_FILTER = range(5)
MAX_FORMAT_KEYS = 256


@intrinsic
def _unmanaged(typingctx, arr):  # pragma: no cover - compiled
    """A view of ``arr`` without its reference-counted owner (meminfo NULL), for hot loops.

    numba increfs/decrefs an array's owner with an atomic instruction each time it is passed
    to an inlined helper; in loops where its reference-count pruning gives up, those atomics
    dominated the BCF walk. The caller keeps ``arr`` alive for as long as the view is used.
    """

    def codegen(context, builder, sig, args):
        from llvmlite import ir

        src = context.make_array(sig.args[0])(context, builder, args[0])
        dst = context.make_array(sig.return_type)(context, builder)
        for name in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(dst, name, getattr(src, name))
        dst.meminfo = ir.Constant(dst.meminfo.type, None)
        dst.parent = ir.Constant(dst.parent.type, None)
        return dst._getvalue()

    return arr(arr), codegen


_TAB = 9
_NL = 10
_CR = 13


@njit(cache=True, nogil=True, inline="always")
def _key_eq(buf, s, e, keys, koff, j):  # pragma: no cover - compiled
    a, b = koff[j], koff[j + 1]
    if e - s != b - a:
        return False
    for i in range(b - a):
        if buf[s + i] != keys[a + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _parse_float(buf, s, e):  # pragma: no cover - compiled
    """(value, ok) of the decimal float in buf[s:e] (sign, digits, '.', exponent, inf, nan)."""
    p = s
    neg = False
    if p < e and (buf[p] == 45 or buf[p] == 43):
        neg = buf[p] == 45
        p += 1
    if p >= e:
        return 0.0, False
    c = buf[p] | 32
    if c == 105 or c == 110:  # inf / infinity / nan
        n = e - p
        w = 0
        for i in range(n):
            w = w * 256 + (buf[p + i] | 32)
            if i > 8:
                return 0.0, False
        if (n == 3 and w == 0x696E66) or n == 8:
            return (-np.inf if neg else np.inf), True
        if n == 3 and w == 0x6E616E:
            return np.nan, True
        return 0.0, False
    mant = np.int64(0)
    nd = 0
    exp10 = 0
    seen = False
    while p < e and 48 <= buf[p] <= 57:
        if nd < 18:
            mant = mant * 10 + (buf[p] - 48)
            if mant:
                nd += 1
        else:
            exp10 += 1
        seen = True
        p += 1
    if p < e and buf[p] == 46:
        p += 1
        while p < e and 48 <= buf[p] <= 57:
            if nd < 18:
                mant = mant * 10 + (buf[p] - 48)
                if mant:
                    nd += 1
                exp10 -= 1
            seen = True
            p += 1
    if not seen:
        return 0.0, False
    if p < e and (buf[p] | 32) == 101:
        p += 1
        eneg = False
        if p < e and (buf[p] == 45 or buf[p] == 43):
            eneg = buf[p] == 45
            p += 1
        if p >= e:
            return 0.0, False
        ev = 0
        while p < e and 48 <= buf[p] <= 57:
            if ev < 100000:
                ev = ev * 10 + (buf[p] - 48)
            p += 1
        exp10 += -ev if eneg else ev
    if p != e:
        return 0.0, False
    v = float(mant)
    if exp10 > 0:
        v = v * 10.0**exp10
    elif exp10 < 0:
        if exp10 < -300:
            v = v / 10.0 ** -(exp10 + 300) / 1e300
        else:
            v = v / 10.0**-exp10
    return (-v if neg else v), True


@njit(cache=True, nogil=True)
def _parse_int(buf, s, e):  # pragma: no cover - compiled
    """(value, ok) of the decimal integer in buf[s:e]."""
    p = s
    neg = False
    if p < e and (buf[p] == 45 or buf[p] == 43):
        neg = buf[p] == 45
        p += 1
    if p >= e:
        return np.int64(0), False
    v = np.int64(0)
    while p < e:
        c = buf[p]
        if c < 48 or c > 57:
            return np.int64(0), False
        v = v * 10 + (c - 48)
        if v > 4611686018427387904:
            return np.int64(0), False
        p += 1
    return (-v if neg else v), True


@njit(cache=True, nogil=True)
def _int_prefix(buf, s, e):  # pragma: no cover - compiled
    """(value, ok) of the integer at the start of buf[s:e] (digits after an optional sign)."""
    p = s
    if p < e and (buf[p] == 45 or buf[p] == 43):
        p += 1
    q = p
    while q < e and 48 <= buf[q] <= 57:
        q += 1
    if q == p:
        return np.int64(0), False
    return _parse_int(buf, s, q)


@njit(cache=True, nogil=True)
def _parse_gt(buf, s, e, gt, phased, r, j, ploidy, amax):  # pragma: no cover - compiled
    """Alleles of the GT text buf[s:e] into gt[r, j, :]; returns (n_alleles, status)."""
    k = 0
    p = s
    ph = False
    while True:
        if p >= e:
            return k, BAD_GT
        if buf[p] == 46:
            a = -1
            p += 1
        else:
            a = 0
            q = p
            while p < e and 48 <= buf[p] <= 57:
                a = a * 10 + (buf[p] - 48)
                if a > 32767:
                    return k, BAD_GT
                p += 1
            if p == q:
                return k, BAD_GT
            if a > amax:
                return k, BIG_ALLELE
        if k < ploidy:
            gt[r, j, k] = a
        k += 1
        if p >= e:
            break
        c = buf[p]
        if c == 124:
            ph = True
        elif c != 47:
            return k, BAD_GT
        p += 1
    phased[r, j] = ph
    return k, OK


@njit(cache=True, nogil=True)
def parse_vcf_lines(
    buf_in,
    start,
    stop,
    max_rec,
    n_samples,
    info_keys,
    info_koff,
    fmt_keys,
    fmt_koff,
    gt,
    amax,
    want_gt,
):  # pragma: no cover - compiled
    """Parse up to ``max_rec`` complete lines of ``buf[start:stop]`` (stop is after a newline;
    the arrays have ``max_rec`` rows: pass at most the number of lines left).

    Returns (n, next, status, err_offset, max_ploidy, spans int64[n,5,2], pos int64[n],
    qual_bits uint32[n], info_sp int64[n,K,2], gt int8[n,S,P], phased bool[n,S],
    fmt_sp int64[n,S,J,2]). A span [-1, -1] is an absent value; an INFO flag present
    without '=' (a flag) has the span [end, end - 1). ``next`` is where the next call starts.
    ``gt``: an int8 or int16 [0, S, ploidy] array giving dtype and shape (the filled one is
    returned);
    ``amax``: the largest allele index it holds (127 or 32767).
    """
    buf = _unmanaged(buf_in)
    info_keys = _unmanaged(info_keys)
    info_koff = _unmanaged(info_koff)
    fmt_keys = _unmanaged(fmt_keys)
    fmt_koff = _unmanaged(fmt_koff)
    ploidy = gt.shape[2]
    nk = len(info_koff) - 1
    nj = len(fmt_koff) - 1
    gt = np.full((max_rec, gt.shape[1], ploidy), GT_PAD, gt.dtype)
    spans = np.full((max_rec, 5, 2), -1, np.int64)
    pos = np.zeros(max_rec, np.int64)
    qual = np.zeros(max_rec, np.uint32)
    info_sp = np.full((max_rec, nk, 2), -1, np.int64)
    gt_s = n_samples if want_gt else 0
    phased = np.zeros((max_rec, gt_s), np.bool_)
    fmt_sp = np.full((max_rec, n_samples if nj else 0, nj, 2), -1, np.int64)
    keymap = np.empty(MAX_FORMAT_KEYS, np.int64)
    qbox = np.empty(1, np.float32)  # QUAL's float32 bits without an array per record
    qbits = qbox.view(np.uint32)
    gt_v = _unmanaged(gt)  # views for the loop (see _unmanaged); gt / phased are returned
    phased_v = _unmanaged(phased)
    max_pl = 0
    n = 0
    p = start
    status = OK  # an error stops at its line: n and p are those before it
    while p < stop and n < max_rec:
        ls = p
        le = p
        while le < stop and buf[le] != _NL:
            le += 1
        nxt = le + 1
        if le > ls and buf[le - 1] == _CR:
            le -= 1
        if le == ls:
            p = nxt
            continue
        if buf[ls] == 35:
            status = HEADER_IN_BODY
            break
        r = n
        col = 0
        fs = ls
        q = ls
        fmt_s = -1
        nfmt = 0
        while True:
            if q == le or buf[q] == _TAB:
                fe = q
                if col == 0:
                    spans[r, S_CHROM, 0] = fs
                    spans[r, S_CHROM, 1] = fe
                elif col == 1:
                    v, ok = _parse_int(buf, fs, fe)
                    if not ok or v < 0:
                        status = BAD_POS
                        break
                    pos[r] = v
                elif col == 2:
                    spans[r, S_ID, 0] = fs
                    spans[r, S_ID, 1] = fe
                elif col == 3:
                    spans[r, S_REF, 0] = fs
                    spans[r, S_REF, 1] = fe
                elif col == 4:
                    spans[r, S_ALT, 0] = fs
                    spans[r, S_ALT, 1] = fe
                elif col == 5:
                    if fe - fs == 1 and buf[fs] == 46:
                        qual[r] = FLOAT_MISSING_BITS
                    else:
                        fv, ok = _parse_float(buf, fs, fe)
                        if not ok:
                            status = BAD_QUAL
                            break
                        qbox[0] = fv
                        qual[r] = qbits[0]
                elif col == 6:
                    spans[r, S_FILTER, 0] = fs
                    spans[r, S_FILTER, 1] = fe
                elif col == 7:
                    if nk and not (fe - fs == 1 and buf[fs] == 46):
                        a = fs
                        while a < fe:
                            b = a
                            eq = -1
                            while b < fe and buf[b] != 59:
                                if eq < 0 and buf[b] == 61:
                                    eq = b
                                b += 1
                            ke = eq if eq >= 0 else b
                            for j in range(nk):
                                if _key_eq(buf, a, ke, info_keys, info_koff, j):
                                    if eq >= 0:
                                        info_sp[r, j, 0] = eq + 1
                                        info_sp[r, j, 1] = b
                                    else:  # a bare key: the span [b, b - 1) marks it
                                        info_sp[r, j, 0] = b
                                        info_sp[r, j, 1] = b - 1
                                    break
                            a = b + 1
                elif col == 8:
                    fmt_s = fs
                    a = fs
                    while a <= fe:
                        b = a
                        while b < fe and buf[b] != 58:
                            b += 1
                        if nfmt >= MAX_FORMAT_KEYS:
                            status = TOO_MANY_FORMAT_KEYS
                            break
                        km = -1
                        if b - a == 2 and buf[a] == 71 and buf[a + 1] == 84:
                            km = -2
                        else:
                            for j in range(nj):
                                if _key_eq(buf, a, b, fmt_keys, fmt_koff, j):
                                    km = j
                                    break
                        keymap[nfmt] = km
                        nfmt += 1
                        a = b + 1
                    if status != OK:
                        break
                elif col - 9 < n_samples:
                    s = col - 9
                    a = fs
                    k = 0
                    while a <= fe and k < nfmt:
                        b = a
                        while b < fe and buf[b] != 58:
                            b += 1
                        km = keymap[k]
                        if km == -2:
                            if want_gt:
                                na, st = _parse_gt(buf, a, b, gt_v, phased_v, r, s, ploidy, amax)
                                if st != OK:
                                    status = st
                                    break
                                if na > max_pl:
                                    max_pl = na
                        elif km >= 0 and b > a:  # an empty value is missing
                            fmt_sp[r, s, km, 0] = a
                            fmt_sp[r, s, km, 1] = b
                        k += 1
                        a = b + 1
                    if status != OK:
                        break
                    if want_gt and k == 0 and nfmt > 0 and keymap[0] == -2:
                        gt[r, s, 0] = GT_MISSING
                col += 1
                fs = q + 1
                if q == le:
                    break
            q += 1
        if status != OK:
            break
        if (
            col < 8
            or (n_samples > 0 and col != 9 + n_samples)
            or (n_samples == 0 and col > 9)
            or (fmt_s < 0 and n_samples > 0)
        ):
            status = BAD_COLUMNS
            break
        if want_gt and n_samples > 0:
            has_gt = False
            for k in range(nfmt):
                if keymap[k] == -2:
                    has_gt = True
            for s in range(n_samples):  # no GT value (or no GT key): one missing allele
                if gt[r, s, 0] == GT_PAD or not has_gt:
                    gt[r, s, 0] = GT_MISSING
        n += 1
        p = nxt
    err = p if status != OK else -1
    return n, p, status, err, max_pl, spans, pos, qual, info_sp, gt, phased, fmt_sp


@njit(cache=True, nogil=True)
def gather(buf, spans):  # pragma: no cover - compiled
    """buf[spans[i,0]:spans[i,1]] joined with b'\\n' (absent spans give b'.'; NULs dropped)."""
    total = 0
    for i in range(spans.shape[0]):
        if spans[i, 0] < 0:
            total += 2
        else:
            total += max(spans[i, 1] - spans[i, 0], 0) + 1
    out = np.empty(max(total - 1, 0), np.uint8)
    o = 0
    for i in range(spans.shape[0]):
        if i:
            out[o] = _NL
            o += 1
        if spans[i, 0] < 0:
            out[o] = 46
            o += 1
        else:
            for p in range(spans[i, 0], spans[i, 1]):
                c = buf[p]
                if c != 0:
                    out[o] = c
                    o += 1
    return out[:o]


@njit(cache=True, nogil=True)
def intern_spans(buf, spans):  # pragma: no cover - compiled
    """Distinct short strings among the spans, as :func:`gather` reads them.

    Returns (codes int32[n], first int64[m, 2]): span i reads as the string of ``first[codes[i]]``
    (the first span with the same bytes; absent spans read ``b'.'``), or ``codes[i] == m``
    for a span longer than 7 bytes or holding a NUL, a newline or a non-ASCII byte (those
    are gathered one by one). Repeated values (CHROM, REF, ALT, FILTER) then cost one
    Python string each instead of one per record.
    """
    n = spans.shape[0]
    size = 64
    while size < 2 * n:
        size <<= 1
    mask = size - 1
    keys = np.zeros(size, np.uint64)  # 0: empty slot (a key holds its length + 1 in byte 7)
    slot_code = np.empty(size, np.int32)
    codes = np.empty(n, np.int32)
    first = np.empty((n, 2), np.int64)
    m = 0
    long_code = np.int32(-1)
    for i in range(n):
        s = spans[i, 0]
        e = spans[i, 1]
        if s < 0:  # absent: reads "."
            key = np.uint64(46) | (np.uint64(2) << np.uint64(56))
        else:
            ln = e - s if e > s else 0
            if ln > 7:
                codes[i] = long_code
                continue
            key = np.uint64(ln + 1) << np.uint64(56)
            ok = True
            for k in range(ln):
                c = buf[s + k]
                if c == 0 or c > 127 or c == _NL:
                    ok = False
                    break
                key |= np.uint64(c) << np.uint64(8 * k)
            if not ok:
                codes[i] = long_code
                continue
        h = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
        while True:
            if keys[h] == key:
                codes[i] = slot_code[h]
                break
            if keys[h] == 0:
                keys[h] = key
                slot_code[h] = m
                first[m, 0] = s
                first[m, 1] = e
                codes[i] = m
                m += 1
                break
            h = (h + 1) & mask
    for i in range(n):
        if codes[i] < 0:
            codes[i] = m
    return codes, first[:m]


@njit(cache=True, nogil=True)
def count_values(buf, spans):  # pragma: no cover - compiled
    """Most comma-separated values in any present span (at least 1)."""
    w = 1
    for i in range(spans.shape[0]):
        if spans[i, 0] < 0:
            continue
        c = 1
        for p in range(spans[i, 0], spans[i, 1]):
            if buf[p] == 44:
                c += 1
        if c > w:
            w = c
    return w


@njit(cache=True, nogil=True)
def spans_to_ints(buf, spans, width):  # pragma: no cover - compiled
    """int32[n, width] of comma-separated integers ('.' = missing, short rows end-padded).

    Returns (values, bad_row) where bad_row is -1 or the first row that is not integers."""
    n = spans.shape[0]
    out = np.full((n, width), INT_END, np.int32)
    for i in range(n):
        out[i, 0] = INT_MISSING
        if spans[i, 0] < 0:
            continue
        if spans[i, 1] < spans[i, 0]:
            out[i, 0] = 1  # a bare key (written as a flag): htslib prints 1
            continue
        a = spans[i, 0]
        e = spans[i, 1]
        k = 0
        while a <= e and k < width:
            b = a
            while b < e and buf[b] != 44:
                b += 1
            if b - a == 1 and buf[a] == 46:
                out[i, k] = INT_MISSING
            else:
                v, ok = _parse_int(buf, a, b)
                if not ok:  # as htslib (strtol): a leading integer counts, else missing
                    v, ok = _int_prefix(buf, a, b)
                if not ok or v > 2147483647 or v < -2147483640:
                    out[i, k] = INT_MISSING
                else:
                    out[i, k] = v
            k += 1
            a = b + 1
    return out, -1


@njit(cache=True, nogil=True)
def spans_to_float_bits(buf, spans, width, empty_zero):  # pragma: no cover - compiled
    """uint32[n, width] float32 bit patterns of comma-separated floats (see spans_to_ints);
    ``empty_zero``: an empty element is 0 (FORMAT), else missing (INFO), as htslib."""
    n = spans.shape[0]
    out = np.full((n, width), FLOAT_END_BITS, np.uint32)
    tmp = np.zeros(1, np.float32)
    tb = tmp.view(np.uint32)
    for i in range(n):
        out[i, 0] = FLOAT_MISSING_BITS
        if spans[i, 0] < 0:
            continue
        if spans[i, 1] < spans[i, 0]:
            out[i, 0] = np.uint32(0x3F800000)  # a bare key: 1.0, as htslib prints it
            continue
        a = spans[i, 0]
        e = spans[i, 1]
        k = 0
        while a <= e and k < width:
            b = a
            while b < e and buf[b] != 44:
                b += 1
            if b - a == 1 and buf[a] == 46:
                out[i, k] = FLOAT_MISSING_BITS
            elif b == a and empty_zero:
                out[i, k] = 0  # htslib reads an empty FORMAT float element as 0
            else:
                v, ok = _parse_float(buf, a, b)
                if not ok:
                    out[i, k] = FLOAT_MISSING_BITS  # as htslib: unparsable -> missing
                else:
                    tmp[0] = v
                    out[i, k] = tb[0]
            k += 1
            a = b + 1
    return out, -1


# ---------------------------------------------------------------------------------- BCF


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, p):  # pragma: no cover - compiled
    return (
        np.int64(buf[p])
        | (np.int64(buf[p + 1]) << 8)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 3]) << 24)
    )


@njit(cache=True, nogil=True, inline="always")
def _i32(buf, p):  # pragma: no cover - compiled
    v = _u32(buf, p)
    return v - 4294967296 if v >= 2147483648 else v


@njit(cache=True, nogil=True, inline="always")
def _tsize(t):  # pragma: no cover - compiled
    if t == 1 or t == 7:
        return 1
    if t == 2:
        return 2
    if t == 3 or t == 5:
        return 4
    return 0


@njit(cache=True, nogil=True, inline="always")
def _typed_int(buf, p, t):  # pragma: no cover - compiled
    """(value, is_missing, is_end) of the typed integer of type t at buf[p]."""
    if t == 1:
        v = np.int64(buf[p])
        v = v - 256 if v >= 128 else v
        return v, v == -128, v == -127
    if t == 2:
        v = np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)
        v = v - 65536 if v >= 32768 else v
        return v, v == -32768, v == -32767
    v = _i32(buf, p)
    return v, v == -2147483648, v == -2147483647


@njit(cache=True, nogil=True, inline="always")
def _descriptor(buf, p, end):  # pragma: no cover - compiled
    """(type, count, offset of values) of the typed value at buf[p]; type -1 if malformed."""
    if p >= end:
        return -1, 0, p
    d = buf[p]
    t = d & 15
    c = np.int64(d >> 4)
    p += 1
    if c == 15:
        if p >= end:
            return -1, 0, p
        t2 = buf[p] & 15
        sz = _tsize(t2)
        if (buf[p] >> 4) != 1 or sz == 0 or t2 == 5 or t2 == 7 or p + 1 + sz > end:
            return -1, 0, p
        c, _m, _e = _typed_int(buf, p + 1, t2)
        p += 1 + sz
    if t != 0 and _tsize(t) == 0:
        return -1, 0, p
    return t, c, p


@njit(cache=True, nogil=True, inline="always")
def _keyed_value(buf, p, end):  # pragma: no cover - compiled
    """(key, type, count, offset of values) of the INFO/FORMAT entry at buf[p] (a typed int
    key, then a typed value); type -1 if malformed."""
    t, c, p = _descriptor(buf, p, end)
    if t < 1 or t > 3 or c != 1:
        return np.int64(0), -1, np.int64(0), p
    key, _m, _e = _typed_int(buf, p, t)
    t, c, p = _descriptor(buf, p + _tsize(t), end)
    return key, t, c, p


@njit(cache=True, nogil=True)
def parse_bcf_records(
    buf_in, start, stop, max_rec, n_samples, info_ids, fmt_ids, gt_id, gt, amax, want_gt
):  # pragma: no cover - compiled
    """Parse up to ``max_rec`` complete BCF records of ``buf[start:stop]``.

    Returns (n, next, status, err_offset, max_ploidy, tid int32[n], pos int64[n] (1-based),
    rlen int64[n], qual_bits uint32[n], heap uint8, spans int64[n,3,2] (ID, REF, ALT into
    heap), filt int32[total], filt_off int64[n+1], info_meta int64[n,K,3],
    gt int8[n,S,P], phased bool[n,S], fmt_meta int64[n,J,3]). A meta row is (type, count,
    offset of the values in buf); type -1 when the key is absent. ``gt`` as in
    :func:`parse_vcf_lines`.
    """
    buf = _unmanaged(buf_in)
    ploidy = gt.shape[2]
    nk = len(info_ids)
    nj = len(fmt_ids)
    cnt = 0  # complete records: size the arrays to them, not to max_rec
    q0 = start
    while cnt < max_rec and q0 + 8 <= stop:
        q1 = q0 + 8 + _u32(buf, q0) + _u32(buf, q0 + 4)
        if q1 > stop:
            break
        cnt += 1
        q0 = q1
    gt = np.full((cnt, gt.shape[1], ploidy), GT_PAD, gt.dtype)
    max_rec = cnt
    tid = np.zeros(max_rec, np.int32)
    pos = np.zeros(max_rec, np.int64)
    rlen = np.zeros(max_rec, np.int64)
    qual = np.zeros(max_rec, np.uint32)
    heap = np.empty(stop - start + 16, np.uint8)
    h = 0
    spans = np.full((max_rec, 3, 2), -1, np.int64)
    filt = np.empty(stop - start + 16, np.int32)
    nf = 0
    filt_off = np.zeros(max_rec + 1, np.int64)
    info_meta = np.full((max_rec, nk, 3), -1, np.int64)
    gt_s = n_samples if want_gt else 0
    phased = np.zeros((max_rec, gt_s), np.bool_)
    fmt_meta = np.full((max_rec, nj, 3), -1, np.int64)
    max_pl = 0
    n = 0
    p = start
    status = OK  # an error stops at its record: n and p are those before it
    while n < max_rec and p + 8 <= stop:
        l_shared = _u32(buf, p)
        l_indiv = _u32(buf, p + 4)
        rec_end = p + 8 + l_shared + l_indiv
        if rec_end > stop:
            break
        r = n
        q = p + 8
        se = q + l_shared
        if l_shared < 24:
            status = BAD_RECORD
            break
        tid[r] = _i32(buf, q)
        pos[r] = _i32(buf, q + 4) + 1
        rlen[r] = _i32(buf, q + 8)
        qual[r] = _u32(buf, q + 12)
        n_info = buf[q + 16] | (np.int64(buf[q + 17]) << 8)
        n_allele = buf[q + 18] | (np.int64(buf[q + 19]) << 8)
        n_smp = buf[q + 20] | (np.int64(buf[q + 21]) << 8) | (np.int64(buf[q + 22]) << 16)
        n_fmt = buf[q + 23]
        if n_smp != n_samples and l_indiv > 0:
            status = BAD_RECORD
            break
        q += 24
        # ID
        t, c, q = _descriptor(buf, q, se)
        if t != 7 and t != 0:
            status = BAD_RECORD
            break
        spans[r, 0, 0] = h
        for i in range(c):
            if buf[q + i] != 0:
                heap[h] = buf[q + i]
                h += 1
        if h == spans[r, 0, 0]:
            heap[h] = 46
            h += 1
        spans[r, 0, 1] = h
        q += c
        # alleles
        for a in range(n_allele):
            t, c, q = _descriptor(buf, q, se)
            if t != 7 and t != 0:
                status = BAD_RECORD
                break
            if a == 0:
                spans[r, 1, 0] = h
            elif a == 1:
                spans[r, 1, 1] = h
                spans[r, 2, 0] = h
            else:
                heap[h] = 44
                h += 1
            for i in range(c):
                if buf[q + i] != 0:
                    heap[h] = buf[q + i]
                    h += 1
            q += c
        if status != OK:
            break
        if n_allele == 0:
            spans[r, 1, 0] = h
            spans[r, 1, 1] = h
        if n_allele <= 1:
            if n_allele == 1:
                spans[r, 1, 1] = h
            spans[r, 2, 0] = h
            heap[h] = 46
            h += 1
        spans[r, 2, 1] = h
        # FILTER
        t, c, q = _descriptor(buf, q, se)
        if t < 0 or t == 5 or t == 7:
            status = BAD_RECORD
            break
        sz = _tsize(t)
        for i in range(c):
            v, miss, end = _typed_int(buf, q + i * sz, t)
            if not miss and not end:
                filt[nf] = v
                nf += 1
        q += c * sz
        filt_off[r + 1] = nf
        # INFO
        for _i in range(n_info):
            key, t, c, q = _keyed_value(buf, q, se)
            if t < 0:
                status = BAD_RECORD
                break
            for j in range(nk):
                if info_ids[j] == key:
                    info_meta[r, j, 0] = t
                    info_meta[r, j, 1] = c
                    info_meta[r, j, 2] = q
            q += c * _tsize(t)
        if status != OK:
            break
        if q > se:
            status = BAD_RECORD
            break
        # FORMAT
        q = se
        if want_gt:  # a record without GT reads as one missing allele per sample
            for s in range(n_samples):
                gt[r, s, 0] = GT_MISSING
        for _f in range(n_fmt):
            key, t, c, q = _keyed_value(buf, q, rec_end)
            if t < 0:
                status = BAD_RECORD
                break
            sz = _tsize(t)
            if q + c * sz * n_samples > rec_end:
                status = BAD_RECORD
                break
            if key == gt_id and want_gt and t == 1 and c <= ploidy:  # int8: the usual case
                if c > max_pl:
                    max_pl = c
                for s in range(n_samples):
                    base = q + s * c
                    ph = False
                    k = 0
                    for i in range(c):
                        v = buf[base + i]
                        if v == 0x81:  # end of vector
                            break
                        if v == 0x80:
                            gt[r, s, k] = -1
                        else:  # 0 <= v < 128
                            gt[r, s, k] = (v >> 1) - 1
                            if i > 0 and (v & 1):
                                ph = True
                        k += 1
                    if k == 0:
                        gt[r, s, 0] = GT_MISSING
                    phased[r, s] = ph
            elif key == gt_id and want_gt and t >= 1 and t <= 3:
                if c > max_pl:
                    max_pl = c
                for s in range(n_samples):
                    base = q + s * c * sz
                    ph = False
                    k = 0
                    for i in range(c):
                        v, miss, end = _typed_int(buf, base + i * sz, t)
                        if end:
                            break
                        if miss:
                            a = -1
                        else:
                            a = (v >> 1) - 1
                            if a > amax:
                                status = BIG_ALLELE
                                break
                            if i > 0 and (v & 1):
                                ph = True
                        if k < ploidy:
                            gt[r, s, k] = a
                        k += 1
                    if status != OK:
                        break
                    if k == 0:
                        gt[r, s, 0] = GT_MISSING
                    phased[r, s] = ph
                if status != OK:
                    break
            for j in range(nj):
                if fmt_ids[j] == key:
                    fmt_meta[r, j, 0] = t
                    fmt_meta[r, j, 1] = c
                    fmt_meta[r, j, 2] = q
            q += c * sz * n_samples
        if status != OK:
            break
        n += 1
        p = rec_end
    if status != OK:  # an error returns the whole scratch heap and filter list
        err = p
        h = len(heap)
        nf = len(filt)
    else:
        err = -1
    return (
        n,
        p,
        status,
        err,
        max_pl,
        tid,
        pos,
        rlen,
        qual,
        heap[:h],
        spans,
        filt[:nf],
        filt_off,
        info_meta,
        gt,
        phased,
        fmt_meta,
    )


@njit(cache=True, nogil=True)
def typed_to_ints(buf, meta, n_samples, width):  # pragma: no cover - compiled
    """int32[n, max(S,1), width] from typed-value meta rows (n, 3); S = 0 for INFO."""
    n = meta.shape[0]
    ns = max(n_samples, 1)
    out = np.full((n, ns, width), INT_END, np.int32)
    for r in range(n):
        t = meta[r, 0]
        c = meta[r, 1]
        sz = _tsize(t)
        for s in range(ns):
            out[r, s, 0] = INT_MISSING
            if t >= 0 and c == 0 and n_samples == 0:
                out[r, s, 0] = 1  # a bare INFO key (a flag): htslib prints 1
            if t < 1 or t > 3:
                continue
            base = meta[r, 2] + s * c * sz
            for i in range(min(c, width)):
                v, miss, end = _typed_int(buf, base + i * sz, t)
                if end:
                    break
                out[r, s, i] = INT_MISSING if miss else v
    return out


@njit(cache=True, nogil=True)
def typed_to_float_bits(buf, meta, n_samples, width):  # pragma: no cover - compiled
    """uint32[n, max(S,1), width] float32 bits from typed-value meta rows (type 5)."""
    n = meta.shape[0]
    ns = max(n_samples, 1)
    out = np.full((n, ns, width), FLOAT_END_BITS, np.uint32)
    for r in range(n):
        t = meta[r, 0]
        c = meta[r, 1]
        for s in range(ns):
            out[r, s, 0] = FLOAT_MISSING_BITS
            if t >= 0 and c == 0 and n_samples == 0:
                out[r, s, 0] = np.uint32(0x3F800000)  # a bare INFO key: 1.0
            if t != 5:
                continue
            base = meta[r, 2] + s * c * 4
            for i in range(min(c, width)):
                out[r, s, i] = _u32(buf, base + i * 4)
    return out


@njit(cache=True, nogil=True)
def typed_char_spans(meta, n_samples):  # pragma: no cover - compiled
    """Spans int64[n*max(S,1), 2] of typed char values (type 7), -1 when absent."""
    n = meta.shape[0]
    ns = max(n_samples, 1)
    out = np.full((n * ns, 2), -1, np.int64)
    for r in range(n):
        if meta[r, 0] >= 0 and meta[r, 1] == 0 and n_samples == 0:
            out[r, 0] = meta[r, 2]  # a bare INFO key: the span [x, x - 1) marks it
            out[r, 1] = meta[r, 2] - 1
            continue
        if meta[r, 0] != 7:
            continue
        c = meta[r, 1]
        for s in range(ns):
            out[r * ns + s, 0] = meta[r, 2] + s * c
            out[r * ns + s, 1] = meta[r, 2] + (s + 1) * c
    return out


@njit(cache=True, nogil=True)
def max_typed_count(meta):  # pragma: no cover - compiled
    w = 1
    for r in range(meta.shape[0]):
        if meta[r, 0] > 0 and meta[r, 1] > w:
            w = meta[r, 1]
    return w


# ------------------------------------------------------------------------------ tabix

#: tabix_lines columns: line start, line end (after the newline), 1 for a record (0: a
#: header line), CHROM start, CHROM end, beg (0-based), end (exclusive) as ``tabix -p vcf``
#: reads them, 1 where CHROM differs from the previous record's in the buffer (or none was)
TBX_COLUMNS = 8

_SVLEN = np.frombuffer(b"SVLEN=", np.uint8).copy()
_END = np.frombuffer(b"END=", np.uint8).copy()


@njit(cache=True, nogil=True, inline="always")
def _starts_with(buf, s, e, text):  # pragma: no cover - compiled
    if e - s < len(text):
        return False
    for j in range(len(text)):
        if buf[s + j] != text[j]:
            return False
    return True


@njit(cache=True, nogil=True)
def _info_end(buf, s, e):  # pragma: no cover - compiled
    """INFO's END value (htslib's tbx_parse1: ``END=`` at the start, else ``;END=``), -1
    when absent or ``.``; 1 << 62 flags an INFO with SVLEN (not handled here)."""
    end = np.int64(-1)
    p = s
    while p < e:
        q = p
        while q < e and buf[q] != 59:  # ';'
            q += 1
        if _starts_with(buf, p, q, _SVLEN):
            return np.int64(1) << 62
        if end == -1 and _starts_with(buf, p, q, _END) and q > p + 4 and buf[p + 4] != 46:
            v = np.int64(0)
            k = p + 4
            while k < q and 48 <= buf[k] <= 57:
                v = v * 10 + (buf[k] - 48)
                k += 1
            end = v
        p = q + 1
    return end


@njit(cache=True, nogil=True, aot=signature("UniTuple(int64, 2)", BYTES, "int64[:, ::1]"))
def tabix_lines(buf, out):  # pragma: no cover - compiled
    """The tabix interval of every complete line of ``buf`` (VCF text) in ``out``
    int64[>= lines, TBX_COLUMNS]. Returns (lines, status): status 0, or 1 for a record
    tabix would read otherwise than this function does (SVLEN in INFO, LEN in FORMAT: the
    caller lets htslib index the file) or 2 for a record without POS / REF."""
    n = 0
    p = 0
    size = buf.shape[0]
    prev_s = np.int64(-1)
    prev_e = np.int64(-1)
    while p < size:
        if buf[p] == 35:  # '#': a header line
            q = p
            while q < size and buf[q] != 10:
                q += 1
            if q == size:
                break
            out[n, 0] = p
            out[n, 1] = q + 1
            out[n, 2] = 0
            n += 1
            p = q + 1
            continue
        # the tab-separated columns: CHROM POS ID REF ALT QUAL FILTER INFO FORMAT; one
        # pass up to FORMAT's end, then to the newline
        col = 0
        s = p
        k = p
        beg = np.int64(-1)
        reflen = np.int64(-1)
        end = np.int64(-1)
        while k < size and col < 9:
            c = buf[k]
            if c != 9 and c != 10:
                k += 1
                continue
            if col == 0:
                out[n, 3] = s
                out[n, 4] = k
            elif col == 1:
                v = np.int64(0)
                j = s
                while j < k and 48 <= buf[j] <= 57:
                    v = v * 10 + (buf[j] - 48)
                    j += 1
                if j == s:
                    return n, 2
                beg = max(v - 1, 0)
            elif col == 3:
                reflen = k - s
            elif col == 7:
                end = _info_end(buf, s, k)
                if end == np.int64(1) << 62:
                    return n, 1
            elif col == 8:
                j = s
                while j < k:
                    t = j
                    while t < k and buf[t] != 58:  # ':'
                        t += 1
                    if t - j == 3 and buf[j] == 76 and buf[j + 1] == 69 and buf[j + 2] == 78:
                        return n, 1  # FORMAT/LEN
                    j = t + 1
            col += 1
            s = k + 1
            if c == 10:
                break
            k += 1
        while k < size and buf[k] != 10:
            k += 1
        if k == size:
            break
        out[n, 0] = p
        out[n, 1] = k + 1
        out[n, 2] = 1
        if beg < 0 or reflen <= 0:
            return n, 2
        e = beg + reflen
        if end > beg:
            e = max(end, e)
        out[n, 5] = beg
        out[n, 6] = max(e, 1)
        cs = out[n, 3]
        ce = out[n, 4]
        same = prev_s >= 0 and ce - cs == prev_e - prev_s
        if same:
            for j in range(ce - cs):
                if buf[cs + j] != buf[prev_s + j]:
                    same = False
                    break
        out[n, 7] = 0 if same else 1
        prev_s = cs
        prev_e = ce
        n += 1
        p = k + 1
    return n, 0
