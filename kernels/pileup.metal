// pileup.metal: per-position pileup counts from BAM records (Metal compute kernel).
//
// One thread per read (grid = n_reads). Each thread walks its read's CIGAR, straight from
// the decompressed BAM bytes, and adds what the read shows at every reference position into
// the shared count table with atomic adds (many reads cover the same position, so threads
// collide; atomic_fetch_add makes the sums exact and independent of thread order).
//
// Inputs
//   buf      uchar[]          decompressed BAM records (CIGAR, 4-bit bases, qualities)
//   reads    uint[n_reads*9]  per read, row-major: rel_pos (first reference position minus
//                             the table's first position), rel_end, cigar_off, n_cigar,
//                             seq_off, qual_off, l_seq, is_reverse (0/1), mapq; offsets are
//                             byte offsets into buf. Reads already passed the read filters.
//   n_reads  uint
//   acc_len  uint             rows of the count table; positions >= acc_len are dropped
//   min_bq   uint             a pileup entry counts when its base quality >= min_bq
// Output
//   acc      atomic_uint[acc_len*24]  row = position; columns (kernels/pileup.py COLUMNS):
//     0-4   A C G T N on the forward strand     5-9   A C G T N on the reverse strand
//     10,11 deletion (samtools '*') fwd, rev   12,13 reference skip (CIGAR N) fwd, rev
//     14,15 insertion after this base fwd, rev 16,17 deletion starting after this base fwd, rev
//     18-22 sum of base qualities of A C G T N 23    sum of MAPQ over every counted entry
//
// Semantics are htslib's pileup (what `samtools mpileup -B -x` prints): the pileup of a
// read starts at its first M/=/X/D/N operation (a leading insertion is not shown); a
// deletion or skip entry takes the quality of the base after it (htslib's qpos = query
// position at the start of the D/N operation); an insertion or deletion is reported on the
// entry of the last reference position before it (htslib's p->indel: consecutive I, or D,
// operations merge, P is skipped); a base beyond l_seq (SEQ '*') is N with quality 0.
//
// Harness: runs through tests/kernels/harness.py (atomic_uint + atomic_fetch_add_explicit
// are modelled; no threadgroup memory, no barriers).

#include <metal_stdlib>
using namespace metal;

#define NCOL 24u
#define COL_DEL 10u
#define COL_SKIP 12u
#define COL_INS 14u
#define COL_DELSTART 16u
#define COL_QSUM 18u
#define COL_MQSUM 23u

// BAM 4-bit base code (=ACMGRSVTWYHKDBN) -> A=0 C=1 G=2 T=3, anything else N=4.
constant uchar NT16_TO_CODE[16] = {4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4};

inline uint read_u32(const device uchar* buf, uint off) {
    return uint(buf[off]) | (uint(buf[off + 1u]) << 8) | (uint(buf[off + 2u]) << 16) |
           (uint(buf[off + 3u]) << 24);
}

inline bool ref_op(uint op) { return op == 0u || op == 2u || op == 3u || op == 7u || op == 8u; }

// htslib's look-ahead after the last position of operation k: +len for a following
// insertion, -len for a following deletion (not after a deletion), 0 otherwise.
inline int next_indel(const device uchar* buf, uint cig, uint k, uint n_cigar, uint op) {
    if (k + 1u >= n_cigar) {
        return 0;
    }
    uint c2 = read_u32(buf, cig + 4u * (k + 1u));
    uint op2 = c2 & 15u;
    uint l2 = c2 >> 4;
    if (op2 == 2u && op != 2u) {
        uint total = l2;
        for (uint j = k + 2u; j < n_cigar; ++j) {
            uint c = read_u32(buf, cig + 4u * j);
            if ((c & 15u) != 2u) {
                break;
            }
            total += c >> 4;
        }
        return -int(total);
    }
    if (op2 == 1u) {
        uint total = l2;
        for (uint j = k + 2u; j < n_cigar; ++j) {
            uint c = read_u32(buf, cig + 4u * j);
            uint o = c & 15u;
            if (o == 1u) {
                total += c >> 4;
            } else if (o != 6u) {
                break;
            }
        }
        return int(total);
    }
    if (op2 == 6u && k + 2u < n_cigar) {
        uint total = 0u;
        for (uint j = k + 2u; j < n_cigar; ++j) {
            uint c = read_u32(buf, cig + 4u * j);
            uint o = c & 15u;
            if (o == 1u) {
                total += c >> 4;
            } else if (ref_op(o)) {
                break;
            }
        }
        return int(total);
    }
    return 0;
}

