// smith_waterman.metal: pairwise alignment of a batch of sequence pairs (Metal compute kernels).
//
// One thread per pair (grid = n_pairs): thread p aligns query p against target p, column by
// column (j = 1..lt, i = 1..lq inside), in exact 32-bit integer arithmetic. Any length: the
// two DP columns (H and E, lq+1 ints each) live in a device scratch buffer at the pair's own
// offset (scratch_off, computed on the host from the query offsets), so nothing is sized at
// compile time and pairs of any mix of lengths share one dispatch.
//
// Many queries against one shared target: the CPU twin has a "shared" layout for it (lane
// groups of queries with the target streamed once per group, shared_driver in
// smith_waterman_cpu.py); this Metal source has no such layout yet and keeps its one thread
// per pair: the host passes the shared (or broadcast) target once per pair, so the results
// are the same and only the CPU's speed differs.
//
//   sw_score  scores and end cells only
//   sw_trace  the same, and the traceback direction byte of every computed cell, written
//             to tb at tb_off[p] + tb_base[p] + (i-1) + (j-1)*tb_stride[p] (the whole lq x lt
//             matrix, or only the band); the CIGAR is then walked on the host by the same
//             routine the CPU backend uses (biometal.kernels.smith_waterman_cpu).
//
// Inputs
//   qcodes, tcodes  uchar    A=0 C=1 G=2 T=3 N=4
//   qoff, toff      ulong[n+1]  sequence boundaries (the host's int64 offsets, same bytes)
//   matrix          int[25]  substitution scores, matrix[q*5 + t]
//   params          int[4]   mode (0 local, 1 global, 2 semiglobal, 3 extension),
//                            gap_open, gap_extend, n_pairs
//   bands           long[n]  per-pair band w (cells with |i - j| <= w; lq+lt when unbanded)
//   scratch_off     ulong[n] start of the pair's 2*(lq+1) ints in scratch
// Outputs
//   score, end_q, end_t  int[n]  score and end cell (i, j) = (query end, target end)
//
// Conventions (identical to the numba twin, smith_waterman_cpu.py, bit for bit):
//   E(i,j) = max(E(i,j-1) - ge, H(i,j-1) - go), F(i,j) = max(F(i-1,j) - ge, H(i-1,j) - go),
//   H(i,j) = max(H(i-1,j-1) + M[q_i][t_j], E, F, floor) with floor 0 (local) or -inf, so a
//   gap of length k costs go + (k-1)*ge. Borders: local 0; row 0 (target prefix) free in
//   semiglobal; every other border is a gap. Local end: the best cell, ties to the smallest
//   j then the smallest i (the strict > below, in column-major order); semiglobal and
//   extension: the best cell of the last row with j >= 1 (smallest j; as parasail), or
//   (lq, 0) for an empty query or target; global: (lq, lt).
//   Direction byte: bits 0-1 = 3 if H == floor (local start), else 0 diagonal, 1 E, 2 F
//   (first match in that order); bit 2: E extended (E(i,j-1) - ge > H(i,j-1) - go);
//   bit 3: F extended.
//   -inf is -2^30; the host checks |scores| stay below 2^29, so nothing overflows.
//
// Harness: runs unchanged through tests/kernels/harness.py (no atomics, no threadgroup
// memory, no barriers); tests/kernels/test_smith_waterman.py checks it against numba.

#include <metal_stdlib>
using namespace metal;

#define SW_LOCAL 0
#define SW_GLOBAL 1
#define SW_SEMIGLOBAL 2
#define SW_EXTENSION 3
#define SW_NEG (-1073741824)

static inline int sw_border(long k, int mode, bool row0, int go, int ge) {
    if (mode == SW_LOCAL || (row0 && mode == SW_SEMIGLOBAL) || k <= 0) {
        return 0;
    }
    return -(go + int(k - 1) * ge);
}

