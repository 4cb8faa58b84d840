// site_stats.metal: per-position site statistics of a pileup region (Metal compute kernel).
//
// One thread per reference position (grid = n). From the pileup's count row (the 24 uint32
// columns of kernels/pileup.py COLUMNS) and the reference base, each thread computes what
// biometal.variants.sitestats computes for a candidate SNP, at every position:
//
//   alt      the most frequent non-reference base (A/C/G/T; ties: lowest code; with no
//            non-reference base the lowest non-reference code)
//   n_ref, n_alt, depth   A/C/G/T reads (both strands) of REF, of ALT, of all four bases
//   PL       phred-scaled diploid genotype likelihoods of 0/0, 0/1, 1/1 for the biallelic
//            REF/ALT set (sitestats.genotype_log10_likelihoods, snp=True): a base of mean
//            quality q is wrong with e = 10^(-q/10) (clipped to [1e-6, 0.75]; q = 20 with no
//            reads), a wrong base shows one specific other base with e/3
//   GT, GQ   the most probable genotype under the prior P(0/1) = theta, P(1/1) = theta/2,
//            and -10 log10(1 - P(GT | reads)) capped at 99 (sitestats.call_genotypes)
//   REF_GQ   the hom-ref reference-confidence GQ of a gVCF reference block (likelihood
//            based, as GATK -ERC GVCF): min(PL[0/1], PL[1/1]) capped at 99; 0 when 0/0 is
//            not the likeliest genotype
//   QUAL     -10 log10 P(0/0 | reads), capped at 3000
//   BINOMQ   -10 log10 P(X >= n_alt), X ~ Binomial(depth, e_site/3), e_site at the mean
//            quality of all A/C/G/T bases (0 when n_alt = 0)
//   BBQ      the same under a beta-binomial with mean e_site/3 and intra-site correlation
//            rho (sitestats.betabinomial_sf)
//
// The tail sums run term by term from P(X = n_alt) (log-gamma by Stirling's series after
// shifting the argument to >= 8) with the ratio of consecutive terms, in log space with a
// running maximum (no underflow, no overflow at any depth). The binomial tail (and the
// beta-binomial's when a, b >= 1: log-concave pmf) stops once the terms decrease and are
// below e^-25 of the largest. Positions whose REF is not A/C/G/T (code 4) get alt = 4,
// depth, and zeros elsewhere.
//
// Inputs
//   counts  uint[n*24]   pileup count rows (kernels/pileup.py COLUMNS)
//   ref     uchar[n]     reference base codes A=0 C=1 G=2 T=3, anything else 4
//   n       uint         positions
//   theta   float        heterozygosity prior, in (0, 0.5)
//   rho     float        beta-binomial intra-site correlation, in (0, 1)
// Outputs
//   iout    int[n*10]    alt, n_ref, n_alt, depth, PL00, PL01, PL11, GT (0/1/2), GQ, REF_GQ
//   fout    float[n*3]   QUAL, BINOMQ, BBQ
//
// Floating point: single precision throughout, with only + - * /, log, exp, floor, min,
// max, in the same order as the numba twin (kernels/site_stats_cpu.py). The harness
// (IEEE, no fused multiply-add) gives results equal to the twin bit for bit; Metal's default
// fast math may differ in the last bits of a float (a PL or GQ at a rounding boundary can
// then differ by 1). Harness: runs through tests/kernels/harness.py (no atomics, no
// threadgroup memory, no barriers).

#include <metal_stdlib>
using namespace metal;

#define NCOL 24u
#define NI 10u
#define NF 3u

constant float INV_LN10 = 0.43429448190325176f;
constant float LN10 = 2.302585092994046f;
constant float NEG_LN10_10 = -0.2302585092994046f;  // 10^(-q/10) = exp(q * this)
constant float MIN_ERR = 1e-6f;
constant float MAX_ERR = 0.75f;
constant float MAX_PHRED = 3000.0f;
constant float HALF_LN_2PI = 0.9189385332046727f;

