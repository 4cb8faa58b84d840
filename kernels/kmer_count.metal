// kmer_count.metal: canonical k-mers (k <= 63) of one chunk of reads, two 64-bit words each.
//
// One thread per read (grid = n_reads). Read r is codes[offsets[r] .. offsets[r+1]); its
// k-mer j (starting at base j) goes to slot slots[r] + j, where slots[r] = the number of
// k-mer positions (max(0, len - k + 1)) of the reads before r (the caller's prefix sum).
//
// Inputs
//   codes    uchar[n_bases]     A=0 C=1 G=2 T=3, anything >= 4 is N / IUPAC / other
//   offsets  ulong[n_reads+1]   read boundaries (the reader's int64 offsets, same bytes)
//   slots    ulong[n_reads+1]   first output slot of each read (see above)
//   params   uint[2]            k (1..63), n_reads
// Outputs
//   hi, lo   ulong[n_slots]     the canonical k-mer (the smaller of the k-mer and its
//                               reverse complement as a 2k-bit integer, 2 bits per base,
//                               first base most significant): lo = the low 64 bits, hi =
//                               the bits above (0 when k <= 32). A k-mer with a code >= 4 is
//                               written as hi = lo = ~0 (no real k-mer has hi = ~0).
//
// Counting is not done here: a GPU hash table needs atomic compare-and-swap on 128-bit keys,
// which neither Metal (32/64-bit atomics only) nor the C++ harness models; the caller counts
// the extracted words on the CPU (an open-addressing hash table in
// biometal/assembly/_kernels.py). Harness: runs unchanged through tests/kernels/harness.py
// (no atomics, no threadgroup memory, no barriers, no floating point), compared with
// kmer_count_cpu.py.

#include <metal_stdlib>
using namespace metal;

kernel void kmer_count(const device uchar* codes [[buffer(0)]],
                       const device ulong* offsets [[buffer(1)]],
                       const device ulong* slots [[buffer(2)]],
                       const device uint* params [[buffer(3)]],
                       device ulong* hi [[buffer(4)]],
                       device ulong* lo [[buffer(5)]],
                       uint gid [[thread_position_in_grid]]) {
    const uint k = params[0];
    const uint n_reads = params[1];
    if (gid >= n_reads) {
        return;
    }
    const uint bits = 2u * k;
    const ulong all = ~0ul;
    const ulong mask_lo = bits >= 64u ? all : ((1ul << bits) - 1ul);
    const ulong mask_hi = bits > 64u ? ((1ul << (bits - 64u)) - 1ul) : 0ul;
    const ulong start = offsets[gid];
    const ulong end = offsets[gid + 1];
    ulong out = slots[gid];
    ulong fh = 0ul, fl = 0ul, rh = 0ul, rl = 0ul;
    uint run = 0u;  // valid bases in a row ending at the current one
    for (ulong p = start; p < end; ++p) {
        const uint c = codes[p];
        if (c >= 4u) {
            run = 0u;
        } else {
            const ulong b = ulong(c);
            const ulong cb = ulong(3u - c);
            // forward: shift left by one base, append b
            fh = ((fh << 2) | (fl >> 62)) & mask_hi;
            fl = ((fl << 2) | b) & mask_lo;
            // reverse complement: shift right by one base, put complement(b) first
            rl = (rl >> 2) | (rh << 62);
            rh = rh >> 2;
            if (bits - 2u >= 64u) {
                rh = rh | (cb << (bits - 2u - 64u));
            } else {
                rl = rl | (cb << (bits - 2u));
            }
            run += 1u;
        }
        if (p + 1ul >= start + ulong(k)) {
            if (run >= k) {
                const bool fwd = fh < rh || (fh == rh && fl <= rl);
                hi[out] = fwd ? fh : rh;
                lo[out] = fwd ? fl : rl;
            } else {
                hi[out] = all;
                lo[out] = all;
            }
            out += 1ul;
        }
    }
}
