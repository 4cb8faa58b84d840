"""numba loops of the k-mer index, the pseudoaligner and the EM (imported lazily: numba is slow).

Everything that calls another numba function lives in this one file on purpose: numba's
on-disk cache (``cache=True``) is invalidated per source file, so a caller and its callees in
different files could keep a stale compiled copy after an edit.

K-mers are 2-bit packed into ``uint64`` (A=0 C=1 G=2 T=3, first base in the high bits); the
canonical k-mer is ``min(kmer, revcomp(kmer))``; ``k`` is odd (no k-mer is its own reverse
complement) and at most 31, so the all-ones word :data:`EMPTY` is never a k-mer and marks
an empty slot of the open-addressing hash table (linear probing, power-of-two capacity).

The table maps a canonical k-mer to a packed value ``contig << 32 | pos << 1 | orient``:
the unitig (compacted de Bruijn graph path of k-mers sharing one equivalence class) that
holds it, its 0-based position along that unitig and whether the unitig runs along the
canonical strand (0) or its reverse complement (1).

The decorators are :mod:`biometal.kernels.jit`'s (numba's, applied lazily), and what a
one-thread quantification calls is also built ahead of time (``aot=``: the reader's
kernels, :func:`pseudoalign_chunk_serial`, :func:`new_sets`, :func:`ec_hashes`,
:func:`em_rounds`), so that ``biometal quant -t 1`` on one sample runs without importing
numba (importing it: 0.40-0.45 s of CPU; a 1,000-pair ``biometal quant`` 0.54 -> 0.19 s;
``python bench/rnaseq_startup.py``).
"""

from __future__ import annotations

import numpy as np

from biometal.kernels.jit import intrinsic, njit, prange, signature

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: most distinct equivalence classes collected for one read (pair) before deduplicating.
MAX_READ_ECS = 64
#: fragment lengths at or above this are not counted (kallisto's MAX_FRAG_LEN).
MAX_FRAG_LEN = 1000
#: reads ahead of the one being scanned whose first hash-table slots are prefetched.
PREFETCH_AHEAD = 2
#: k-mers ahead of the one being linked whose 8 successor slots are prefetched (index build).
NEIGHBOUR_AHEAD = 4


