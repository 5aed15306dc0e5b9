#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

void sk_adam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                     bool decoupled, bool amsgrad, bool maximize, double step, sk_adam_args *out) {
    double bc1 = sk_bias_correction(beta1, step), bc2 = sk_bias_correction(beta2, step);
    bool wd = weight_decay != 0.0;
    *out = (sk_adam_args){
        .sign = maximize ? -1.0f : 1.0f,
        .weight_decay = wd && !decoupled ? (float)weight_decay : 0.0f,
        .decay = wd && decoupled ? sk_decay_factor(lr, weight_decay) : 1.0f,
        .w1 = (float)(1.0 - beta1), .beta2 = (float)beta2, .c2 = (float)(1.0 - beta2),
        .bc2_sqrt = (float)pow(bc2, 0.5), .eps = (float)eps, .neg_step = (float)(-(lr / bc1)),
        .amsgrad = amsgrad,
    };
}

SK_MULTIVERSION
void sk_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
             float *restrict vmax, int64_t n, const sk_adam_args *a) {
    const float sign = a->sign, wd = a->weight_decay, decay = a->decay, w1 = a->w1;
    const float b2 = a->beta2, c2 = a->c2, bc2s = a->bc2_sqrt, eps = a->eps, ns = a->neg_step;
    if (a->amsgrad && vmax) {
        for (int64_t i = 0; i < n; i++) {
            float d = sk_grad(g[i], p[i], sign, wd);
            float q = decay != 1.0f ? p[i] * decay : p[i];
            float mi = sk_lerp(m[i], d, w1);
            float vi = v[i] * b2 + (c2 * d) * d;
            float hi = sk_maximum(vmax[i], vi);
            m[i] = mi; v[i] = vi; vmax[i] = hi;
            p[i] = q + (ns * mi) / (sk_sqrtf(hi) / bc2s + eps);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float q = decay != 1.0f ? p[i] * decay : p[i];
        float mi = sk_lerp(m[i], d, w1);
        float vi = v[i] * b2 + (c2 * d) * d;
        m[i] = mi; v[i] = vi;
        p[i] = q + (ns * mi) / (sk_sqrtf(vi) / bc2s + eps);
    }
}
