#include "StepwiseKernels.h"
#include "vector.h"

void sk_adamax_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                       bool maximize, double step, sk_adamax_args *out) {
    double clr = lr / sk_bias_correction(beta1, step);
    *out = (sk_adamax_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .w1 = (float)(1.0 - beta1), .beta2 = (float)beta2, .eps = (float)eps, .neg_clr = (float)(-clr),
    };
}

SK_MULTIVERSION
void sk_adamax(float *restrict p, const float *restrict g, float *restrict m, float *restrict u,
               int64_t n, const sk_adamax_args *a) {
    const float sign = a->sign, wd = a->weight_decay, w1 = a->w1, b2 = a->beta2, eps = a->eps;
    const float nc = a->neg_clr;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float mi = sk_lerp(m[i], d, w1);
        float ui = sk_maximum(u[i] * b2, __builtin_fabsf(d) + eps);
        m[i] = mi; u[i] = ui;
        p[i] = p[i] + (nc * mi) / ui;
    }
}
