#include "StepwiseKernels.h"
#include "vector.h"

void sk_sgd_prepare(double lr, double momentum, double dampening, double weight_decay,
                    bool nesterov, bool maximize, sk_sgd_args *out) {
    *out = (sk_sgd_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .momentum = (float)momentum, .keep = (float)(1.0 - dampening), .neg_lr = (float)(-lr),
        .nesterov = nesterov, .first_step = false,
    };
}

SK_MULTIVERSION
void sk_sgd(float *restrict p, const float *restrict g, float *restrict buf, int64_t n,
            const sk_sgd_args *a) {
    const float sign = a->sign, wd = a->weight_decay, mom = a->momentum, keep = a->keep;
    const float neg_lr = a->neg_lr;
    if (mom == 0.0f || buf == 0) {
        for (int64_t i = 0; i < n; i++) p[i] = p[i] + neg_lr * sk_grad(g[i], p[i], sign, wd);
        return;
    }
    const bool first = a->first_step, nesterov = a->nesterov;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float b = first ? d : buf[i] * mom + keep * d;
        buf[i] = b;
        float u = nesterov ? d + mom * b : b;
        p[i] = p[i] + neg_lr * u;
    }
}