@njit(inline="always")
def _mix(x):  # pragma: no cover - compiled
    """murmur3's 64-bit finalizer: every input bit reaches every output bit."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(inline="always")
def _revcomp(x, k):  # pragma: no cover - compiled
    r = np.uint64(0)
    for _ in range(k):
        r = (r << _U2) | (_U3 - (x & _U3))
        x >>= _U2
    return r


@njit(inline="always")
def _find(keys, km):  # pragma: no cover - compiled
    """Slot of ``km`` in a key array uint64[capacity], or -1."""
    mask = keys.shape[0] - 1
    slot = np.int64(_mix(km) & np.uint64(mask))
    while True:
        kk = keys[slot]
        if kk == km:
            return slot
        if kk == EMPTY:
            return -1
        slot = (slot + 1) & mask


@njit(inline="always")
def _hit(table, km):  # pragma: no cover - compiled
    """Packed value of ``km`` in the lookup table uint64[capacity, 2], or -1."""
    mask = np.uint64(table.shape[0] - 1)
    slot = _mix(km) & mask  # unsigned: no wraparound check on the index
    while True:
        kk = table[slot, 0]
        if kk == km:
            return np.int64(table[slot, 1])
        if kk == EMPTY:
            return np.int64(-1)
        slot = (slot + np.uint64(1)) & mask


@intrinsic
def _prefetch_row(typingctx, arr, row):  # pragma: no cover - compiled
    """Ask the CPU to start loading row ``row`` of a 2-D array into cache (``llvm.prefetch``:
    read, keep); a hint only, it changes no result and never faults."""

    from numba import types

    def codegen(context, builder, sig, args):
        from llvmlite import ir
        from numba.core import cgutils

        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], zero])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, row), codegen


@njit(inline="always")
def _first_window(codes, lo, hi, k, table, state, j):  # pragma: no cover - compiled
    """Roll the first k bases of the read ``codes[lo:hi]`` as :func:`_scan_read` starts, into
    ``state[j]`` (fw, rc, end, valid), and prefetch the table slot of its k-mer.

    Done a few reads ahead (:data:`PREFETCH_AHEAD`): the read's first lookup, a cache miss in
    a table larger than the cache, then overlaps the reads scanned before it.
    """
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    shift = np.uint64(2 * (k - 1))
    fw = np.uint64(0)
    rc = np.uint64(0)
    end = lo
    valid = 0
    if hi - lo >= k:
        while end < lo + k:
            b = codes[end]
            end += 1
            if b > 3:
                valid = 0
                continue
            bu = np.uint64(b)
            fw = ((fw << _U2) | bu) & mask
            rc = (rc >> _U2) | ((_U3 - bu) << shift)
            valid += 1
        if valid == k:
            canon = fw if fw < rc else rc
            _prefetch_row(table, np.int64(_mix(canon) & np.uint64(table.shape[0] - 1)))
    state[j, 0] = fw
    state[j, 1] = rc
    state[j, 2] = np.uint64(end)
    state[j, 3] = np.uint64(valid)


@njit(inline="always")
def _kmer_at(codes, start, k):  # pragma: no cover - compiled
    """(forward, reverse complement, bad) of the k-mer at ``codes[start:start+k]``.

    ``bad`` is 0 when every base is A/C/G/T, else 1 + the offset of the last other base (the
    next window free of it starts at ``start + bad``).
    """
    fw = np.uint64(0)
    rc = np.uint64(0)
    shift = np.uint64(2 * (k - 1))
    bad = 0
    for j in range(k):
        c = codes[start + j]
        if c > 3:
            bad = j + 1
            c = 0
        cu = np.uint64(c)
        fw = (fw << _U2) | cu
        rc = (rc >> _U2) | ((_U3 - cu) << shift)
    return fw, rc, bad


# --------------------------------------------------------------------------- index build


@njit(cache=True)
def transcript_kmers(codes, offsets, k):  # pragma: no cover - compiled
    """Every canonical k-mer occurrence of the transcripts, in transcript order.

    codes uint8[n_bases], offsets int64[n_tx+1]. Windows with a non-ACGT base are skipped.
    Returns (kmers uint64[m], tx int32[m]).
    """
    n_tx = offsets.shape[0] - 1
    total = 0
    for t in range(n_tx):
        n = offsets[t + 1] - offsets[t] - k + 1
        if n > 0:
            total += n
    kmers = np.empty(total, np.uint64)
    tx = np.empty(total, np.int32)
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    shift = np.uint64(2 * (k - 1))
    m = 0
    for t in range(n_tx):
        fw = np.uint64(0)
        rc = np.uint64(0)
        valid = 0
        for i in range(offsets[t], offsets[t + 1]):
            c = codes[i]
            if c > 3:
                valid = 0
                continue
            cu = np.uint64(c)
            fw = ((fw << _U2) | cu) & mask
            rc = (rc >> _U2) | ((_U3 - cu) << shift)
            valid += 1
            if valid >= k:
                kmers[m] = fw if fw < rc else rc
                tx[m] = t
                m += 1
    return kmers[:m], tx[:m]


@njit(cache=True)
def group_kmers(kmers, tx):  # pragma: no cover - compiled
    """Distinct k-mers and the sorted, distinct transcripts of each.

    ``kmers`` sorted ascending with ``tx`` ascending within equal k-mers (a stable sort of
    transcript-ordered occurrences). Returns (unique uint64[u], set_off int64[u+1],
    set_tx int32[...]).
    """
    n = kmers.shape[0]
    n_u = 0
    n_s = 0
    for i in range(n):
        if i == 0 or kmers[i] != kmers[i - 1]:
            n_u += 1
            n_s += 1
        elif tx[i] != tx[i - 1]:
            n_s += 1
    uniq = np.empty(n_u, np.uint64)  # sized exactly: no slack kept alive by a slice
    set_off = np.empty(n_u + 1, np.int64)
    set_tx = np.empty(n_s, np.int32)
    u = 0
    s = 0
    set_off[0] = 0
    for i in range(n):
        if i == 0 or kmers[i] != kmers[i - 1]:
            if i > 0:
                u += 1
                set_off[u] = s
            uniq[u] = kmers[i]
            set_tx[s] = tx[i]
            s += 1
        elif tx[i] != tx[i - 1]:
            set_tx[s] = tx[i]
            s += 1
    if n > 0:
        u += 1
        set_off[u] = s
    return uniq, set_off, set_tx


@njit(inline="always")
def _set_hash(arr, lo, hi):  # pragma: no cover - compiled
    h = np.uint64(hi - lo)
    for i in range(lo, hi):
        h = _mix(h ^ (np.uint64(arr[i]) + _GOLDEN))
    return h


@njit(cache=True, aot=signature("uint64[::1]", "int64[::1]", "int32[::1]"))
def ec_hashes(ec_off, ec_tx):  # pragma: no cover - compiled
    """Hash of each equivalence class's sorted transcript list, uint64[n_ec]."""
    n = ec_off.shape[0] - 1
    out = np.empty(n, np.uint64)
    for e in range(n):
        out[e] = _set_hash(ec_tx, ec_off[e], ec_off[e + 1])
    return out


@njit(inline="always")
def _same_set(a, alo, ahi, b, blo, bhi):  # pragma: no cover - compiled
    if ahi - alo != bhi - blo:
        return False
    for i in range(ahi - alo):
        if a[alo + i] != b[blo + i]:
            return False
    return True


