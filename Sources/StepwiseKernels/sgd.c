#include "StepwiseKernels.h"
#include "vector.h"

SK_MULTIVERSION
void sk_sgd(float *restrict p, const float *restrict g, float *restrict buf, int64_t n,
            const sk_sgd_args *a) {
    const float lr = a->lr, mom = a->momentum, damp = 1.0f - a->dampening, wd = a->weight_decay;
    const float sign = a->maximize ? -1.0f : 1.0f;
    if (mom == 0.0f) {
        for (int64_t i = 0; i < n; i++) {
            float d = sign * g[i];
            if (wd != 0.0f) d = d + wd * p[i];
            p[i] = p[i] + (-lr) * d;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float d = sign * g[i];
        if (wd != 0.0f) d = d + wd * p[i];
        float b = a->first_step ? d : buf[i] * mom + damp * d;
        buf[i] = b;
        float u = a->nesterov ? d + mom * b : b;
        p[i] = p[i] + (-lr) * u;
    }
}
