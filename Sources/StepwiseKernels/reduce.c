#include "StepwiseKernels.h"
#include "vector.h"

SK_MULTIVERSION
double sk_sumsq(const float *restrict x, int64_t n) {
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++) acc[0] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

SK_MULTIVERSION
void sk_triad(float *restrict a, const float *restrict b, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = a[i] + s * b[i];
}