@njit(cache=True)
def assign_ecs(set_off, set_tx, n_tx):  # pragma: no cover - compiled
    """Equivalence class of each k-mer's transcript set.

    Class ``t < n_tx`` is the singleton ``{t}`` (every transcript has one, kallisto's
    convention); multi-transcript classes follow, numbered in order of first appearance.
    Returns (ec int32[u], ec_off int64[n_ec+1], ec_tx int32[...]).
    """
    u = set_off.shape[0] - 1
    ec = np.empty(u, np.int32)
    h = np.zeros(u, np.uint64)
    n_multi = 0
    for i in range(u):
        if set_off[i + 1] - set_off[i] == 1:
            ec[i] = set_tx[set_off[i]]
        else:
            h[i] = _set_hash(set_tx, set_off[i], set_off[i + 1])
            n_multi += 1
    multi = np.empty(n_multi, np.int64)
    j = 0
    for i in range(u):
        if set_off[i + 1] - set_off[i] != 1:
            multi[j] = i
            j += 1
    order = multi[np.argsort(h[multi], kind="mergesort")]
    # representative k-mer of each new class, in sorted-hash order; then renumber by first use
    first_use = np.full(n_multi, -1, np.int64)
    rep_of = np.empty(n_multi, np.int64)  # class (in hash order) of each k-mer of `order`
    n_cls = 0
    start = 0
    reps = np.empty(n_multi, np.int64)
    while start < n_multi:
        stop = start
        while stop < n_multi and h[order[stop]] == h[order[start]]:
            stop += 1
        base = n_cls
        for a in range(start, stop):
            i = order[a]
            found = -1
            for c in range(base, n_cls):
                r = reps[c]
                if _same_set(
                    set_tx, set_off[i], set_off[i + 1], set_tx, set_off[r], set_off[r + 1]
                ):
                    found = c
                    break
            if found < 0:
                reps[n_cls] = i
                found = n_cls
                n_cls += 1
            rep_of[a] = found
            if first_use[found] < 0 or i < first_use[found]:
                first_use[found] = i
        start = stop
    rank = np.argsort(first_use[:n_cls], kind="mergesort")
    new_id = np.empty(n_cls, np.int64)
    for r in range(n_cls):
        new_id[rank[r]] = n_tx + r
    for a in range(n_multi):
        ec[order[a]] = new_id[rep_of[a]]
    n_ec = n_tx + n_cls
    ec_off = np.empty(n_ec + 1, np.int64)
    ec_off[0] = 0
    for t in range(n_tx):
        ec_off[t + 1] = t + 1
    for r in range(n_cls):
        i = reps[rank[r]]
        ec_off[n_tx + r + 1] = ec_off[n_tx + r] + set_off[i + 1] - set_off[i]
    ec_tx = np.empty(ec_off[n_ec], np.int32)
    for t in range(n_tx):
        ec_tx[t] = t
    for r in range(n_cls):
        i = reps[rank[r]]
        p = ec_off[n_tx + r]
        for q in range(set_off[i], set_off[i + 1]):
            ec_tx[p] = set_tx[q]
            p += 1
    return ec, ec_off, ec_tx


@njit(cache=True)
def build_table(kmers, capacity):  # pragma: no cover - compiled
    """Open-addressing table of distinct k-mers, uint64[capacity, 2]: row = (k-mer, index).

    The index is the k-mer's position in ``kmers`` (an empty slot: (EMPTY, EMPTY));
    :func:`pack_table` later replaces it, in place, by the k-mer's packed unitig value.
    """
    table = np.full((capacity, 2), EMPTY, np.uint64)
    mask = capacity - 1
    for i in range(kmers.shape[0]):
        km = kmers[i]
        slot = np.int64(_mix(km) & np.uint64(mask))
        while table[slot, 0] != EMPTY and table[slot, 0] != km:
            slot = (slot + 1) & mask
        table[slot, 0] = km
        table[slot, 1] = np.uint64(i)
    return table


@njit(inline="always")
def _prefetch_successors(table, fwk, k, mask, shift, cmask):  # pragma: no cover - compiled
    rck = _revcomp(fwk, k)
    for o in range(2):
        seq = fwk if o == 0 else rck
        seq_rc = rck if o == 0 else fwk
        for b in range(4):
            bu = np.uint64(b)
            s = ((seq << _U2) | bu) & mask
            rc = (seq_rc >> _U2) | ((_U3 - bu) << shift)
            c = s if s < rc else rc
            _prefetch_row(table, np.int64(_mix(c) & cmask))


@njit(cache=True, parallel=True)
def neighbours(kmers, table, k):  # pragma: no cover - compiled
    """Out-degree and (if 1) the successor of each oriented k-mer (idx, strand).

    Strand 0 is the canonical sequence, 1 its reverse complement. Returns (count
    int8[u, 2], node int32[u, 2], node_strand int8[u, 2]). Parallel over k-mers (each
    writes its own row only).
    """
    u = kmers.shape[0]
    cnt = np.zeros((u, 2), np.int8)
    node = np.full((u, 2), -1, np.int32)  # k-mer indices fit (dense ids are int32)
    nstr = np.zeros((u, 2), np.int8)
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    shift = np.uint64(2 * (k - 1))
    cmask = np.uint64(table.shape[0] - 1)
    for x in prange(u):
        if x + NEIGHBOUR_AHEAD < u:  # start loading a later k-mer's 8 slots: latency overlaps
            _prefetch_successors(table, kmers[x + NEIGHBOUR_AHEAD], k, mask, shift, cmask)
        fwk = kmers[x]
        rck = _revcomp(fwk, k)
        for o in range(2):
            seq = fwk if o == 0 else rck
            seq_rc = rck if o == 0 else fwk
            for b in range(4):
                bu = np.uint64(b)
                s = ((seq << _U2) | bu) & mask
                rc = (seq_rc >> _U2) | ((_U3 - bu) << shift)  # revcomp(s), rolled
                c = s if s < rc else rc
                y = _hit(table, c)  # the k-mer's index (build_table)
                if y >= 0:
                    cnt[x, o] += 1
                    node[x, o] = np.int32(y)
                    nstr[x, o] = 0 if s == c else 1
    return cnt, node, nstr


