#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

void sk_lamb_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                     bool bias_correction, bool grad_averaging, bool decoupled, double wd_scale,
                     double step, float clip, sk_lamb_args *out) {
    double bc1 = bias_correction ? sk_bias_correction(beta1, step) : 1.0;
    double bc2 = bias_correction ? sk_bias_correction(beta2, step) : 1.0;
    double beta3 = grad_averaging ? 1.0 - beta1 : 1.0;
    *out = (sk_lamb_args){
        .clip = clip, .w1 = (float)beta3, .beta1 = (float)beta1, .beta3 = (float)beta3,
        .beta2 = (float)beta2, .c2 = (float)(1.0 - beta2), .bc1 = (float)bc1,
        .bc2_sqrt = (float)pow(bc2, 0.5), .eps = (float)eps,
        .weight_decay = weight_decay != 0.0 && !decoupled ? (float)weight_decay : 0.0f,
        .wd_neg = weight_decay != 0.0 && decoupled ? (float)(-wd_scale * weight_decay) : 0.0f,
        .neg_lr = (float)(-lr), .trust = 1.0f,
        // timm lerps exactly when beta3 == 1 - beta1, i.e. with grad averaging.
        .averaging = grad_averaging, .decoupled = decoupled && weight_decay != 0.0, .apply = false,
    };
}

float sk_lamb_trust_ratio(float weight_norm, float update_norm, bool trust_clip) {
    float ratio = weight_norm > 0.0f ? (update_norm > 0.0f ? weight_norm / update_norm : 1.0f) : 1.0f;
    return trust_clip && ratio > 1.0f ? 1.0f : ratio;
}

// The update direction u and the decayed parameter p' for element i; shared by both passes
// so they compute bit-identical values.
static inline float lamb_update(float pi, float mi, float vi, const sk_lamb_args *a, float *q) {
    float u = (mi / a->bc1) / (sk_sqrtf(vi) / a->bc2_sqrt + a->eps);
    *q = a->decoupled ? pi + a->wd_neg * pi : pi;
    return a->weight_decay != 0.0f ? u + a->weight_decay * pi : u;
}

SK_MULTIVERSION
void sk_lamb_moments(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, int64_t n, const sk_lamb_args *a, double norms[2]) {
    const sk_lamb_args args = *a;
    const float clip = args.clip, w1 = args.w1, b1 = args.beta1, b3 = args.beta3;
    const float b2 = args.beta2, c2 = args.c2, nl = args.neg_lr;
    double wsum[8] = {0}, usum[8] = {0};
    int64_t i = 0;
    for (; i < n; i++) {
        float gc = clip != 1.0f ? g[i] / clip : g[i];
        float mi = args.averaging ? sk_lerp(m[i], gc, w1) : m[i] * b1 + b3 * gc;
        float vi = v[i] * b2 + (c2 * gc) * gc;
        m[i] = mi; v[i] = vi;
        float q, u = lamb_update(p[i], mi, vi, &args, &q);
        if (args.apply) {
            p[i] = q + nl * u;
        } else {
            wsum[i & 7] += (double)q * q;
            usum[i & 7] += (double)u * u;
        }
    }
    if (!args.apply) {
        double w = 0, s = 0;
        for (int k = 0; k < 8; k++) { w += wsum[k]; s += usum[k]; }
        norms[0] += w;
        norms[1] += s;
    }
}

SK_MULTIVERSION
void sk_lamb_apply(float *restrict p, const float *restrict m, const float *restrict v, int64_t n,
                   const sk_lamb_args *a) {
    const sk_lamb_args args = *a;
    const float trust = args.trust, nl = args.neg_lr;
    for (int64_t i = 0; i < n; i++) {
        float q, u = lamb_update(p[i], m[i], v[i], &args, &q);
        p[i] = q + nl * (u * trust);
    }
}
