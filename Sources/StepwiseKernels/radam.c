#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

void sk_radam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                      bool decoupled, bool maximize, double step, sk_radam_args *out) {
    double bc1 = sk_bias_correction(beta1, step), bc2 = sk_bias_correction(beta2, step);
    double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    double rho_t = rho_inf - 2.0 * step * pow(beta2, step) / bc2;
    bool rectified = rho_t > 5.0;
    double rect = rectified ? pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                  / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.5) : 0.0;
    bool wd = weight_decay != 0.0;
    *out = (sk_radam_args){
        .sign = maximize ? -1.0f : 1.0f,
        .weight_decay = wd && !decoupled ? (float)weight_decay : 0.0f,
        .decay = wd && decoupled ? sk_decay_factor(lr, weight_decay) : 1.0f,
        .w1 = (float)(1.0 - beta1), .beta2 = (float)beta2, .c2 = (float)(1.0 - beta2),
        .bc1 = (float)bc1, .lr = (float)lr, .eps = (float)eps, .bc2_sqrt = (float)pow(bc2, 0.5),
        .rect = (float)rect, .rectified = rectified,
    };
}

SK_MULTIVERSION
void sk_radam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
              int64_t n, const sk_radam_args *a) {
    const float sign = a->sign, wd = a->weight_decay, decay = a->decay, w1 = a->w1;
    const float b2 = a->beta2, c2 = a->c2, bc1 = a->bc1, lr = a->lr, eps = a->eps;
    const float bc2s = a->bc2_sqrt, rect = a->rect;
    const bool rectified = a->rectified;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float q = decay != 1.0f ? p[i] * decay : p[i];
        float mi = sk_lerp(m[i], d, w1);
        float vi = v[i] * b2 + (c2 * d) * d;
        m[i] = mi; v[i] = vi;
        float t = (mi / bc1) * lr;
        if (rectified) {
            // `bc2_sqrt / tensor` is reciprocal() * scalar in torch: two roundings.
            float adaptive = (1.0f / (sk_sqrtf(vi) + eps)) * bc2s;
            t = (t * adaptive) * rect;
        }
        p[i] = q - t;
    }
}