@njit(inline="always")
def _link(x, o, cnt, node, nstr, ec):  # pragma: no cover - compiled
    """The unitig successor of oriented k-mer (x, o), or (-1, 0)."""
    if cnt[x, o] != 1:
        return -1, 0
    y = np.int64(node[x, o])
    p = nstr[x, o]
    if y == x or cnt[y, 1 - p] != 1 or ec[y] != ec[x]:
        return -1, 0
    return y, p


@njit(cache=True)
def build_unitigs(cnt, node, nstr, ec):  # pragma: no cover - compiled
    """Compact the k-mer graph into unitigs whose k-mers all share one equivalence class.

    ``cnt``, ``node``, ``nstr``: the graph (:func:`neighbours`). Returns (contig int32[u],
    pos int32[u], orient int8[u], contig_len int32[n_contigs]): for each k-mer its unitig,
    position along it and whether the unitig reads its canonical sequence (0) or the reverse
    complement (1).
    """
    u = cnt.shape[0]
    contig = np.full(u, -1, np.int32)
    pos = np.zeros(u, np.int32)
    orient = np.zeros(u, np.int8)
    clen = np.empty(u, np.int32)
    n_contigs = 0
    for x in range(u):
        if contig[x] >= 0:
            continue
        # walk back from (x, 0) to the unitig's first k-mer (or once round a cycle)
        cx = x
        co = 0
        steps = 0
        while steps < u:
            y, p = _link(cx, 1 - co, cnt, node, nstr, ec)  # successor of the other strand
            if y < 0:
                break
            ny, no = y, 1 - p  # ... read backwards is the predecessor on this strand
            if ny == x:
                cx, co = x, 0
                break
            cx, co = ny, no
            steps += 1
        c = n_contigs
        n_contigs += 1
        q = 0
        while True:
            contig[cx] = c
            pos[cx] = q
            orient[cx] = co
            q += 1
            y, p = _link(cx, co, cnt, node, nstr, ec)
            if y < 0 or contig[y] >= 0:
                break
            cx, co = y, p
        clen[c] = q
    return contig, pos, orient, clen[:n_contigs].copy()


@njit(cache=True)
def pack_table(table, contig, pos, orient):  # pragma: no cover - compiled
    """Turn :func:`build_table`'s table into the lookup table, in place.

    Row ``slot`` = (k-mer, packed value ``contig << 32 | pos << 1 | orient``); key and value
    share a cache line. Empty slots stay (EMPTY, EMPTY).
    """
    for s in range(table.shape[0]):
        if table[s, 0] != EMPTY:
            i = np.int64(table[s, 1])
            v = (np.int64(contig[i]) << 32) | (np.int64(pos[i]) << 1) | np.int64(orient[i])
            table[s, 1] = np.uint64(v)
    return table


@njit(cache=True)
def unitig_sequences(kmers, contig, pos, orient, contig_len, k):  # pragma: no cover
    """Sequences (codes 0-3) of the unitigs, each ``len + k - 1`` bases, concatenated.

    Returns (seq uint8[...], off int64[n_contigs + 1]); unitig ``c``'s k-mer ``p`` is
    ``seq[off[c] + p : off[c] + p + k]`` on the unitig's strand.
    """
    n_c = contig_len.shape[0]
    off = np.empty(n_c + 1, np.int64)
    off[0] = 0
    for c in range(n_c):
        off[c + 1] = off[c] + contig_len[c] + k - 1
    seq = np.empty(off[n_c], np.uint8)
    for x in range(kmers.shape[0]):
        km = kmers[x] if orient[x] == 0 else _revcomp(kmers[x], k)
        start = off[contig[x]] + pos[x]
        lo = 0 if pos[x] == 0 else k - 1  # k-mer 0 writes all its bases, others their last
        for j in range(lo, k):
            seq[start + j] = np.uint8((km >> np.uint64(2 * (k - 1 - j))) & _U3)
    return seq, off


