// Internal helpers shared by the kernels: the elementwise pieces torch evaluates the same
// way in every optimizer, written once.
#ifndef SK_VECTOR_H
#define SK_VECTOR_H

#include <stdbool.h>
#include <stdint.h>

// Compiles a kernel for AVX-512, AVX2 and baseline x86-64 and picks one at load time
// (function multiversioning), so the same binary runs everywhere and uses the widest
// vectors the CPU has. Clones are chosen by CPU *features*: "arch=" clones test the exact
// CPU model, so a Cascade Lake or Ice Lake would fall back to the baseline build.
#if defined(__x86_64__) && defined(__clang__)
#define SK_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SK_MULTIVERSION
#endif

// sqrt that vectorizes (the package compiles kernels with -fno-math-errno).
#define sk_sqrtf(x) __builtin_sqrtf(x)

// The gradient as torch's single-tensor paths see it: negated for `maximize`, plus the L2
// term `grad.add(param, alpha=weight_decay)` (wd == 0 leaves it untouched, as torch skips
// the op). `sign` is exactly +1 or -1, so sign * g is exact.
static inline float sk_grad(float g, float p, float sign, float wd) {
    float d = sign * g;
    return wd != 0.0f ? d + wd * p : d;
}

// torch.lerp(self, end, w) for float: the formula flips for |w| >= 0.5 to stay accurate
// near w = 1 (ATen/native/Lerp.h).
static inline float sk_lerp(float self, float end, float w) {
    float diff = end - self;
    return __builtin_fabsf(w) < 0.5f ? self + w * diff : end - diff * (1.0f - w);
}

// torch.maximum: NaN in either operand propagates.
static inline float sk_maximum(float a, float b) {
    return a != a ? a : (b != b ? b : (a > b ? a : b));
}

// torch.sign for float: 1, -1 or 0 (0 for NaN, as (0 < x) - (x < 0) gives).
static inline float sk_sign(float x) {
    return (float)(0.0f < x) - (float)(x < 0.0f);
}

// Portable vectors for reductions: clang lowers them to the widest registers of each
// clone. Sums of squares accumulate in double, 8 lanes at a time.
typedef float sk_f8 __attribute__((ext_vector_type(8)));
typedef double sk_d8 __attribute__((ext_vector_type(8)));

// Macros, not functions: a vector in a function signature would change the ABI between
// the clones.
#define SK_LOAD_D8(out, ptr)                                \
    do {                                                   \
        sk_f8 sk_load_tmp_;                                \
        __builtin_memcpy(&sk_load_tmp_, (ptr), sizeof sk_load_tmp_); \
        (out) = __builtin_convertvector(sk_load_tmp_, sk_d8); \
    } while (0)
#define SK_HSUM(a) ((((a)[0] + (a)[1]) + ((a)[2] + (a)[3])) + (((a)[4] + (a)[5]) + ((a)[6] + (a)[7])))

#endif
