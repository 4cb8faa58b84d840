"""A naive, obviously-correct alignment DP (pure Python) for the alignment tests.

Same conventions as biometal.align (module doc of biometal.align.core): gap of length k
costs open + (k-1)*extend; borders per mode; band |i - j| <= w (already widened by the
caller); end-cell ties to the smallest target end, then the smallest query end;
semiglobal/extension end at a target column >= 1 unless the query or target is empty.
Slow (Python loops): keep sequences short.
"""

from __future__ import annotations

NEG = -(10**9)


def gap(k: int, go: int, ge: int) -> int:
    return 0 if k <= 0 else go + (k - 1) * ge


def effective_band(lq: int, lt: int, mode: str, band: int | None) -> int | None:
    """The band the library uses for a pair (None: unbanded)."""
    if band is None:
        return None
    w = band
    if mode == "global":
        w = max(w, abs(lq - lt))
    elif mode in ("semiglobal", "extension"):
        w = max(w, lq - lt)
    return w


def naive_align(q, t, m, go: int, ge: int, mode: str, band: int | None = None):
    """(score, query_end, target_end) of query q against target t (code lists), matrix m."""
    lq, lt = len(q), len(t)
    w = effective_band(lq, lt, mode, band)
    w = lq + lt if w is None else w

    def inb(i, j):
        return abs(i - j) <= w

    H = [[NEG] * (lt + 1) for _ in range(lq + 1)]
    E = [[NEG] * (lt + 1) for _ in range(lq + 1)]
    F = [[NEG] * (lt + 1) for _ in range(lq + 1)]
    for j in range(lt + 1):
        if inb(0, j):
            H[0][j] = 0 if mode in ("local", "semiglobal") else -gap(j, go, ge)
    for i in range(lq + 1):
        if inb(i, 0):
            H[i][0] = 0 if mode == "local" else -gap(i, go, ge)
    for i in range(1, lq + 1):
        for j in range(1, lt + 1):
            if not inb(i, j):
                continue
            E[i][j] = max(E[i][j - 1] - ge, H[i][j - 1] - go)
            F[i][j] = max(F[i - 1][j] - ge, H[i - 1][j] - go)
            h = max(H[i - 1][j - 1] + int(m[q[i - 1]][t[j - 1]]), E[i][j], F[i][j])
            H[i][j] = max(h, 0) if mode == "local" else h
    if mode == "local":
        best, bi, bj = 0, 0, 0
        for j in range(1, lt + 1):
            for i in range(1, lq + 1):
                if H[i][j] > best:
                    best, bi, bj = H[i][j], i, j
        return best, bi, bj
    if mode == "global":
        return H[lq][lt], lq, lt
    if lq == 0 or lt == 0:
        return H[lq][0], lq, 0
    js = [j for j in range(1, lt + 1) if inb(lq, j)]
    bj = max(js, key=lambda j: (H[lq][j], -j))
    return H[lq][bj], lq, bj