@njit(cache=True)
def contig_placements(codes, offsets, k, table, n_contigs):  # pragma: no cover
    """Where each unitig lies in the transcripts: CSR over unitigs of (tx, txpos, forward).

    ``txpos`` is the transcript position of the unitig's first k-mer; ``forward`` is 1 when
    the transcript runs along the unitig (its k-mer ``p`` is then at ``txpos + p``), 0 when
    it runs against it (at ``txpos - p``). One pass over the transcripts (rolling k-mers, one
    lookup per window) lists the records in transcript order; a counting sort by unitig
    (stable) makes the CSR.
    """
    n_tx = offsets.shape[0] - 1
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    shift = np.uint64(2 * (k - 1))
    cap = max(16, n_contigs)
    r_c = np.empty(cap, np.int32)
    r_t = np.empty(cap, np.int32)
    r_p = np.empty(cap, np.int32)
    r_f = np.empty(cap, np.int8)
    n = 0
    for t in range(n_tx):
        a = offsets[t]
        fw = np.uint64(0)
        rc = np.uint64(0)
        valid = 0
        for i in range(a, offsets[t + 1]):
            cb = codes[i]
            if cb > 3:
                valid = 0
                continue
            cu = np.uint64(cb)
            fw = ((fw << _U2) | cu) & mask
            rc = (rc >> _U2) | ((_U3 - cu) << shift)
            valid += 1
            if valid < k:
                continue
            canon = fw if fw < rc else rc
            v = _hit(table, canon)
            if v < 0:
                continue
            if (v >> 1) & 0x7FFFFFFF != 0:  # one record per traversal: at the first k-mer
                continue
            o = v & 1
            if n == cap:
                cap *= 2
                r_c = _grow(r_c, cap)
                r_t = _grow(r_t, cap)
                r_p = _grow(r_p, cap)
                r_f = _grow(r_f, cap)
            # the transcript runs along the unitig iff its k-mer is the unitig's strand
            r_c[n] = np.int32(v >> 32)
            r_t[n] = t
            r_p[n] = i - k + 1 - a
            r_f[n] = 1 if (fw == canon) == (o == 0) else 0
            n += 1
    off = np.zeros(n_contigs + 1, np.int64)
    for j in range(n):
        off[r_c[j] + 1] += 1
    for c in range(n_contigs):
        off[c + 1] += off[c]
    fill = off[:-1].copy()
    pl_tx = np.empty(n, np.int32)
    pl_pos = np.empty(n, np.int32)
    pl_fw = np.empty(n, np.int8)
    for j in range(n):
        q = fill[r_c[j]]
        pl_tx[q] = r_t[j]
        pl_pos[q] = r_p[j]
        pl_fw[q] = r_f[j]
        fill[r_c[j]] = q + 1
    return off, pl_tx, pl_pos, pl_fw


@njit(inline="always")
def _grow(a, cap):  # pragma: no cover - compiled
    b = np.empty(cap, a.dtype)
    b[: a.shape[0]] = a
    return b


# --------------------------------------------------------------------------- pseudoalignment


@njit(inline="always")
def _add_ec(ecs, m, e):  # pragma: no cover - compiled
    if m > 0 and ecs[m - 1] == e:
        return m
    if m == ecs.shape[0]:  # full: keep distinct ones only
        m = _sort_unique(ecs, m)
        if m == ecs.shape[0]:
            return m
    ecs[m] = e
    return m + 1


@njit(inline="always")
def _sort_unique(a, m):  # pragma: no cover - compiled
    for i in range(1, m):  # insertion sort: m is tiny
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v
    w = 0
    for i in range(m):
        if w == 0 or a[i] != a[w - 1]:
            a[w] = a[i]
            w += 1
    return w


@njit(inline="always")
def _scan_read(
    codes, lo, hi, k, table, clen, cec, useq, uoff, ecs, m, first, fw, rc, end, valid
):  # fmt: skip  # pragma: no cover - compiled
    """Collect the equivalence classes of one read's k-mers into ``ecs[m:]``; return new m.

    Skipping along unitigs: after a hit on unitig c the read is compared base by base with
    c's sequence; every k-mer that matches is on c (same class) and needs no lookup. The
    scan resumes with a lookup after c's end, or, at a mismatch (sequencing error, variant,
    N), at the first window past the differing base: the windows that hold it are absent
    from the index (an interior unitig k-mer has one successor) or hit it by chance.
    ``first`` (int64[4]) receives the first hit: unitig, read offset, direction (+1 along
    the unitig), unitig position. ``fw, rc, end, valid``: the rolling k-mer to start from
    (``0, 0, lo, 0``, or as :func:`_first_window` leaves it): forward and reverse complement
    words of the bases up to ``end - 1``, the last ``valid`` of which are A/C/G/T.
    """
    last = hi - lo - k
    mask = (np.uint64(1) << np.uint64(2 * k)) - np.uint64(1)
    shift = np.uint64(2 * (k - 1))
    i = 0
    while i <= last:
        a = lo + i
        if a > end:  # nothing to reuse: restart at a
            end = a
            valid = 0
        while end < a + k:
            b = codes[np.uint64(end)]  # unsigned indexes: no wraparound check
            end += 1
            if b > 3:
                valid = 0
                continue
            bu = np.uint64(b)
            fw = ((fw << _U2) | bu) & mask
            rc = (rc >> _U2) | ((_U3 - bu) << shift)
            valid += 1
        if valid < k:
            i = end - valid - lo  # first window past the last non-ACGT base
            continue
        canon = fw if fw < rc else rc
        v = _hit(table, canon)
        if v < 0:
            i += 1
            continue
        c = v >> 32
        p = (v >> 1) & 0x7FFFFFFF
        sgn = 1 if (fw == canon) == ((v & 1) == 0) else -1
        m = _add_ec(ecs, m, cec[c])
        if first[0] < 0:
            first[0] = c
            first[1] = i
            first[2] = sgn
            first[3] = p
        rb = lo + i + k  # next read base
        d = 0
        if sgn > 0:
            ub = uoff[c] + p + k
            uend = uoff[c + 1]
            while rb < hi and ub < uend and codes[np.uint64(rb)] == useq[np.uint64(ub)]:
                rb += 1
                ub += 1
            d = ub - (uoff[c] + p + k)
            at_end = ub == uend
        else:
            ub = uoff[c] + p - 1
            ustart = uoff[c]
            while rb < hi and ub >= ustart and codes[np.uint64(rb)] + useq[np.uint64(ub)] == 3:
                rb += 1
                ub -= 1
            d = (uoff[c] + p - 1) - ub
            at_end = ub < ustart
        if rb >= hi:
            break
        i += d + 1 if at_end else d + k + 1
    return m


