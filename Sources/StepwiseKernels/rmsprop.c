#include "StepwiseKernels.h"
#include "vector.h"

void sk_rmsprop_prepare(double lr, double alpha, double eps, double weight_decay, double momentum,
                        bool centered, bool maximize, sk_rmsprop_args *out) {
    *out = (sk_rmsprop_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .alpha = (float)alpha, .c = (float)(1.0 - alpha), .eps = (float)eps,
        .momentum = (float)momentum, .neg_lr = (float)(-lr),
        .centered = centered, .use_momentum = momentum > 0.0,
    };
}

SK_MULTIVERSION
void sk_rmsprop(float *restrict p, const float *restrict g, float *restrict v,
                float *restrict grad_avg, float *restrict buf, int64_t n, const sk_rmsprop_args *a) {
    const float sign = a->sign, wd = a->weight_decay, alpha = a->alpha, c = a->c, eps = a->eps;
    const float mom = a->momentum, nl = a->neg_lr;
    const bool centered = a->centered && grad_avg, use_mom = a->use_momentum && buf;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float vi = v[i] * alpha + (c * d) * d;
        v[i] = vi;
        float avg;
        if (centered) {
            float ga = sk_lerp(grad_avg[i], d, c);
            grad_avg[i] = ga;
            avg = sk_sqrtf(vi - ga * ga) + eps;
        } else {
            avg = sk_sqrtf(vi) + eps;
        }
        if (use_mom) {
            float b = buf[i] * mom + d / avg;
            buf[i] = b;
            p[i] = p[i] + nl * b;
        } else {
            p[i] = p[i] + (nl * d) / avg;
        }
    }
}
