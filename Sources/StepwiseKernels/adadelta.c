#include "StepwiseKernels.h"
#include "vector.h"

void sk_adadelta_prepare(double lr, double rho, double eps, double weight_decay, bool maximize,
                         sk_adadelta_args *out) {
    *out = (sk_adadelta_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .rho = (float)rho, .c = (float)(1.0 - rho), .eps = (float)eps, .neg_lr = (float)(-lr),
    };
}

SK_MULTIVERSION
void sk_adadelta(float *restrict p, const float *restrict g, float *restrict v, float *restrict u,
                 int64_t n, const sk_adadelta_args *a) {
    const float sign = a->sign, wd = a->weight_decay, rho = a->rho, c = a->c, eps = a->eps;
    const float nl = a->neg_lr;
    for (int64_t i = 0; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float vi = v[i] * rho + (c * d) * d;
        float x = (sk_sqrtf(u[i] + eps) / sk_sqrtf(vi + eps)) * d;
        v[i] = vi;
        u[i] = u[i] * rho + (c * x) * x;
        p[i] = p[i] + nl * x;
    }
}