@njit(inline="always")
def _intersect(ecs, m, ec_off, ec_tx, buf):  # pragma: no cover - compiled
    """Intersect the classes ``ecs[:m]``: (class id, or -1 empty / -2 new set in buf, size)."""
    if m == 0:
        return -1, 0
    if m == 1:
        return np.int64(ecs[0]), 0
    m = _sort_unique(ecs, m)
    if m == 1:
        return np.int64(ecs[0]), 0
    best = 0
    for j in range(1, m):  # start from the smallest class
        if ec_off[ecs[j] + 1] - ec_off[ecs[j]] < ec_off[ecs[best] + 1] - ec_off[ecs[best]]:
            best = j
    base = ecs[best]
    nb = 0
    for q in range(ec_off[base], ec_off[base + 1]):
        buf[nb] = ec_tx[q]
        nb += 1
    for j in range(m):
        if j == best:
            continue
        e = ecs[j]
        a = 0
        b = ec_off[e]
        bend = ec_off[e + 1]
        w = 0
        while a < nb and b < bend:
            x = buf[a]
            y = ec_tx[b]
            if x == y:
                buf[w] = x
                w += 1
                a += 1
                b += 1
            elif x < y:
                a += 1
            else:
                b += 1
        nb = w
        if nb == 0:
            return -1, 0
    if nb == ec_off[base + 1] - ec_off[base]:
        return np.int64(base), nb
    if nb == 1:
        return np.int64(buf[0]), nb  # singleton class id == transcript id
    return -2, nb


@njit(inline="always")
def _tx_position(first, t, k, pl_off, pl_tx, pl_pos, pl_fw):  # pragma: no cover - compiled
    """(forward on t?, read start if forward / read end if reverse) of a read's first hit."""
    c = first[0]
    for q in range(pl_off[c], pl_off[c + 1]):
        if pl_tx[q] == t:
            p = first[3]
            tpos = pl_pos[q] + p if pl_fw[q] == 1 else pl_pos[q] - p
            fwd = (first[2] > 0) == (pl_fw[q] == 1)
            if fwd:
                return 1, tpos - first[1]
            return 0, tpos + k + first[1]
    return -1, 0


@njit(inline="always")
def _single_overhang(
    e, nb, buf, first, k, ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, tx_len, fraglen
):  # fmt: skip  # pragma: no cover - compiled
    """Single-end reads: drop the transcripts on which a fragment of ``fraglen`` starting at
    the read would run past an end (kallisto's default, no ``--single-overhang``).

    ``(e, nb)`` as :func:`_intersect` returns them; returns the filtered pair the same way.
    """
    if e == -1 or first[0] < 0:
        return e, nb
    if e >= 0:
        nb = 0
        for q in range(ec_off[e], ec_off[e + 1]):
            buf[nb] = ec_tx[q]
            nb += 1
    w = 0
    for j in range(nb):
        t = buf[j]
        d, x = _tx_position(first, t, k, pl_off, pl_tx, pl_pos, pl_fw)
        keep = True
        if d == 1:
            keep = x + fraglen <= tx_len[t]
        elif d == 0:
            keep = x - fraglen >= 0
        if keep:
            buf[w] = t
            w += 1
    if w == nb:
        return e, nb
    if w == 0:
        return np.int64(-1), 0
    if w == 1:
        return np.int64(buf[0]), 1
    return np.int64(-2), w


@njit(inline="always")
def _pseudoalign_reads(
    r0, r1, out, flen, codes1, off1, codes2, off2, paired, k, table, clen, cec, useq, uoff,
    ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, max_ec_size, n_tx, tx_len, se_fraglen,
):  # fmt: skip  # pragma: no cover - compiled
    """Reads ``r0 .. r1-1`` of a chunk: class into ``out``, fragment length into ``flen``."""
    ecs = np.empty(MAX_READ_ECS, np.int32)
    buf = np.empty(max_ec_size, np.int32)
    f1 = np.empty(4, np.int64)
    f2 = np.empty(4, np.int64)
    ring = PREFETCH_AHEAD + 1  # rolling k-mer states of reads r .. r + PREFETCH_AHEAD
    st1 = np.zeros((ring, 4), np.uint64)
    st2 = np.zeros((ring, 4), np.uint64)
    for q in range(r0, min(r1, r0 + PREFETCH_AHEAD)):
        _first_window(codes1, off1[q], off1[q + 1], k, table, st1, q % ring)
        if paired:
            _first_window(codes2, off2[q], off2[q + 1], k, table, st2, q % ring)
    for r in range(r0, r1):
        q = r + PREFETCH_AHEAD
        if q < r1:
            _first_window(codes1, off1[q], off1[q + 1], k, table, st1, q % ring)
            if paired:
                _first_window(codes2, off2[q], off2[q + 1], k, table, st2, q % ring)
        j = r % ring
        f1[0] = -1
        f2[0] = -1
        m = _scan_read(
            codes1, off1[r], off1[r + 1], k, table, clen, cec, useq, uoff, ecs, 0, f1,
            st1[j, 0], st1[j, 1], np.int64(st1[j, 2]), np.int64(st1[j, 3]),
        )  # fmt: skip
        if paired:
            m = _scan_read(
                codes2, off2[r], off2[r + 1], k, table, clen, cec, useq, uoff, ecs, m, f2,
                st2[j, 0], st2[j, 1], np.int64(st2[j, 2]), np.int64(st2[j, 3]),
            )  # fmt: skip
        e, nb = _intersect(ecs, m, ec_off, ec_tx, buf)
        if not paired and se_fraglen > 0:
            e, nb = _single_overhang(
                e, nb, buf, f1, k, ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, tx_len,
                se_fraglen,
            )  # fmt: skip
        out[r] = e
        if paired and e >= 0 and e < n_tx and f1[0] >= 0 and f2[0] >= 0:
            d1, x1 = _tx_position(f1, e, k, pl_off, pl_tx, pl_pos, pl_fw)
            d2, x2 = _tx_position(f2, e, k, pl_off, pl_tx, pl_pos, pl_fw)
            if d1 >= 0 and d2 >= 0 and d1 != d2:
                fl = x2 - x1 if d1 == 1 else x1 - x2
                if fl > 0:
                    flen[r] = fl


