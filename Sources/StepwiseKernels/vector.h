// Internal helpers shared by the kernels.
#ifndef SK_VECTOR_H
#define SK_VECTOR_H

// Compiles a kernel for AVX-512, AVX2 and baseline x86-64 and picks one at load time
// (function multiversioning), so the same binary runs everywhere and uses the widest
// vectors the CPU has.
#if defined(__x86_64__) && defined(__clang__)
#define SK_MULTIVERSION __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define SK_MULTIVERSION
#endif

// sqrt that vectorizes (no errno path).
#define sk_sqrtf(x) __builtin_sqrtf(x)

#endif
