"""Private numba loops of biometal.assembly: the k-mer hash table, de Bruijn graph compaction,
unitig links, minimizers. One call graph per function family, all in this file.

k-mers are 2k-bit integers (2 bits per base, A=0 C=1 G=2 T=3, first base most significant)
held in two uint64 words ``(hi, lo)`` (``hi`` = 0 for k <= 32), as kernels/kmer_count.metal
writes them. An oriented k-mer travels as four words ``(fh, fl, rh, rl)``: itself and its
reverse complement, so that extending by one base and turning around are O(1).

Hash table: open addressing, linear probing, capacity a power of two; an empty slot has
count 0. ``keys_hi`` has one entry per slot only for k > 32 ("wide" tables); for k <= 32
every high word is 0 and ``keys_hi`` is a 1-element dummy (8 bytes per slot saved).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_U0 = np.uint64(0)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U62 = np.uint64(62)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_M3 = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)


@njit(cache=True, nogil=True, inline="always")
def _hash(h, lo):  # pragma: no cover - compiled
    x = lo ^ (h * _M3)
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, nogil=True, inline="always")
def _count_one(keys_hi, keys_lo, cnt, h, lo, mask, wide, n_used, max_used):  # pragma: no cover
    """Count one k-mer word into the open-addressing table (linear probing, counts saturate
    at 2^32-1). Returns the new ``n_used``, or -1 when the word is new and the table already
    holds ``max_used`` words (nothing written)."""
    s = _hash(h, lo) & mask
    while True:
        if cnt[s] == 0:
            if n_used >= max_used:
                return -1
            if wide:
                keys_hi[s] = h
            keys_lo[s] = lo
            cnt[s] = 1
            return n_used + 1
        kh = keys_hi[s] if wide else _U0
        if kh == h and keys_lo[s] == lo:
            if cnt[s] < 0xFFFFFFFF:
                cnt[s] += 1
            return n_used
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def table_insert(keys_hi, keys_lo, cnt, hi, lo, start, n_used, max_used):  # pragma: no cover
    """Count words ``hi/lo[start:]`` (skipping EMPTY) into the table until ``n_used`` reaches
    ``max_used``. Returns (next index to insert, n_used)."""
    mask = np.uint64(cnt.shape[0] - 1)
    wide = keys_hi.shape[0] > 1
    i = start
    n = hi.shape[0]
    while i < n:
        h = hi[i]
        lo_ = lo[i]
        if h != EMPTY:
            got = _count_one(keys_hi, keys_lo, cnt, h, lo_, mask, wide, n_used, max_used)
            if got < 0:
                return i, n_used
            n_used = got
        i += 1
    return i, n_used


@njit(cache=True, nogil=True)
def table_put(keys_hi, keys_lo, cnt, hi, lo, counts):  # pragma: no cover - compiled
    """Insert distinct keys with their counts (rehash / solid subset); table must have room."""
    mask = np.uint64(cnt.shape[0] - 1)
    wide = keys_hi.shape[0] > 1
    for i in range(hi.shape[0]):
        s = _hash(hi[i], lo[i]) & mask
        while cnt[s] != 0:
            s = (s + np.uint64(1)) & mask
        if wide:
            keys_hi[s] = hi[i]
        keys_lo[s] = lo[i]
        cnt[s] = counts[i]


@njit(cache=True, nogil=True)
def table_rehash(keys_hi, keys_lo, cnt, out_hi, out_lo, out_cnt, min_count):  # pragma: no cover
    """Insert the k-mers of one table counted >= ``min_count`` (and >= 1) into another with
    room, in slot order: the layout ``table_put`` gives the same k-mers listed in slot
    order, without listing them. Returns how many were inserted."""
    mask = np.uint64(out_cnt.shape[0] - 1)
    wide = keys_hi.shape[0] > 1
    out_wide = out_hi.shape[0] > 1
    n = 0
    for i in range(cnt.shape[0]):
        c = cnt[i]
        if c == 0 or c < min_count:
            continue
        h = keys_hi[i] if wide else _U0
        lo = keys_lo[i]
        s = _hash(h, lo) & mask
        while out_cnt[s] != 0:
            s = (s + np.uint64(1)) & mask
        if out_wide:
            out_hi[s] = h
        out_lo[s] = lo
        out_cnt[s] = c
        n += 1
    return n


@njit(cache=True, nogil=True)
def table_grow(keys_hi, keys_lo, cnt, old_cap):  # pragma: no cover - compiled
    """Rehash in place a table whose arrays were just doubled (slots ``old_cap..`` zero),
    into the layout ``table_rehash`` gives in a fresh table: old slot i's k-mer goes, in
    slot order, to the first slot from its home that no moved k-mer holds.

    Old slots not yet visited still hold their k-mers (the fresh table has them free); a
    k-mer that lands on one first moves that one aside until its slot's turn. A k-mer never
    lands past its old slot except near the wrap-around, so few move aside."""
    mask = np.uint64(cnt.shape[0] - 1)
    wide = keys_hi.shape[0] > 1
    cap = 16
    f_slot = np.full(cap, -1, np.int64)  # old slots taken early, with the k-mer they held
    f_hi = np.zeros(cap, np.uint64)
    f_lo = np.zeros(cap, np.uint64)
    f_cnt = np.zeros(cap, np.uint32)
    n_f = 0
    pending = 0
    for i in range(old_cap):
        j = -1
        if pending:
            for t in range(n_f):
                if f_slot[t] == i:
                    j = t
                    break
        if j >= 0:  # slot i was taken early: its own k-mer waits aside
            c, h, lo = f_cnt[j], f_hi[j], f_lo[j]
            f_slot[j] = -1
            pending -= 1
            if not pending:
                n_f = 0
        else:
            c = cnt[i]
            if c == 0:
                continue
            h = keys_hi[i] if wide else _U0
            lo = keys_lo[i]
            cnt[i] = 0
            keys_lo[i] = _U0
            if wide:
                keys_hi[i] = _U0
        if c == 0:
            continue
        s = _hash(h, lo) & mask
        while True:
            si = np.int64(s)
            if si <= i or si >= old_cap:
                if cnt[s] == 0:
                    break
            else:  # not visited yet: free unless taken early
                taken = False
                if pending:
                    for t in range(n_f):
                        if f_slot[t] == si:
                            taken = True
                            break
                if not taken:
                    break
            s = (s + np.uint64(1)) & mask
        si = np.int64(s)
        if si > i and si < old_cap:  # move the slot's own k-mer (or nothing) aside
            if n_f == cap:
                cap *= 2
                f_slot2 = np.full(cap, -1, np.int64)
                f_hi2 = np.zeros(cap, np.uint64)
                f_lo2 = np.zeros(cap, np.uint64)
                f_cnt2 = np.zeros(cap, np.uint32)
                f_slot2[:n_f] = f_slot[:n_f]
                f_hi2[:n_f] = f_hi[:n_f]
                f_lo2[:n_f] = f_lo[:n_f]
                f_cnt2[:n_f] = f_cnt[:n_f]
                f_slot, f_hi, f_lo, f_cnt = f_slot2, f_hi2, f_lo2, f_cnt2
            f_slot[n_f] = si
            f_hi[n_f] = keys_hi[s] if wide else _U0
            f_lo[n_f] = keys_lo[s]
            f_cnt[n_f] = cnt[s]
            n_f += 1
            pending += 1
        if wide:
            keys_hi[s] = h
        keys_lo[s] = lo
        cnt[s] = c


@njit(cache=True, nogil=True)
def table_histogram(cnt, max_count):  # pragma: no cover - compiled
    """int64[max_count + 1]: occupied slots per count (the last bin: >= max_count)."""
    out = np.zeros(max_count + 1, np.int64)
    for i in range(cnt.shape[0]):
        c = cnt[i]
        if c != 0:
            out[min(np.int64(c), max_count)] += 1
    return out


@njit(cache=True, nogil=True, inline="always")
def _find(keys_hi, keys_lo, cnt, h, lo):  # pragma: no cover - compiled
    mask = np.uint64(cnt.shape[0] - 1)
    s = _hash(h, lo) & mask
    wide = keys_hi.shape[0] > 1
    while True:
        if cnt[s] == 0:
            return -1
        kh = keys_hi[s] if wide else _U0
        if kh == h and keys_lo[s] == lo:
            return np.int64(s)
        s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def table_lookup(keys_hi, keys_lo, cnt, hi, lo):  # pragma: no cover - compiled
    """Counts of words ``hi/lo`` (0 where absent)."""
    out = np.zeros(hi.shape[0], np.uint32)
    for i in range(hi.shape[0]):
        s = _find(keys_hi, keys_lo, cnt, hi[i], lo[i])
        if s >= 0:
            out[i] = cnt[s]
    return out


# ---- oriented k-mers --------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _masks(k):  # pragma: no cover - compiled
    bits = 2 * k
    mask_lo = EMPTY if bits >= 64 else (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    mask_hi = (np.uint64(1) << np.uint64(bits - 64)) - np.uint64(1) if bits > 64 else _U0
    return mask_hi, mask_lo


@njit(cache=True, nogil=True, inline="always")
def _extend(fh, fl, rh, rl, b, k, mask_hi, mask_lo):  # pragma: no cover - compiled
    """Append base b (0..3) to the oriented k-mer (drops its first base)."""
    ub = np.uint64(b)
    cb = np.uint64(3 - b)
    fh = ((fh << _U2) | (fl >> _U62)) & mask_hi
    fl = ((fl << _U2) | ub) & mask_lo
    rl = (rl >> _U2) | (rh << _U62)
    rh = rh >> _U2
    bits = 2 * k
    if bits - 2 >= 64:
        rh = rh | (cb << np.uint64(bits - 2 - 64))
    else:
        rl = rl | (cb << np.uint64(bits - 2))
    return fh, fl, rh, rl


@njit(cache=True, nogil=True, inline="always")
def _base_at(h, lo, k, i):  # pragma: no cover - compiled
    """Base i (0 = first) of a k-mer."""
    p = 2 * (k - 1 - i)
    if p >= 64:
        return np.uint8((h >> np.uint64(p - 64)) & _U3)
    return np.uint8((lo >> np.uint64(p)) & _U3)


@njit(cache=True, nogil=True)
def _revcomp(h, lo, k):  # pragma: no cover - compiled
    rh = _U0
    rl = _U0
    for i in range(k):
        c = np.uint64(3 - _base_at(h, lo, k, i))
        p = 2 * i
        if p >= 64:
            rh |= c << np.uint64(p - 64)
        else:
            rl |= c << np.uint64(p)
    return rh, rl


@njit(cache=True, nogil=True, inline="always")
def _canon(fh, fl, rh, rl):  # pragma: no cover - compiled
    if fh < rh or (fh == rh and fl <= rl):
        return fh, fl
    return rh, rl


@njit(cache=True, nogil=True)
def _successors(keys_hi, keys_lo, cnt, fh, fl, rh, rl, k, mask_hi, mask_lo):  # pragma: no cover
    """(number of solid successors, slot of the last one found, its base)."""
    n = 0
    slot = np.int64(-1)
    base = 0
    for b in range(4):
        a, c, d, e = _extend(fh, fl, rh, rl, b, k, mask_hi, mask_lo)
        ch, cl = _canon(a, c, d, e)
        s = _find(keys_hi, keys_lo, cnt, ch, cl)
        if s >= 0:
            n += 1
            slot = s
            base = b
    return n, slot, base


@njit(cache=True, nogil=True)
def _walk(keys_hi, keys_lo, cnt, visited, fh, fl, rh, rl, k, bases, slots):  # pragma: no cover
    """Extend an oriented k-mer while the path does not branch; marks visited slots.
    Returns (steps, count sum, end state words)."""
    mask_hi, mask_lo = _masks(k)
    n = 0
    total = np.int64(0)
    while True:
        nsucc, s, b = _successors(keys_hi, keys_lo, cnt, fh, fl, rh, rl, k, mask_hi, mask_lo)
        if nsucc != 1 or visited[s]:
            break
        a, c, d, e = _extend(fh, fl, rh, rl, b, k, mask_hi, mask_lo)
        npred, _, _ = _successors(keys_hi, keys_lo, cnt, d, e, a, c, k, mask_hi, mask_lo)
        if npred != 1:
            break
        visited[s] = True
        total += cnt[s]
        bases[n] = b
        slots[n] = s
        n += 1
        fh, fl, rh, rl = a, c, d, e
    return n, total, fh, fl, rh, rl


@njit(cache=True, nogil=True)
def compact(keys_hi, keys_lo, cnt, k):  # pragma: no cover - compiled
    """Unitigs of the de Bruijn graph of the table's k-mers (maximal non-branching paths).

    Returns (codes uint8[total], offsets int64[n+1], count_sum int64[n], n_kmers int64[n],
    first uint64[n, 4], last uint64[n, 4], uid int64[capacity]): each unitig's sequence,
    the sum and number of its k-mer counts, its first and last oriented k-mers (fh fl rh rl,
    in the unitig's forward direction) and the unitig of every slot (-1: empty).
    """
    cap = cnt.shape[0]
    wide = keys_hi.shape[0] > 1
    visited = np.zeros(cap, np.bool_)
    uid = np.full(cap, -1, np.int64)
    n_keys = 0
    for s in range(cap):
        if cnt[s] != 0:
            n_keys += 1
    rbases = np.empty(n_keys + 1, np.uint8)
    lbases = np.empty(n_keys + 1, np.uint8)
    rslots = np.empty(n_keys + 1, np.int64)
    lslots = np.empty(n_keys + 1, np.int64)
    codes = np.empty(max(16, 2 * n_keys + 4 * k), np.uint8)
    offsets = np.zeros(n_keys + 1, np.int64)
    count_sum = np.zeros(n_keys, np.int64)
    n_kmers = np.zeros(n_keys, np.int64)
    first = np.zeros((n_keys, 4), np.uint64)
    last = np.zeros((n_keys, 4), np.uint64)
    n = 0
    pos = 0
    for s in range(cap):
        if cnt[s] == 0 or visited[s]:
            continue
        h = keys_hi[s] if wide else _U0
        visited[s] = True
        lo = keys_lo[s]
        rh, rl = _revcomp(h, lo, k)
        nr, tr, eh, el, erh, erl = _walk(
            keys_hi, keys_lo, cnt, visited, h, lo, rh, rl, k, rbases, rslots
        )
        nl, tl, sh, sl, srh, srl = _walk(
            keys_hi, keys_lo, cnt, visited, rh, rl, h, lo, k, lbases, lslots
        )
        length = nl + k + nr
        while pos + length > codes.shape[0]:
            bigger = np.empty(codes.shape[0] * 2, np.uint8)
            bigger[:pos] = codes[:pos]
            codes = bigger
        for i in range(nl):
            codes[pos + i] = 3 - lbases[nl - 1 - i]
        for i in range(k):
            codes[pos + nl + i] = _base_at(h, lo, k, i)
        for i in range(nr):
            codes[pos + nl + k + i] = rbases[i]
        pos += length
        offsets[n + 1] = pos
        count_sum[n] = tr + tl + cnt[s]
        n_kmers[n] = nl + nr + 1
        first[n, 0] = srh
        first[n, 1] = srl
        first[n, 2] = sh
        first[n, 3] = sl
        last[n, 0] = eh
        last[n, 1] = el
        last[n, 2] = erh
        last[n, 3] = erl
        uid[s] = n
        for i in range(nr):
            uid[rslots[i]] = n
        for i in range(nl):
            uid[lslots[i]] = n
        n += 1
    return codes[:pos].copy(), offsets[: n + 1].copy(), count_sum[:n].copy(), n_kmers[:n].copy(), \
        first[:n].copy(), last[:n].copy(), uid  # fmt: skip


@njit(cache=True, nogil=True)
def unitig_links(keys_hi, keys_lo, cnt, uid, first, last, k):  # pragma: no cover - compiled
    """Links between unitig ends: int64[m, 4] rows (u, su, v, sv), sign 1 = forward, 0 =
    reverse: unitig u read in orientation su is followed (k-1 bases overlap) by v in sv."""
    mask_hi, mask_lo = _masks(k)
    n = first.shape[0]
    out = np.empty((8 * n + 1, 4), np.int64)
    m = 0
    for u in range(n):
        for su in range(2):
            if su == 1:
                fh, fl, rh, rl = last[u, 0], last[u, 1], last[u, 2], last[u, 3]
            else:
                fh, fl, rh, rl = first[u, 2], first[u, 3], first[u, 0], first[u, 1]
            for b in range(4):
                a, c, d, e = _extend(fh, fl, rh, rl, b, k, mask_hi, mask_lo)
                ch, cl = _canon(a, c, d, e)
                s = _find(keys_hi, keys_lo, cnt, ch, cl)
                if s < 0:
                    continue
                v = uid[s]
                if a == first[v, 0] and c == first[v, 1]:
                    out[m, 0] = u
                    out[m, 1] = su
                    out[m, 2] = v
                    out[m, 3] = 1
                    m += 1
                if a == last[v, 2] and c == last[v, 3]:
                    out[m, 0] = u
                    out[m, 1] = su
                    out[m, 2] = v
                    out[m, 3] = 0
                    m += 1
    return out[:m].copy()


# ---- minimizers (overlaps) --------------------------------------------------------------


@njit(cache=True, nogil=True)
def minimizers(codes, offsets, k, w):  # pragma: no cover - compiled
    """(w, k) canonical minimizers of every read: int64[m, 4] rows (read, pos, strand, hash);
    pos = start of the k-mer, strand 0 when the forward k-mer is the smaller, k <= 31.
    Windows of w consecutive k-mers without N; ties keep the leftmost; one row per change."""
    n_reads = offsets.shape[0] - 1
    cap = 16
    for r in range(n_reads):
        cap += (offsets[r + 1] - offsets[r]) // max(1, w // 2) + 2
    out = np.empty((cap, 4), np.int64)
    m = 0
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    hashes = np.empty(1, np.uint64)
    strands = np.empty(1, np.int64)
    for r in range(n_reads):
        a = offsets[r]
        length = offsets[r + 1] - a
        if length < k:
            continue
        nk = length - k + 1
        if hashes.shape[0] < nk:
            hashes = np.empty(nk, np.uint64)
            strands = np.empty(nk, np.int64)
        f = _U0
        rv = _U0
        run = 0
        for p in range(length):
            c = codes[a + p]
            if c >= 4:
                run = 0
                f = _U0
                rv = _U0
            else:
                f = ((f << _U2) | np.uint64(c)) & mask
                rv = (rv >> _U2) | (np.uint64(3 - c) << np.uint64(2 * k - 2))
                run += 1
            if p >= k - 1:
                j = p - k + 1
                if run >= k:
                    if f <= rv:
                        hashes[j] = _hash(_U0, f)
                        strands[j] = 0
                    else:
                        hashes[j] = _hash(_U0, rv)
                        strands[j] = 1
                else:
                    hashes[j] = EMPTY
                    strands[j] = 0
        last = -1
        for j0 in range(max(1, nk - w + 1)):
            best = -1
            bh = EMPTY
            for j in range(j0, min(nk, j0 + w)):
                if hashes[j] < bh:
                    bh = hashes[j]
                    best = j
            if best >= 0 and best != last:
                if m >= out.shape[0]:
                    bigger = np.empty((out.shape[0] * 2, 4), np.int64)
                    bigger[:m] = out[:m]
                    out = bigger
                out[m, 0] = r
                out[m, 1] = best
                out[m, 2] = strands[best]
                out[m, 3] = np.int64(bh >> np.uint64(1))
                m += 1
                last = best
    return out[:m].copy()


# ---- read placement (pairs) -------------------------------------------------------------


@njit(cache=True, nogil=True)
def table_count_reads(
    keys_hi, keys_lo, cnt, codes, offsets, k, read, skip, n_used, max_used
):  # pragma: no cover - compiled
    """Count the canonical k-mers of reads ``read..`` straight into the table: the words of
    kernels/kmer_count (k-mers with a code >= 4 skipped), in read and position order, as
    ``table_insert`` would count them, without the words in memory. ``skip``: k-mers of
    read ``read`` already counted. Stops where a new k-mer would take ``n_used`` past
    ``max_used``; returns (read, its k-mers counted, n_used), read = n_reads when done."""
    mask_hi, mask_lo = _masks(k)
    mask = np.uint64(cnt.shape[0] - 1)
    wide = keys_hi.shape[0] > 1
    for r in range(read, offsets.shape[0] - 1):
        start = offsets[r]
        first = start + k - 1 + (skip if r == read else 0)  # last base of the first k-mer
        fh = fl = rh = rl = _U0
        run = 0
        for p in range(start, offsets[r + 1]):
            c = codes[p]
            if c >= 4:
                run = 0
                continue
            fh, fl, rh, rl = _extend(fh, fl, rh, rl, c, k, mask_hi, mask_lo)
            run += 1
            if run < k or p < first:
                continue
            h, lo = _canon(fh, fl, rh, rl)
            got = _count_one(keys_hi, keys_lo, cnt, h, lo, mask, wide, n_used, max_used)
            if got < 0:
                return r, p - start - k + 1, n_used
            n_used = got
    return offsets.shape[0] - 1, 0, n_used


@njit(cache=True, nogil=True)
def oriented_words(codes, offsets, slots, k):  # pragma: no cover - compiled
    """Canonical words of every k-mer position (as kmer_count, EMPTY with an N) and whether
    the forward k-mer is the canonical one: (hi, lo, fwd_is_canonical bool)."""
    mask_hi, mask_lo = _masks(k)
    n_slots = slots[-1]
    hi = np.full(n_slots, EMPTY, np.uint64)
    lo = np.full(n_slots, EMPTY, np.uint64)
    canon = np.zeros(n_slots, np.bool_)
    for r in range(offsets.shape[0] - 1):
        fh = fl = rh = rl = _U0
        run = 0
        out = slots[r]
        for p in range(offsets[r], offsets[r + 1]):
            c = codes[p]
            if c >= 4:
                run = 0
            else:
                fh, fl, rh, rl = _extend(fh, fl, rh, rl, c, k, mask_hi, mask_lo)
                run += 1
            if p + 1 >= offsets[r] + k:
                if run >= k:
                    ch, cl = _canon(fh, fl, rh, rl)
                    hi[out] = ch
                    lo[out] = cl
                    canon[out] = ch == fh and cl == fl
                out += 1
    return hi, lo, canon


@njit(cache=True, nogil=True)
def place_reads(  # pragma: no cover - compiled
    codes, offsets, k, keys_hi, keys_lo, cnt, knode, kpos, kcanon, slack
):
    """Place every read on an indexed node by its k-mers: the table maps a canonical k-mer
    to 1 + its index in ``knode`` (node), ``kpos`` (start on the node's forward strand) and
    ``kcanon`` (the node's forward k-mer is the canonical one). A read is placed by its first
    hit when a later hit agrees (same node and strand, implied start within ``slack``).
    Returns (node int64[n] (-1: not placed), forward bool[n], coord int64[n]): forward,
    the node coordinate of the read's first base; reverse, of the base its first base pairs
    with (the read runs leftwards from there)."""
    mask_hi, mask_lo = _masks(k)
    n = offsets.shape[0] - 1
    node = np.full(n, -1, np.int64)
    fwd = np.zeros(n, np.bool_)
    coord = np.zeros(n, np.int64)
    for r in range(n):
        a = offsets[r]
        fh = fl = rh = rl = _U0
        run = 0
        first = -1
        f0 = False
        c0 = np.int64(0)
        for p in range(a, offsets[r + 1]):
            c = codes[p]
            if c >= 4:
                run = 0
                continue
            fh, fl, rh, rl = _extend(fh, fl, rh, rl, c, k, mask_hi, mask_lo)
            run += 1
            if run < k:
                continue
            ch, cl = _canon(fh, fl, rh, rl)
            s = _find(keys_hi, keys_lo, cnt, ch, cl)
            if s < 0:
                continue
            i = np.int64(cnt[s]) - 1
            j = p - a - k + 1
            f = (ch == fh and cl == fl) == kcanon[i]
            x = kpos[i] - j if f else kpos[i] + k - 1 + j
            if first < 0:
                first = knode[i]
                f0 = f
                c0 = x
            elif knode[i] == first and f == f0 and abs(x - c0) <= slack:
                node[r] = first
                fwd[r] = f0
                coord[r] = c0
                break
    return node, fwd, coord