inline float error_rate(uint qsum, uint count) {
    float q = 20.0f;
    if (count > 0u) {
        q = float(qsum) / float(count);
    }
    float e = exp(q * NEG_LN10_10);
    return min(max(e, MIN_ERR), MAX_ERR);
}

// log Gamma(x), x > 0: shift to x >= 8, then Stirling's series to 1/x^5.
inline float lgam(float x) {
    float prod = 1.0f;
    while (x < 8.0f) {
        prod = prod * x;
        x = x + 1.0f;
    }
    float inv = 1.0f / x;
    float inv2 = inv * inv;
    float series = inv * (0.083333333333f - inv2 * (0.0027777777778f - inv2 * 0.00079365079365f));
    return (x - 0.5f) * log(x) - x + HALF_LN_2PI + series - log(prod);
}

inline float log_choose(uint n, uint k) {
    return lgam(float(n) + 1.0f) - lgam(float(k) + 1.0f) - lgam(float(n - k) + 1.0f);
}

// -10 log10 P(X >= k), X ~ Binomial(n, p) (beta == 0) or BetaBinomial(n, a, b) (beta == 1).
inline float tail_phred(uint k, uint n, float p, float a, float b, uint beta) {
    if (k == 0u) {
        return 0.0f;
    }
    if (k > n) {
        return MAX_PHRED;
    }
    float fk = float(k);
    float fn = float(n);
    float l;
    float odds = p / (1.0f - p);
    bool concave = true;
    if (beta == 0u) {
        l = log_choose(n, k) + fk * log(p) + (fn - fk) * log(1.0f - p);
    } else {
        float lbeta_ab = lgam(a) + lgam(b) - lgam(a + b);
        float lbeta_kn = lgam(fk + a) + lgam(fn - fk + b) - lgam(fn + a + b);
        l = log_choose(n, k) + lbeta_kn - lbeta_ab;
        concave = a >= 1.0f && b >= 1.0f;
    }
    float m = l;
    float s = 1.0f;
    for (uint i = k; i < n; ++i) {
        float ratio;
        if (beta == 0u) {
            ratio = (float(n - i) * odds) / float(i + 1u);
        } else {
            ratio = (float(n - i) * (a + float(i))) / (float(i + 1u) * (b + float(n - i - 1u)));
        }
        l = l + log(ratio);
        if (l > m) {
            s = s * exp(m - l) + 1.0f;
            m = l;
        } else {
            s = s + exp(l - m);
            if (concave && ratio < 1.0f && l - m < -25.0f) {
                break;
            }
        }
    }
    float phred = -10.0f * INV_LN10 * (m + log(s));
    return min(max(phred, 0.0f), MAX_PHRED);
}

// log10(10^x + 10^y)
inline float lse2(float x, float y) {
    float hi = max(x, y);
    float lo = min(x, y);
    return hi + log(1.0f + exp((lo - hi) * LN10)) * INV_LN10;
}

inline int round_int(float x) { return int(floor(x + 0.5f)); }