@njit(cache=True, parallel=True)
def pseudoalign_chunk(
    codes1, off1, codes2, off2, paired, k, table, clen, cec, useq, uoff,
    ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, max_ec_size, n_tx, tx_len, se_fraglen,
):  # fmt: skip  # pragma: no cover - compiled
    """Equivalence class of every read (pair) of one chunk, and fragment lengths.

    Returns (ec int64[n]: class id, -1 not pseudoaligned, -2 a set that is no class of the
    index (see :func:`new_sets`); flen int32[n]: fragment length of pairs on a single
    transcript whose both mates' first hits place on it, else -1). Single-end reads with
    ``se_fraglen > 0`` drop the transcripts a fragment that long would overhang
    (:func:`_single_overhang`). Parallel over blocks of reads (numba.set_num_threads).
    """
    n = off1.shape[0] - 1
    out = np.empty(n, np.int64)
    flen = np.full(n, -1, np.int32)
    n_blocks = min(n, 64)
    for blk in prange(n_blocks):
        _pseudoalign_reads(
            blk * n // n_blocks, (blk + 1) * n // n_blocks, out, flen, codes1, off1, codes2,
            off2, paired, k, table, clen, cec, useq, uoff, ec_off, ec_tx, pl_off, pl_tx,
            pl_pos, pl_fw, max_ec_size, n_tx, tx_len, se_fraglen,
        )  # fmt: skip
    return out, flen


# the arguments of pseudoalign_chunk(_serial) and new_sets as the quantifier passes them
# (reads: uint8 codes, int64 offsets; the index's arrays as KmerIndex holds them)
_INDEX_ARGS = (
    "uint64[:, ::1]",  # table
    "int32[::1]",  # contig_len
    "int32[::1]",  # contig_ec
    "uint8[::1]",  # useq
    "int64[::1]",  # uoff
    "int64[::1]",  # ec_off
    "int32[::1]",  # ec_tx
)
_PLACEMENT_ARGS = ("int64[::1]", "int32[::1]", "int32[::1]", "int8[::1]")  # pl_off .. pl_fw
_READS_ARGS = ("uint8[::1]", "int64[::1]", "uint8[::1]", "int64[::1]", "boolean", "int64")


@njit(
    cache=True,
    aot=signature(
        "Tuple((int64[::1], int32[::1]))",
        *_READS_ARGS, *_INDEX_ARGS, *_PLACEMENT_ARGS, "int64", "int64", "int64[::1]", "int64",
    ),
)  # fmt: skip
def pseudoalign_chunk_serial(
    codes1, off1, codes2, off2, paired, k, table, clen, cec, useq, uoff,
    ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, max_ec_size, n_tx, tx_len, se_fraglen,
):  # fmt: skip  # pragma: no cover - compiled
    """:func:`pseudoalign_chunk` on the calling thread, all reads as one block (each read's
    class depends on that read alone, so the result is the same)."""
    n = off1.shape[0] - 1
    out = np.empty(n, np.int64)
    flen = np.full(n, -1, np.int32)
    _pseudoalign_reads(
        0, n, out, flen, codes1, off1, codes2, off2, paired, k, table, clen, cec, useq, uoff,
        ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, max_ec_size, n_tx, tx_len, se_fraglen,
    )  # fmt: skip
    return out, flen


