#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

void sk_nadam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                      double momentum_decay, bool decoupled, bool maximize, double step,
                      double *mu_product, sk_nadam_args *out) {
    double mu = beta1 * (1.0 - 0.5 * pow(0.96, step * momentum_decay));
    double mu_next = beta1 * (1.0 - 0.5 * pow(0.96, (step + 1.0) * momentum_decay));
    // torch keeps mu_product as a float32 tensor: `mu_product *= mu` rounds mu and the product.
    double product = (double)((float)*mu_product * (float)mu);
    *mu_product = product;
    double product_next = product * mu_next;
    bool wd = weight_decay != 0.0;
    *out = (sk_nadam_args){
        .sign = maximize ? -1.0f : 1.0f,
        .weight_decay = wd && !decoupled ? (float)weight_decay : 0.0f,
        .decay = wd && decoupled ? sk_decay_factor(lr, weight_decay) : 1.0f,
        .w1 = (float)(1.0 - beta1), .beta2 = (float)beta2, .c2 = (float)(1.0 - beta2),
        .bc2 = (float)sk_bias_correction(beta2, step), .eps = (float)eps,
        .c_grad = (float)(-lr * (1.0 - mu) / (1.0 - product)),
        .c_avg = (float)((-lr * mu_next) / (1.0 - product_next)),
    };
}

SK_MULTIVERSION
void sk_nadam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
              int64_t n, const sk_nadam_args *a) {
    const float sign = a->sign, wd = a->weight_decay, decay = a->decay, w1 = a->w1;
    const float b2 = a->beta2, c2 = a->c2, bc2 = a->bc2, eps = a->eps;
    const float cg = a->c_grad, cm = a->c_avg;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float q = decay != 1.0f ? p[i] * decay : p[i];
        float mi = sk_lerp(m[i], d, w1);
        float vi = v[i] * b2 + (c2 * d) * d;
        float den = sk_sqrtf(vi / bc2) + eps;
        m[i] = mi; v[i] = vi;
        q = q + (cg * d) / den;
        p[i] = q + (cm * mi) / den;
    }
}