kernel void site_stats(const device uint* counts [[buffer(0)]],
                       const device uchar* ref [[buffer(1)]],
                       constant uint& n [[buffer(2)]],
                       constant float& theta [[buffer(3)]],
                       constant float& rho [[buffer(4)]],
                       device int* iout [[buffer(5)]],
                       device float* fout [[buffer(6)]],
                       uint gid [[thread_position_in_grid]]) {
    if (gid >= n) {
        return;
    }
    const uint row = gid * NCOL;
    uint acgt[4];
    uint depth = 0u;
    uint qall = 0u;
    for (uint b = 0u; b < 4u; ++b) {
        acgt[b] = counts[row + b] + counts[row + 5u + b];
        depth += acgt[b];
        qall += counts[row + 18u + b];
    }
    const uint r = uint(ref[gid]);
    const uint io = gid * NI;
    const uint fo = gid * NF;
    if (r > 3u) {
        iout[io + 0u] = 4;
        iout[io + 3u] = int(depth);
        return;
    }
    uint alt = 4u;
    uint k_alt = 0u;
    for (uint b = 0u; b < 4u; ++b) {
        if (b != r && (alt == 4u || acgt[b] > k_alt)) {
            alt = b;
            k_alt = acgt[b];
        }
    }
    const uint k_ref = acgt[r];
    const float e_ref = error_rate(counts[row + 18u + r], k_ref);
    const float e_alt = error_rate(counts[row + 18u + alt], k_alt);
    const float e_site = error_rate(qall, depth);

    // genotype likelihoods (log10) of 0/0, 0/1, 1/1
    const float nr = float(k_ref);
    const float na = float(k_alt);
    const float ref_ok = log(1.0f - e_ref) * INV_LN10;
    const float ref_err = log(e_ref / 3.0f) * INV_LN10;
    const float ref_het = log(0.5f * (1.0f - e_ref) + 0.5f * (e_ref / 3.0f)) * INV_LN10;
    const float alt_ok = log(1.0f - e_alt) * INV_LN10;
    const float alt_err = log(e_alt / 3.0f) * INV_LN10;
    const float alt_het = log(0.5f * (1.0f - e_alt) + 0.5f * (e_alt / 3.0f)) * INV_LN10;
    float gl[3];
    gl[0] = nr * ref_ok + na * alt_err;
    gl[1] = nr * ref_het + na * alt_het;
    gl[2] = nr * ref_err + na * alt_ok;
    const float best_gl = max(max(gl[0], gl[1]), gl[2]);
    int pl[3];
    for (uint g = 0u; g < 3u; ++g) {
        pl[g] = round_int(-10.0f * (gl[g] - best_gl));
    }

    // posteriors under the prior
    float lp[3];
    lp[0] = gl[0] + log(1.0f - 1.5f * theta) * INV_LN10;
    lp[1] = gl[1] + log(theta) * INV_LN10;
    lp[2] = gl[2] + log(0.5f * theta) * INV_LN10;
    uint gt = 0u;
    for (uint g = 1u; g < 3u; ++g) {
        if (lp[g] > lp[gt]) {
            gt = g;
        }
    }
    const float total = lse2(lse2(lp[0], lp[1]), lp[2]);
    float wrong;
    if (gt == 0u) {
        wrong = lse2(lp[1], lp[2]);
    } else if (gt == 1u) {
        wrong = lse2(lp[0], lp[2]);
    } else {
        wrong = lse2(lp[0], lp[1]);
    }
    const int gq = min(99, max(0, round_int(-10.0f * (wrong - total))));
    const float qual = min(-10.0f * (lp[0] - total), MAX_PHRED);
    const int ref_gq = min(99, min(pl[1], pl[2]));

    // error tests
    const float p = e_site / 3.0f;
    const float pc = min(max(p, 1e-12f), 1.0f - 1e-7f);
    const float a = pc * (1.0f - rho) / rho;
    const float b = (1.0f - pc) * (1.0f - rho) / rho;
    const float binq = tail_phred(k_alt, depth, p, 0.0f, 0.0f, 0u);
    const float bbq = tail_phred(k_alt, depth, pc, a, b, 1u);

    iout[io + 0u] = int(alt);
    iout[io + 1u] = int(k_ref);
    iout[io + 2u] = int(k_alt);
    iout[io + 3u] = int(depth);
    iout[io + 4u] = pl[0];
    iout[io + 5u] = pl[1];
    iout[io + 6u] = pl[2];
    iout[io + 7u] = int(gt);
    iout[io + 8u] = gq;
    iout[io + 9u] = ref_gq;
    fout[fo + 0u] = max(qual, 0.0f);
    fout[fo + 1u] = binq;
    fout[fo + 2u] = bbq;
}
