// read_stats.metal: per-read statistics on one chunk of reads (Metal compute kernel).
//
// One thread per read (grid = n_reads). Read r is codes[offsets[r] .. offsets[r+1]).
//
// Inputs
//   codes      uchar[n_bases]     A=0 C=1 G=2 T=3, anything >= 4 counts as N
//   qual       uchar[n_bases]     Phred scores (ASCII offset already removed)
//   offsets    ulong[n_reads+1]   read boundaries (the reader's int64 offsets, same bytes)
//   threshold  uint               a base is low quality when qual < threshold
//   n_reads    uint               guards threads beyond the last read
// Outputs (integers only)
//   counts       uint[n_reads*5]  A, C, G, T, N counts, row-major (read, base)
//   quality_sum  ulong[n_reads]   sum of qual over the read
//   n_low        uint[n_reads]    count of bases with qual < threshold
//
// GC fraction and mean quality are NOT computed here: Metal compiles with fast math by
// default (metalcompute gives no way to turn it off), where float division is not
// correctly rounded, so those two divisions are done on the host from these exact
// integer sums (biometal.kernels.read_stats.ReadStats.from_sums). That is what lets the
// Metal and numba (read_stats_cpu.py) backends agree bit for bit.
//
// Harness: runs unchanged through tests/kernels/harness.py (no atomics, no threadgroup
// memory, no barriers).

#include <metal_stdlib>
using namespace metal;

kernel void read_stats(const device uchar* codes [[buffer(0)]],
                       const device uchar* qual [[buffer(1)]],
                       const device ulong* offsets [[buffer(2)]],
                       constant uint& threshold [[buffer(3)]],
                       constant uint& n_reads [[buffer(4)]],
                       device uint* counts [[buffer(5)]],
                       device ulong* quality_sum [[buffer(6)]],
                       device uint* n_low [[buffer(7)]],
                       uint gid [[thread_position_in_grid]]) {
    if (gid >= n_reads) {
        return;
    }
    const ulong start = offsets[gid];
    const ulong end = offsets[gid + 1];

    uint n[5] = {0u, 0u, 0u, 0u, 0u};
    ulong qsum = 0;
    uint low = 0u;
    for (ulong i = start; i < end; ++i) {
        const uint b = codes[i];
        n[b < 4u ? b : 4u] += 1u;
        const uint q = qual[i];
        qsum += q;
        low += (q < threshold) ? 1u : 0u;
    }

    const ulong row = ulong(gid) * 5ul;
    for (uint k = 0u; k < 5u; ++k) {
        counts[row + k] = n[k];
    }
    quality_sum[gid] = qsum;
    n_low[gid] = low;
}
