// kmer_tokenize.metal: DNABERT-style overlapping k-mer tokenization of one chunk of reads.
//
// One thread per read (grid = n_reads). Read r is codes[offsets[r] .. offsets[r+1]).
//
// Inputs
//   codes    uchar[n_bases]       A=0 C=1 G=2 T=3, anything >= 4 is N / IUPAC / other
//   qual     uchar[n_bases]       Phred scores (ASCII offset removed)
//   offsets  ulong[n_reads+1]     read boundaries (the reader's int64 offsets, same bytes)
//   lut      int[4^k]             k-mer index (2 bits per base, A=0 C=1 G=2 T=3, first base
//                                 most significant) -> token id in the vocabulary
//   rc       uchar[n_reads]       1: tokenize the reverse complement of read r
//   params   uint[11]             k, stride, max_length (L, token slots per read),
//                                 add_special (1: [CLS] first, [SEP] after the last k-mer),
//                                 mask_below (a k-mer whose minimum base quality is below it
//                                 becomes [MASK]; 0 = off), pad, unk, cls, sep, mask ids,
//                                 n_reads
// Outputs (integers only)
//   ids       int[n_reads*L]      token ids, row-major; [PAD] after the last token
//   n_tokens  uint[n_reads]       tokens written per read (specials included)
//   min_qual  uchar[n_reads*L]    minimum base quality of each k-mer token; 255 for
//                                 [CLS]/[SEP]/[PAD]
//
// A read of length len has (len - k) / stride + 1 k-mers when len >= k, else none; k-mer j
// starts at base j * stride of the (possibly reverse-complemented) read. Reads with more
// k-mers than fit (L - 2 with specials) are truncated on the right, as DNABERT does. A k-mer
// with any code >= 4 is [UNK] (and still gets its minimum quality). The reverse complement
// of base code c is 3 - c for c < 4, and stays >= 4 otherwise; qualities are reversed.
//
// Harness: runs unchanged through tests/kernels/harness.py (no atomics, no threadgroup
// memory, no barriers, no floating point), compared with kmer_tokenize_cpu.py.

#include <metal_stdlib>
using namespace metal;

kernel void kmer_tokenize(const device uchar* codes [[buffer(0)]],
                          const device uchar* qual [[buffer(1)]],
                          const device ulong* offsets [[buffer(2)]],
                          const device int* lut [[buffer(3)]],
                          const device uchar* rc [[buffer(4)]],
                          const device uint* params [[buffer(5)]],
                          device int* ids [[buffer(6)]],
                          device uint* n_tokens [[buffer(7)]],
                          device uchar* min_qual [[buffer(8)]],
                          uint gid [[thread_position_in_grid]]) {
    const uint k = params[0];
    const uint stride = params[1];
    const uint max_length = params[2];
    const uint add_special = params[3];
    const uint mask_below = params[4];
    const int pad_id = int(params[5]);
    const int unk_id = int(params[6]);
    const int cls_id = int(params[7]);
    const int sep_id = int(params[8]);
    const int mask_id = int(params[9]);
    const uint n_reads = params[10];
    if (gid >= n_reads) {
        return;
    }
    const ulong start = offsets[gid];
    const ulong len = offsets[gid + 1] - start;
    const bool reverse = rc[gid] != 0;
    const ulong row = ulong(gid) * ulong(max_length);

    ulong n_kmers = len >= ulong(k) ? (len - ulong(k)) / ulong(stride) + 1ul : 0ul;
    const ulong room = ulong(max_length) - (add_special != 0u ? 2ul : 0ul);
    if (n_kmers > room) {
        n_kmers = room;
    }
    ulong t = 0;
    if (add_special != 0u) {
        ids[row] = cls_id;
        min_qual[row] = uchar(255);
        t = 1;
    }
    for (ulong j = 0; j < n_kmers; ++j) {
        const ulong p0 = j * ulong(stride);
        uint index = 0u;
        bool unknown = false;
        uint lowest = 255u;
        for (uint b = 0u; b < k; ++b) {
            const ulong p = p0 + ulong(b);
            // position p of the read in tokenization order
            const ulong src = reverse ? start + len - 1ul - p : start + p;
            uint c = codes[src];
            if (c >= 4u) {
                unknown = true;
            } else if (reverse) {
                c = 3u - c;
            }
            index = (index << 2) | (c & 3u);
            const uint q = qual[src];
            lowest = q < lowest ? q : lowest;
        }
        int id = unknown ? unk_id : lut[index];
        if (lowest < mask_below) {
            id = mask_id;
        }
        ids[row + t] = id;
        min_qual[row + t] = uchar(lowest);
        t += 1;
    }
    if (add_special != 0u) {
        ids[row + t] = sep_id;
        min_qual[row + t] = uchar(255);
        t += 1;
    }
    n_tokens[gid] = uint(t);
    for (ulong i = t; i < ulong(max_length); ++i) {
        ids[row + i] = pad_id;
        min_qual[row + i] = uchar(255);
    }
}