inline void add(device atomic_uint* acc, uint idx, uint value) {
    atomic_fetch_add_explicit(&acc[idx], value, memory_order_relaxed);
}

kernel void pileup(const device uchar* buf [[buffer(0)]],
                   const device uint* reads [[buffer(1)]],
                   constant uint& n_reads [[buffer(2)]],
                   constant uint& acc_len [[buffer(3)]],
                   constant uint& min_bq [[buffer(4)]],
                   device atomic_uint* acc [[buffer(5)]],
                   uint gid [[thread_position_in_grid]]) {
    if (gid >= n_reads) {
        return;
    }
    const uint row = gid * 9u;
    const uint rel_pos = reads[row + 0u];
    const uint cig = reads[row + 2u];
    const uint n_cigar = reads[row + 3u];
    const uint seq = reads[row + 4u];
    const uint qual = reads[row + 5u];
    const uint l_seq = reads[row + 6u];
    const uint strand = reads[row + 7u] != 0u ? 1u : 0u;
    const uint mapq = reads[row + 8u];

    uint rpos = rel_pos;
    uint qpos = 0u;
    for (uint k = 0u; k < n_cigar; ++k) {
        const uint c = read_u32(buf, cig + 4u * k);
        const uint op = c & 15u;
        const uint len = c >> 4;
        if (op == 0u || op == 7u || op == 8u) {  // M = X: one base per position
            for (uint i = 0u; i < len; ++i) {
                const uint p = rpos + i;
                const uint q = qpos + i;
                const uint bq = q < l_seq ? uint(buf[qual + q]) : 0u;
                if (bq < min_bq || p >= acc_len) {
                    continue;
                }
                uint base = 4u;
                if (q < l_seq) {
                    const uint packed = buf[seq + (q >> 1)];
                    base = NT16_TO_CODE[(q & 1u) ? (packed & 15u) : (packed >> 4)];
                }
                const uint r = p * NCOL;
                add(acc, r + base + 5u * strand, 1u);
                add(acc, r + COL_QSUM + base, bq);
                add(acc, r + COL_MQSUM, mapq);
                if (i + 1u == len) {
                    const int indel = next_indel(buf, cig, k, n_cigar, op);
                    if (indel > 0) {
                        add(acc, r + COL_INS + strand, 1u);
                    } else if (indel < 0) {
                        add(acc, r + COL_DELSTART + strand, 1u);
                    }
                }
            }
            rpos += len;
            qpos += len;
        } else if (op == 2u || op == 3u) {  // D N: quality of the next base decides
            const uint bq = qpos < l_seq ? uint(buf[qual + qpos]) : 0u;
            if (bq >= min_bq) {
                const uint col = (op == 2u ? COL_DEL : COL_SKIP) + strand;
                for (uint i = 0u; i < len; ++i) {
                    const uint p = rpos + i;
                    if (p >= acc_len) {
                        break;
                    }
                    const uint r = p * NCOL;
                    add(acc, r + col, 1u);
                    add(acc, r + COL_MQSUM, mapq);
                    if (i + 1u == len) {
                        const int indel = next_indel(buf, cig, k, n_cigar, op);
                        if (indel > 0) {
                            add(acc, r + COL_INS + strand, 1u);
                        } else if (indel < 0) {
                            add(acc, r + COL_DELSTART + strand, 1u);
                        }
                    }
                }
            }
            rpos += len;
        } else if (op == 1u || op == 4u) {  // I S: query only
            qpos += len;
        }
        // H P: neither
    }
}