static inline void sw_pair(uint p,
                           const device uchar* qcodes,
                           const device ulong* qoff,
                           const device uchar* tcodes,
                           const device ulong* toff,
                           const device int* matrix,
                           const device int* params,
                           const device long* bands,
                           const device ulong* scratch_off,
                           device int* scratch,
                           device int* score,
                           device int* end_q,
                           device int* end_t,
                           bool trace,
                           device uchar* tb,
                           ulong tb_at,
                           long tb_stride) {
    const int mode = params[0];
    const int go = params[1];
    const int ge = params[2];
    const bool local = mode == SW_LOCAL;
    const int floor_ = local ? 0 : SW_NEG;
    const ulong qs = qoff[p];
    const ulong ts = toff[p];
    const long lq = long(qoff[p + 1] - qs);
    const long lt = long(toff[p + 1] - ts);
    const long w = bands[p];
    device int* H = scratch + scratch_off[p];
    device int* E = H + (lq + 1);

    for (long i = 0; i <= lq; ++i) {  // column 0
        H[i] = (i <= w) ? sw_border(i, mode, false, go, ge) : SW_NEG;
        E[i] = SW_NEG;
    }
    long best = local ? 0 : -(1L << 62);
    long bi = 0;
    long bj = 0;
    if (!local && (lt == 0 || (lq == 0 && mode != SW_GLOBAL))) {  // ends in column 0
        best = sw_border(lq, mode, false, go, ge);
        bi = lq;
    }
    for (long j = 1; j <= lt; ++j) {
        const long lo = max(1L, j - w);
        const long hi = min(lq, j + w);
        const int h0 = (j <= w) ? sw_border(j, mode, true, go, ge) : SW_NEG;
        int hdiag = (lo <= hi) ? H[lo - 1] : SW_NEG;  // (lo-1, j-1); an empty column reads nothing
        int hup = (lo == 1) ? h0 : SW_NEG;  // (lo-1, j)
        H[0] = h0;
        int f = SW_NEG;
        const int tcode = tcodes[ts + ulong(j - 1)];
        for (long i = lo; i <= hi; ++i) {
            const int s = matrix[int(qcodes[qs + ulong(i - 1)]) * 5 + tcode];
            const int hold = H[i];
            const int e_ext = E[i] - ge;
            const int e_open = hold - go;
            const int e = max(e_ext, e_open);
            const int f_ext = f - ge;
            const int f_open = hup - go;
            f = max(f_ext, f_open);
            const int hd = hdiag + s;
            const int h = max(max(hd, floor_), max(e, f));
            if (trace) {
                uint src = (h == hd) ? 0u : ((h == e) ? 1u : 2u);
                if (h == floor_) {
                    src = 3u;
                }
                if (e_ext > e_open) {
                    src += 4u;
                }
                if (f_ext > f_open) {
                    src += 8u;
                }
                tb[tb_at + ulong(i - 1) + ulong(j - 1) * ulong(tb_stride)] = uchar(src);
            }
            hdiag = hold;
            H[i] = h;
            E[i] = e;
            hup = h;
            if (local && long(h) > best) {
                best = h;
                bi = i;
                bj = j;
            }
        }
        // the last-row cell (lq, j), when inside the band
        if (!local && j - lq <= w && lq - j <= w) {
            const long v = (lq == 0) ? long(h0) : long(H[lq]);
            if (mode == SW_GLOBAL) {
                if (j == lt) {
                    best = v;
                    bi = lq;
                    bj = j;
                }
            } else if (v > best) {
                best = v;
                bi = lq;
                bj = j;
            }
        }
    }
    score[p] = int(best);
    end_q[p] = int(bi);
    end_t[p] = int(bj);
}

kernel void sw_score(const device uchar* qcodes [[buffer(0)]],
                     const device ulong* qoff [[buffer(1)]],
                     const device uchar* tcodes [[buffer(2)]],
                     const device ulong* toff [[buffer(3)]],
                     const device int* matrix [[buffer(4)]],
                     const device int* params [[buffer(5)]],
                     const device long* bands [[buffer(6)]],
                     const device ulong* scratch_off [[buffer(7)]],
                     device int* scratch [[buffer(8)]],
                     device int* score [[buffer(9)]],
                     device int* end_q [[buffer(10)]],
                     device int* end_t [[buffer(11)]],
                     uint gid [[thread_position_in_grid]]) {
    if (gid >= uint(params[3])) {
        return;
    }
    sw_pair(gid, qcodes, qoff, tcodes, toff, matrix, params, bands, scratch_off, scratch, score,
            end_q, end_t, false, (device uchar*)scratch, 0, 0);
}

kernel void sw_trace(const device uchar* qcodes [[buffer(0)]],
                     const device ulong* qoff [[buffer(1)]],
                     const device uchar* tcodes [[buffer(2)]],
                     const device ulong* toff [[buffer(3)]],
                     const device int* matrix [[buffer(4)]],
                     const device int* params [[buffer(5)]],
                     const device long* bands [[buffer(6)]],
                     const device ulong* scratch_off [[buffer(7)]],
                     device int* scratch [[buffer(8)]],
                     device int* score [[buffer(9)]],
                     device int* end_q [[buffer(10)]],
                     device int* end_t [[buffer(11)]],
                     const device ulong* tb_off [[buffer(12)]],
                     const device long* tb_base [[buffer(13)]],
                     const device long* tb_stride [[buffer(14)]],
                     device uchar* tb [[buffer(15)]],
                     uint gid [[thread_position_in_grid]]) {
    if (gid >= uint(params[3])) {
        return;
    }
    sw_pair(gid, qcodes, qoff, tcodes, toff, matrix, params, bands, scratch_off, scratch, score,
            end_q, end_t, true, tb, tb_off[gid] + ulong(tb_base[gid]), tb_stride[gid]);
}