@njit(
    cache=True,
    aot=signature(
        "Tuple((int64[::1], int64[::1], int32[::1]))",
        "int64[::1]", *_READS_ARGS, *_INDEX_ARGS, "int64", "uint64[::1]", "int64[::1]",
        *_PLACEMENT_ARGS, "int64[::1]", "int64",
    ),
)  # fmt: skip
def new_sets(
    reads,
    codes1,
    off1,
    codes2,
    off2,
    paired,
    k,
    table,
    clen,
    cec,
    useq,
    uoff,
    ec_off,
    ec_tx,
    max_ec_size,
    hash_sorted,
    hash_ec,
    pl_off,
    pl_tx,
    pl_pos,
    pl_fw,
    tx_len,
    se_fraglen,
):  # pragma: no cover - compiled
    """Transcript sets of the reads ``pseudoalign_chunk`` marked -2.

    A set that is a class of the index after all (found by its hash) gets that id in
    ``known`` (int64[len(reads)]); the others get -2 there and their sorted transcripts in
    the CSR (set_off int64[len(reads)+1], set_tx int32[...]; empty rows for known ones).
    """
    nr = reads.shape[0]
    known = np.full(nr, -2, np.int64)
    set_off = np.zeros(nr + 1, np.int64)
    cap = max(16, nr * 4)
    set_tx = np.empty(cap, np.int32)
    ecs = np.empty(MAX_READ_ECS, np.int32)
    buf = np.empty(max_ec_size, np.int32)
    f = np.empty(4, np.int64)
    for q in range(nr):
        r = reads[q]
        f[0] = -1
        z = np.uint64(0)
        lo1, lo2 = off1[r], off2[r] if paired else 0
        m = _scan_read(
            codes1, lo1, off1[r + 1], k, table, clen, cec, useq, uoff, ecs, 0, f, z, z, lo1, 0
        )
        if paired:
            m = _scan_read(
                codes2, lo2, off2[r + 1], k, table, clen, cec, useq, uoff, ecs, m, f, z, z, lo2, 0
            )
        e, nb = _intersect(ecs, m, ec_off, ec_tx, buf)
        if not paired and se_fraglen > 0:
            e, nb = _single_overhang(
                e, nb, buf, f, k, ec_off, ec_tx, pl_off, pl_tx, pl_pos, pl_fw, tx_len,
                se_fraglen,
            )  # fmt: skip
        set_off[q + 1] = set_off[q]
        if e != -2:  # cannot happen (same inputs as the parallel pass); keep it safe
            known[q] = e
            continue
        h = _set_hash(buf, 0, nb)
        lo = np.searchsorted(hash_sorted, h)
        while lo < hash_sorted.shape[0] and hash_sorted[lo] == h:
            cand = hash_ec[lo]
            if _same_set(buf, 0, nb, ec_tx, ec_off[cand], ec_off[cand + 1]):
                known[q] = cand
                break
            lo += 1
        if known[q] >= 0:
            continue
        if set_off[q] + nb > set_tx.shape[0]:
            grown = np.empty(max(2 * set_tx.shape[0], set_off[q] + nb), np.int32)
            grown[: set_off[q]] = set_tx[: set_off[q]]
            set_tx = grown
        for j in range(nb):
            set_tx[set_off[q] + j] = buf[j]
        set_off[q + 1] = set_off[q] + nb
    return known, set_off, set_tx[: set_off[nr]].copy()


@njit(cache=True, parallel=True)
def read_kmer_classes(codes, off, k, table, cec):  # pragma: no cover - compiled
    """Exhaustive reference (no skipping): class of every k-mer of every read, -1 if absent.

    Returns int64[n_bases] aligned with ``codes`` (entry ``off[r] + i`` for k-mer ``i`` of
    read ``r``; the last k-1 entries of each read stay -1). For tests and measurement.
    """
    out = np.full(codes.shape[0], -1, np.int64)
    n = off.shape[0] - 1
    for r in prange(n):
        for i in range(off[r], off[r + 1] - k + 1):
            fw, rc, bad = _kmer_at(codes, i, k)
            if bad:
                continue
            canon = fw if fw < rc else rc
            v = _hit(table, canon)
            if v >= 0:
                out[i] = cec[v >> 32]
    return out


@njit(
    cache=True,
    aot=signature(
        "Tuple((float64[::1], int64, boolean))",
        "int64[::1]", "int32[::1]", "float64[::1]", "float64[::1]", "int64", "int64", "int64",
        "float64", "float64",
    ),
)  # fmt: skip
def em_rounds(
    ec_off, ec_tx, counts, weight, n_tx, max_rounds, min_rounds, change_limit, rel_change
):  # pragma: no cover - compiled
    """The EM loop of :func:`biometal.rnaseq.em.run_em`. ``weight`` = 1 / efflen.

    Returns (alpha float64[n_tx], rounds, converged).
    """
    alpha = np.full(n_tx, 1.0 / n_tx)
    nxt = np.zeros(n_tx)
    n_ec = ec_off.shape[0] - 1
    rounds = 0
    converged = False
    for it in range(max_rounds):
        for e in range(n_ec):
            c = counts[e]
            if c == 0:
                continue
            lo = ec_off[e]
            hi = ec_off[e + 1]
            if hi - lo == 1:
                nxt[ec_tx[lo]] += c
                continue
            denom = 0.0
            for q in range(lo, hi):
                t = ec_tx[q]
                denom += alpha[t] * weight[t]
            if denom <= 0.0:
                continue
            norm = c / denom
            for q in range(lo, hi):
                t = ec_tx[q]
                nxt[t] += alpha[t] * weight[t] * norm
        changed = 0
        for t in range(n_tx):
            if nxt[t] > change_limit and abs(nxt[t] - alpha[t]) / nxt[t] > rel_change:
                changed += 1
            alpha[t] = nxt[t]
            nxt[t] = 0.0
        rounds = it + 1
        if changed == 0 and it > min_rounds:
            converged = True
            break
    return alpha, rounds, converged
