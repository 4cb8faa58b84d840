// overlap_count.metal: number of target intervals overlapping each query interval
// (bedtools intersect -c), Metal compute kernel.
//
// One thread per query interval (grid = n_query). Intervals are half-open [start, end) on one
// int64 line: the caller keys contigs (and strands) into disjoint ranges, e.g.
// start = contig << 36 | position, so intervals of different contigs never overlap. Query
// [s, e) and target [bs, be) overlap when bs < e and be > s (zero-length intervals included:
// [p, p) overlaps [bs, be) when bs < p < be). Targets satisfy bs <= be.
//
// Scheme: no scan, two binary searches (two more for zero-length queries), so every thread
// does O(log n_target) work whatever the nesting or the length of the targets:
//
//   count = #(bs < e) - #((be, bs) < (s, e) lexicographically)
//
// The second set is exactly the targets with bs < e that do not overlap (be <= s; a target
// with be == s and bs == e can only be a zero-length one at a zero-length query's point),
// so the difference counts the overlaps. Lexicographic order is not stored: with bs <= be,
//   #((be, bs) < (s, e)) = #(be <= s)                                   when s < e
//                        = #(be <= p) - #(zero-length targets at p)      when s == e == p
// so the inputs are three independently sorted arrays:
//
// Inputs
//   q_start, q_end  long[n_query]   query intervals (any order)
//   t_start         long[n_target]  target starts, sorted ascending
//   t_end           long[n_target]  target ends, sorted ascending (independently)
//   t_point         long[n_point]   positions p of the zero-length targets [p, p), sorted
//   sizes           ulong[3]        n_query, n_target, n_point
// Output
//   counts          long[n_query]
//
// Metal buffers cannot be empty: the host passes a one-element buffer for an empty array,
// and sizes say how much of it to read. The numba twin (overlap_count_cpu.py) runs the same
// branch-free binary searches; the two agree exactly (integers only).
//
// Harness: runs unchanged through tests/kernels/harness.py (no atomics, no threadgroup
// memory, no barriers).

#include <metal_stdlib>
using namespace metal;

// #(t_start < e) - #(t_end <= s) over n targets: the two branch-free binary searches run
// interleaved in one loop (t_start and t_end have the same length), so their dependent
// loads can overlap instead of queueing (a design choice; the two orders were not compared
// by a kept benchmark, and not at all on a GPU).
inline long started_minus_ended(const device long* t_start, const device long* t_end, ulong n,
                                long e, long s) {
    if (n == 0ul) {
        return 0;
    }
    ulong i = 0ul;
    ulong j = 0ul;
    while (n > 1ul) {
        const ulong half = n >> 1;
        i = (t_start[i + half] < e) ? i + half : i;
        j = (t_end[j + half] <= s) ? j + half : j;
        n -= half;
    }
    const ulong started = i + ((t_start[i] < e) ? 1ul : 0ul);
    const ulong ended = j + ((t_end[j] <= s) ? 1ul : 0ul);
    return long(started) - long(ended);
}

// First index i in [0, n) with v[i] >= x (n when none): branch-free lower bound.
inline ulong lower_bound_lt(const device long* v, ulong n, long x) {
    if (n == 0ul) {
        return 0ul;
    }
    ulong base = 0ul;
    while (n > 1ul) {
        const ulong half = n >> 1;
        base = (v[base + half] < x) ? base + half : base;
        n -= half;
    }
    return base + ((v[base] < x) ? 1ul : 0ul);
}

// First index i in [0, n) with v[i] > x (n when none): branch-free upper bound.
inline ulong upper_bound_le(const device long* v, ulong n, long x) {
    if (n == 0ul) {
        return 0ul;
    }
    ulong base = 0ul;
    while (n > 1ul) {
        const ulong half = n >> 1;
        base = (v[base + half] <= x) ? base + half : base;
        n -= half;
    }
    return base + ((v[base] <= x) ? 1ul : 0ul);
}

kernel void overlap_count(const device long* q_start [[buffer(0)]],
                          const device long* q_end [[buffer(1)]],
                          const device long* t_start [[buffer(2)]],
                          const device long* t_end [[buffer(3)]],
                          const device long* t_point [[buffer(4)]],
                          const device ulong* sizes [[buffer(5)]],
                          device long* counts [[buffer(6)]],
                          uint gid [[thread_position_in_grid]]) {
    const ulong n_query = sizes[0];
    const ulong n_target = sizes[1];
    const ulong n_point = sizes[2];
    if (ulong(gid) >= n_query) {
        return;
    }
    const long s = q_start[gid];
    const long e = q_end[gid];
    long c = started_minus_ended(t_start, t_end, n_target, e, s);
    if (s == e && n_point > 0ul) {
        c += long(upper_bound_le(t_point, n_point, s)) - long(lower_bound_lt(t_point, n_point, s));
    }
    counts[gid] = c;
}
