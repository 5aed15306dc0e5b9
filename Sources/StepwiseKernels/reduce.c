#include "StepwiseKernels.h"
#include "vector.h"

// Read-only streams get no help from the read-modify-write pattern that keeps the
// hardware prefetcher busy, so they prefetch 512 bytes ahead by hand.
#define SK_AHEAD 128

SK_MULTIVERSION
double sk_sumsq(const float *restrict x, int64_t n) {
    sk_d8 a = 0, b = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __builtin_prefetch(x + i + SK_AHEAD, 0, 3);
        sk_d8 u, w;
        SK_LOAD_D8(u, x + i);
        SK_LOAD_D8(w, x + i + 8);
        a += u * u;
        b += w * w;
    }
    sk_d8 ab = a + b;
    double s = SK_HSUM(ab);
    for (; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

SK_MULTIVERSION
void sk_sumsq2(const float *restrict x, const float *restrict y, int64_t n, double out[2]) {
    sk_d8 a = 0, b = 0, c = 0, d = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __builtin_prefetch(x + i + SK_AHEAD, 0, 3);
        __builtin_prefetch(y + i + SK_AHEAD, 0, 3);
        sk_d8 u, w, q, r;
        SK_LOAD_D8(u, x + i);
        SK_LOAD_D8(w, x + i + 8);
        SK_LOAD_D8(q, y + i);
        SK_LOAD_D8(r, y + i + 8);
        a += u * u;
        b += w * w;
        c += q * q;
        d += r * r;
    }
    sk_d8 ab = a + b, cd = c + d;
    double sx = SK_HSUM(ab), sy = SK_HSUM(cd);
    for (; i < n; i++) {
        sx += (double)x[i] * (double)x[i];
        sy += (double)y[i] * (double)y[i];
    }
    out[0] = sx;
    out[1] = sy;
}

SK_MULTIVERSION
void sk_triad(float *restrict a, const float *restrict b, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = a[i] + s * b[i];
}
