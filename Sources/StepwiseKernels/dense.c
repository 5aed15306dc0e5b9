// Epilogues of dense layers: the elementwise work around a matrix product, in one pass
// over its output (see StepwiseKernels.h). Each public function dispatches once on its
// flags to an always-inlined body called with constants, so every combination compiles to
// its own branch-free, vectorized loop (the GAN's hidden layers run at ~0.1 ns/element).
#include "StepwiseKernels.h"
#include "vector.h"
#include <stdbool.h>
#include <string.h>

// Round-to-nearest-even to bfloat16's 8-bit mantissa, kept as float32; NaN stays a quiet
// NaN. Bit for bit what StepwiseModels' LowPrecision.round does.
static inline float sk_round_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    uint32_t rounded = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
    uint32_t quiet = (b | 0x00400000u) & 0xFFFF0000u;
    b = (b & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
    memcpy(&x, &b, sizeof x);
    return x;
}

// One row of an epilogue. K is 0 (the row's values come from `src`) or the inner
// dimension of a thin product a[., K] * bt[K, cols]. Every pointer is
// restrict: an in-place caller passes the same row as `src` and `dst` through the
// `inplace` variant, which reads and writes `dst` only, so the loop vectorizes without a
// runtime overlap check (exact aliasing would fail one and run scalar).
__attribute__((always_inline)) static inline void
epilogue_row(float *restrict dst, const float *restrict src, const float *restrict ar, const float *restrict bt,
             const int K, const int64_t cols, const float *restrict bias, const float *restrict yr, const int act,
             const float slope, float *restrict db, float *restrict rr, const bool inplace, const bool backward) {
    for (int64_t j = 0; j < cols; j++) {
        float v;
        if (K == 0) v = inplace ? dst[j] : src[j];
        else if (K == 1) v = ar[0] * bt[j];
        // Fused, as OpenBLAS's kernels accumulate: the result is bit for bit what sgemm gives
        // (an FMA instruction in the AVX-512 clone; a libm call in the others).
        else v = __builtin_fmaf(ar[1], bt[cols + j], ar[0] * bt[j]);
        if (!backward) {
            if (bias) v = v + bias[j];
            // As the activation layers write them: NaN passes through both.
            if (act == SK_ACT_RELU) v = v < 0.0f ? 0.0f : v;
            else if (act == SK_ACT_LEAKY_RELU) v = v > 0.0f ? v : v * slope;
        } else {
            // From the activation's output sign, as the activation layers' backward does.
            if (act == SK_ACT_RELU) v = yr[j] > 0.0f ? v : 0.0f;
            else if (act == SK_ACT_LEAKY_RELU) v = yr[j] > 0.0f ? v : v * slope;
            // Rows outer: each bias gradient sums its column in row order, as Dense does.
            if (db) db[j] += v;
        }
        dst[j] = v;
        if (rr) rr[j] = sk_round_bf16(v);
    }
}

// All rows, with every flag a constant once inlined into the dispatch below.
__attribute__((always_inline)) static inline void
epilogue(float *dst, const float *src, const float *a, const float *bt, const int K, int64_t rows, int64_t cols,
         const float *bias, const float *y, const int act, float slope, float *db, float *rounded,
         const bool backward, const bool has_extra, const bool round) {
    // A thin product (K > 0) has no source rows: src may be NULL, so no offset is taken.
    const bool inplace = K == 0 && src == dst;
    for (int64_t r = 0; r < rows; r++) {
        epilogue_row(dst + r * cols, inplace || K ? 0 : src + r * cols, K ? a + r * K : 0, bt, K, cols,
                     !backward && has_extra ? bias : 0, act != SK_ACT_IDENTITY && backward ? y + r * cols : 0,
                     act, slope, backward && has_extra ? db : 0, round ? rounded + r * cols : 0, inplace, backward);
    }
}

#define SK_EPILOGUE(K_, act_, extra_, round_) \
    epilogue(dst, src, a, bt, K_, rows, cols, bias, y, act_, slope, db, rounded, backward, extra_, round_)
#define SK_EPILOGUE_ACT(K_, extra_, round_)                                                 \
    do {                                                                                    \
        if (act == SK_ACT_RELU) SK_EPILOGUE(K_, SK_ACT_RELU, extra_, round_);               \
        else if (act == SK_ACT_LEAKY_RELU) SK_EPILOGUE(K_, SK_ACT_LEAKY_RELU, extra_, round_); \
        else SK_EPILOGUE(K_, SK_ACT_IDENTITY, extra_, round_);                              \
    } while (0)
#define SK_EPILOGUE_K(extra_, round_)                                    \
    do {                                                                 \
        if (K == 1) SK_EPILOGUE_ACT(1, extra_, round_);                  \
        else if (K == 2) SK_EPILOGUE_ACT(2, extra_, round_);             \
        else if (src == dst) SK_EPILOGUE_ACT(0, extra_, round_);         \
        else SK_EPILOGUE_ACT(0, extra_, round_);                         \
    } while (0)
#define SK_EPILOGUE_ALL(backward_)                                                      \
    do {                                                                                \
        const bool backward = backward_;                                                \
        if (extra) { if (rounded) SK_EPILOGUE_K(true, true); else SK_EPILOGUE_K(true, false); } \
        else { if (rounded) SK_EPILOGUE_K(false, true); else SK_EPILOGUE_K(false, false); }      \
    } while (0)

SK_MULTIVERSION
void sk_dense_forward_epilogue(float *y_, const float *a, const float *bt, int64_t k, const float *bias,
                               int64_t rows, int64_t cols, int act, float slope, float *rounded) {
    float *dst = y_, *db = 0;
    const float *src = y_, *y = 0;
    const int K = a && bt && k > 0 ? (int)k : 0;
    const bool extra = bias != 0;
    if (K > 2) return;  // thin products only; the header says so
    SK_EPILOGUE_ALL(false);
}

SK_MULTIVERSION
void sk_dense_backward_epilogue(const float *g, const float *a, const float *bt, int64_t k, const float *y,
                                int act, float slope, float *dpre, float *db, float *rounded,
                                int64_t rows, int64_t cols) {
    float *dst = dpre;
    const float *src = g, *bias = 0;
    const int K = a && bt && k > 0 ? (int)k : 0;
    const bool extra = db != 0;
    if (y == 0) act = SK_ACT_IDENTITY;
    if (K > 2) return;
    SK_EPILOGUE_ALL(true);
}

SK_MULTIVERSION
void sk_round_bfloat16(const float *source, float *destination, int64_t n) {
    for (int64_t i = 0; i < n; i++) destination[i] = sk_round_bf16(source[i]);
}
