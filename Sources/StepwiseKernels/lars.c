#include "StepwiseKernels.h"
#include "vector.h"

void sk_lars_prepare(double lr, double momentum, double dampening, double weight_decay, double eta,
                     double eps, bool nesterov, bool exclude, double weight_norm, double grad_norm,
                     sk_lars_args *out) {
    double local_lr = 1.0;
    if (!exclude && weight_norm != 0.0 && grad_norm != 0.0)
        local_lr = eta * weight_norm / (grad_norm + weight_decay * weight_norm + eps);
    *out = (sk_lars_args){
        .weight_decay = (float)weight_decay, .actual_lr = (float)(local_lr * lr),
        .momentum = (float)momentum, .keep = (float)(1.0 - dampening),
        .use_momentum = momentum != 0.0, .nesterov = nesterov, .first_step = false,
    };
}

SK_MULTIVERSION
void sk_lars(float *restrict p, const float *restrict g, float *restrict buf, int64_t n,
             const sk_lars_args *a) {
    const float wd = a->weight_decay, alr = a->actual_lr, mom = a->momentum, keep = a->keep;
    if (!a->use_momentum || !buf) {
        for (int64_t i = 0; i < n; i++) p[i] = p[i] - (g[i] + wd * p[i]) * alr;
        return;
    }
    const bool first = a->first_step, nesterov = a->nesterov;
    for (int64_t i = 0; i < n; i++) {
        // MMSelfSup adds the L2 term even when weight_decay is 0.
        float d = (g[i] + wd * p[i]) * alr;
        float b = first ? d : buf[i] * mom + keep * d;
        buf[i] = b;
        float u = nesterov ? d + mom * b : b;
        p[i] = p[i] - u;
    }
}
