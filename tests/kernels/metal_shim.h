// metal_shim.h: just enough of the Metal Shading Language, mapped onto C++17, for a
// kernels/NAME.metal compute kernel to compile with g++ and run on the CPU
// (tests/kernels/harness.py builds it; DESIGN.md section 3).
//
// What it models:
//   * address-space words `device`, `constant`, `thread`, `threadgroup` -> nothing, and
//     `kernel` -> nothing (a kernel becomes a plain C++ function);
//   * Metal scalar types uchar/ushort/uint/ulong (char/short/int/long/float/bool are
//     C++'s own; Metal's long is 64-bit like C++'s on LP64 Linux);
//   * small vector types float2/3/4, int2/3/4, uint2/3/4 with .x .y .z .w and
//     component-wise arithmetic;
//   * atomics: atomic_uint, atomic_int, atomic_float (std::atomic underneath) and the
//     *_explicit free functions (fetch_add/sub/and/or/xor/min/max, load, store,
//     exchange, compare_exchange_weak), memory_order_relaxed;
//   * a few metal:: helpers (min, max, clamp, abs, select, popcount, clz, ctz, as_type,
//     mix, the <cmath> functions, precise::divide and fast::divide).
//
// What it does NOT model (a kernel that needs these cannot use this harness and must
// say why in its header comment): threadgroup memory shared between threads and
// threadgroup_barrier / simdgroup functions (undeclared here, so using them fails to
// compile), `half`, textures, 2-D/3-D grids. Attributes such as [[buffer(0)]] and
// [[thread_position_in_grid]] are left to the compiler, which ignores them under
// -Wno-attributes; the harness reads them from the kernel signature instead.
//
// Floating point: the harness compiles with -ffp-contract=off and without -ffast-math,
// so float arithmetic here is IEEE-754 single precision with correct rounding. Metal
// compiles with fast math by default, so a kernel whose float results must agree bit for
// bit with the CPU twin should do its divisions on the host (see read_stats.metal).

#ifndef BIOMETAL_METAL_SHIM_H
#define BIOMETAL_METAL_SHIM_H

// Every standard header is included BEFORE the address-space macros below are defined:
// `thread`, `device` and friends would otherwise clobber identifiers in the headers.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

// ---------------------------------------------------------------------------------------
// Grid runner used by the generated extern "C" wrappers (one per kernel).
// order: 0 = 0..n-1, 1 = n-1..0, 2 = a seeded random permutation. nthreads > 1 runs the
// grid positions on that many std::threads at once (each takes the next position), so a
// kernel whose threads interact only through atomics is exercised with real concurrency.
namespace biometal_harness {

template <class Body>
int run_grid(std::uint64_t n, int order, int nthreads, std::uint64_t seed, Body&& body) {
    std::vector<std::uint64_t> perm;
    if (order == 2) {
        perm.resize(n);
        std::iota(perm.begin(), perm.end(), std::uint64_t{0});
        std::mt19937_64 rng(seed);
        std::shuffle(perm.begin(), perm.end(), rng);
    } else if (order != 0 && order != 1) {
        return 2;
    }
    auto position = [&](std::uint64_t i) -> std::uint64_t {
        if (order == 0) return i;
        if (order == 1) return n - 1 - i;
        return perm[i];
    };
    if (nthreads <= 1 || n < 2) {
        for (std::uint64_t i = 0; i < n; ++i) body(position(i));
        return 0;
    }
    std::atomic<std::uint64_t> next{0};
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(nthreads));
    for (int t = 0; t < nthreads; ++t) {
        pool.emplace_back([&]() {
            for (;;) {
                const std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
                if (i >= n) break;
                body(position(i));
            }
        });
    }
    for (auto& worker : pool) worker.join();
    return 0;
}

}  // namespace biometal_harness

// ---------------------------------------------------------------------------------------
// Scalar types. glibc's <sys/types.h> already typedefs uint/ushort/ulong to exactly these
// types; repeating an identical typedef is allowed.
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
static_assert(sizeof(uchar) == 1 && sizeof(ushort) == 2 && sizeof(uint) == 4, "Metal sizes");
static_assert(sizeof(ulong) == 8 && sizeof(long) == 8, "Metal long/ulong are 64-bit");
static_assert(sizeof(float) == 4, "Metal float is 32-bit");

