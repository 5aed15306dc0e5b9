#include "StepwiseKernels.h"
#include "vector.h"

SK_MULTIVERSION
double sk_sumsq(const float *restrict x, int64_t n) {
    sk_d8 a = 0, b = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
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
void sk_triad(float *restrict a, const float *restrict b, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = a[i] + s * b[i];
}
