#include "StepwiseKernels.h"
#include "vector.h"

void sk_lion_prepare(double lr, double beta1, double beta2, double weight_decay, bool maximize,
                     sk_lion_args *out) {
    *out = (sk_lion_args){
        .sign = maximize ? -1.0f : 1.0f, .decay = sk_decay_factor(lr, weight_decay),
        .beta1 = (float)beta1, .c1 = (float)(1.0 - beta1), .w2 = (float)(1.0 - beta2),
        .neg_lr = (float)(-lr),
    };
}

SK_MULTIVERSION
void sk_lion(float *restrict p, const float *restrict g, float *restrict m, int64_t n,
             const sk_lion_args *a) {
    const float sign = a->sign, decay = a->decay, b1 = a->beta1, c1 = a->c1, w2 = a->w2;
    const float nl = a->neg_lr;
    for (int64_t i = 0; i < n; i++) {
        float d = sign * g[i];
        float u = sk_sign(m[i] * b1 + c1 * d);
        p[i] = p[i] * decay + nl * u;
        m[i] = sk_lerp(m[i], d, w2);
    }
}