// ---------------------------------------------------------------------------------------
// Vector types (component-wise arithmetic; no swizzles beyond .x .y .z .w).
template <class T>
struct metal_vec2 {
    T x, y;
    metal_vec2() : x(), y() {}
    explicit metal_vec2(T s) : x(s), y(s) {}
    metal_vec2(T x_, T y_) : x(x_), y(y_) {}
    T& operator[](int i) { return i == 0 ? x : y; }
    const T& operator[](int i) const { return i == 0 ? x : y; }
};
template <class T>
struct metal_vec3 {
    T x, y, z;
    metal_vec3() : x(), y(), z() {}
    explicit metal_vec3(T s) : x(s), y(s), z(s) {}
    metal_vec3(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
    T& operator[](int i) { return i == 0 ? x : (i == 1 ? y : z); }
    const T& operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
};
template <class T>
struct metal_vec4 {
    T x, y, z, w;
    metal_vec4() : x(), y(), z(), w() {}
    explicit metal_vec4(T s) : x(s), y(s), z(s), w(s) {}
    metal_vec4(T x_, T y_, T z_, T w_) : x(x_), y(y_), z(z_), w(w_) {}
    T& operator[](int i) { return i == 0 ? x : (i == 1 ? y : (i == 2 ? z : w)); }
    const T& operator[](int i) const { return i == 0 ? x : (i == 1 ? y : (i == 2 ? z : w)); }
};

#define BIOMETAL_VEC_OPS(V, OP)                                                        \
    template <class T>                                                                 \
    V<T> operator OP(const V<T>& a, const V<T>& b) {                                   \
        V<T> r;                                                                        \
        for (int i = 0; i < int(sizeof(V<T>) / sizeof(T)); ++i) r[i] = a[i] OP b[i];   \
        return r;                                                                      \
    }                                                                                  \
    template <class T>                                                                 \
    V<T> operator OP(const V<T>& a, T s) {                                             \
        V<T> r;                                                                        \
        for (int i = 0; i < int(sizeof(V<T>) / sizeof(T)); ++i) r[i] = a[i] OP s;      \
        return r;                                                                      \
    }                                                                                  \
    template <class T>                                                                 \
    V<T> operator OP(T s, const V<T>& a) {                                             \
        V<T> r;                                                                        \
        for (int i = 0; i < int(sizeof(V<T>) / sizeof(T)); ++i) r[i] = s OP a[i];      \
        return r;                                                                      \
    }
#define BIOMETAL_VEC_ALL_OPS(V) \
    BIOMETAL_VEC_OPS(V, +) BIOMETAL_VEC_OPS(V, -) BIOMETAL_VEC_OPS(V, *) BIOMETAL_VEC_OPS(V, /)
BIOMETAL_VEC_ALL_OPS(metal_vec2)
BIOMETAL_VEC_ALL_OPS(metal_vec3)
BIOMETAL_VEC_ALL_OPS(metal_vec4)
#undef BIOMETAL_VEC_ALL_OPS
#undef BIOMETAL_VEC_OPS

typedef metal_vec2<float> float2;
typedef metal_vec3<float> float3;
typedef metal_vec4<float> float4;
typedef metal_vec2<int> int2;
typedef metal_vec3<int> int3;
typedef metal_vec4<int> int4;
typedef metal_vec2<uint> uint2;
typedef metal_vec3<uint> uint3;
typedef metal_vec4<uint> uint4;

// ---------------------------------------------------------------------------------------
// namespace metal: what a kernel reaches after `using namespace metal;`.
namespace metal {

// Math.
using std::ceil;
using std::cos;
using std::exp;
using std::exp2;
using std::fabs;
using std::floor;
using std::fma;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::log;
using std::log10;
using std::log2;
using std::pow;
using std::round;
using std::sin;
using std::sqrt;
using std::trunc;

template <class T>
inline T min(T a, T b) { return b < a ? b : a; }
template <class T>
inline T max(T a, T b) { return a < b ? b : a; }
template <class T>
inline T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }
template <class T>
inline T abs(T x) { return x < T(0) ? T(-x) : x; }
template <class T>
inline T select(T a, T b, bool c) { return c ? b : a; }
template <class T>
inline T mix(T x, T y, T a) { return x + (y - x) * a; }

inline uint popcount(uint x) { return uint(__builtin_popcount(x)); }
inline ulong popcount(ulong x) { return ulong(__builtin_popcountl(x)); }
inline uint clz(uint x) { return x == 0 ? 32u : uint(__builtin_clz(x)); }
inline ulong clz(ulong x) { return x == 0 ? 64ul : ulong(__builtin_clzl(x)); }
inline uint ctz(uint x) { return x == 0 ? 32u : uint(__builtin_ctz(x)); }
inline ulong ctz(ulong x) { return x == 0 ? 64ul : ulong(__builtin_ctzl(x)); }

template <class To, class From>
inline To as_type(From v) {
    static_assert(sizeof(To) == sizeof(From), "as_type needs equal sizes");
    To out;
    std::memcpy(&out, &v, sizeof(To));
    return out;
}

namespace precise {
inline float divide(float x, float y) { return x / y; }
}  // namespace precise
namespace fast {
inline float divide(float x, float y) { return x / y; }
}  // namespace fast

// Atomics. Metal's atomic_* functions take `volatile device atomic_T*`; the std:: free
// functions of the same names accept exactly that, so they are re-exported (a
// using-declaration also keeps argument-dependent lookup from seeing two candidates).
typedef std::atomic<uint> atomic_uint;
typedef std::atomic<int> atomic_int;
typedef std::atomic<float> atomic_float;
template <class T>
using atomic = std::atomic<T>;
static_assert(sizeof(atomic_uint) == sizeof(uint) && sizeof(atomic_int) == sizeof(int),
              "atomics must have the layout of their value type (they alias numpy arrays)");
static_assert(std::atomic<uint>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "lock-free atomics required");

using std::memory_order;
using std::memory_order_relaxed;

using std::atomic_compare_exchange_weak_explicit;
using std::atomic_exchange_explicit;
using std::atomic_fetch_add_explicit;
using std::atomic_fetch_and_explicit;
using std::atomic_fetch_or_explicit;
using std::atomic_fetch_sub_explicit;
using std::atomic_fetch_xor_explicit;
using std::atomic_load_explicit;
using std::atomic_store_explicit;

// fetch_min / fetch_max (no std:: equivalent before C++26): compare-exchange loops.
template <class T>
inline T atomic_fetch_min_explicit(volatile std::atomic<T>* obj, T arg, memory_order order) {
    T old = obj->load(order);
    while (arg < old && !obj->compare_exchange_weak(old, arg, order, order)) {
    }
    return old;
}
template <class T>
inline T atomic_fetch_max_explicit(volatile std::atomic<T>* obj, T arg, memory_order order) {
    T old = obj->load(order);
    while (old < arg && !obj->compare_exchange_weak(old, arg, order, order)) {
    }
    return old;
}
// atomic_float fetch_add / fetch_sub (std::atomic<float>::fetch_add is C++20).
inline float atomic_fetch_add_explicit(volatile std::atomic<float>* obj, float arg,
                                       memory_order order) {
    float old = obj->load(order);
    while (!obj->compare_exchange_weak(old, old + arg, order, order)) {
    }
    return old;
}
inline float atomic_fetch_sub_explicit(volatile std::atomic<float>* obj, float arg,
                                       memory_order order) {
    float old = obj->load(order);
    while (!obj->compare_exchange_weak(old, old - arg, order, order)) {
    }
    return old;
}

}  // namespace metal

// ---------------------------------------------------------------------------------------
// Metal keywords. Defined last, after every standard header above.
#define kernel
#define device
#define constant
#define thread
#define threadgroup

#endif  // BIOMETAL_METAL_SHIM_H
