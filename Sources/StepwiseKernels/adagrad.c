#include "StepwiseKernels.h"
#include "vector.h"

void sk_adagrad_prepare(double lr, double lr_decay, double weight_decay, double eps,
                        double initial_accumulator_value, bool maximize, double step,
                        sk_adagrad_args *out) {
    double clr = lr / (1.0 + (step - 1.0) * lr_decay);
    *out = (sk_adagrad_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .init = (float)initial_accumulator_value, .eps = (float)eps, .neg_clr = (float)(-clr),
        .first_step = false,
    };
}

SK_MULTIVERSION
void sk_adagrad(float *restrict p, const float *restrict g, float *restrict sum, int64_t n,
                const sk_adagrad_args *a) {
    const float sign = a->sign, wd = a->weight_decay, init = a->init, eps = a->eps;
    const float nc = a->neg_clr;
    const bool first = a->first_step;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float s = (first ? init : sum[i]) + d * d;
        sum[i] = s;
        p[i] = p[i] + (nc * d) / (sk_sqrtf(s) + eps);
    }
}
