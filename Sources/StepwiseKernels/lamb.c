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

// One element of the moments pass: updates m and v, returns the update u and writes the
// decayed parameter to *q.
static inline float lamb_element(float pi, float gi, float *m, float *v, const sk_lamb_args *a, float *q) {
    float gc = a->clip != 1.0f ? gi / a->clip : gi;
    float mi = a->averaging ? sk_lerp(*m, gc, a->w1) : *m * a->beta1 + a->beta3 * gc;
    float vi = *v * a->beta2 + (a->c2 * gc) * gc;
    *m = mi;
    *v = vi;
    return lamb_update(pi, mi, vi, a, q);
}

SK_MULTIVERSION
void sk_lamb_moments(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, int64_t n, const sk_lamb_args *a, double norms[2]) {
    const sk_lamb_args args = *a;
    const float nl = args.neg_lr;
    int64_t i = 0;
    if (args.apply) {
        for (; i < n; i++) {
            float q, u = lamb_element(p[i], g[i], m + i, v + i, &args, &q);
            p[i] = q + nl * u;
        }
        return;
    }
    // Blocks of 16 so the squares of p' and u accumulate in double vectors.
    sk_d8 w0 = 0, w1 = 0, u0 = 0, u1 = 0;
    for (; i + 16 <= n; i += 16) {
        // p is only read in this pass: prefetch it ahead (read-only streams get little
        // help from the hardware prefetcher).
        __builtin_prefetch(p + i + 128, 0, 3);
        float qb[16], ub[16];
        for (int k = 0; k < 16; k++) ub[k] = lamb_element(p[i + k], g[i + k], m + i + k, v + i + k, &args, qb + k);
        sk_d8 a0, a1, b0, b1;
        SK_LOAD_D8(a0, qb);
        SK_LOAD_D8(a1, qb + 8);
        SK_LOAD_D8(b0, ub);
        SK_LOAD_D8(b1, ub + 8);
        w0 += a0 * a0; w1 += a1 * a1; u0 += b0 * b0; u1 += b1 * b1;
    }
    sk_d8 wsum = w0 + w1, usum = u0 + u1;
    double ws = SK_HSUM(wsum), us = SK_HSUM(usum);
    for (; i < n; i++) {
        float q, u = lamb_element(p[i], g[i], m + i, v + i, &args, &q);
        ws += (double)q * q;
        us += (double)u * u;
    }
    norms[0] += ws;
    norms[1] += us;
}

SK_MULTIVERSION
void sk_lamb_apply(float *restrict p, const float *restrict m, const float *restrict v, int64_t n,
                   const sk_lamb_args *a) {
    const sk_lamb_args args = *a;
    const float trust = args.trust, nl = args.neg_lr;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        // m and v are only read in this pass.
        __builtin_prefetch(m + i + 128, 0, 3);
        __builtin_prefetch(v + i + 128, 0, 3);
        for (int64_t k = i; k < i + 16; k++) {
            float q, u = lamb_update(p[k], m[k], v[k], &args, &q);
            p[k] = q + nl * (u * trust);
        }
    }
    for (; i < n; i++) {
        float q, u = lamb_update(p[i], m[i], v[i], &args, &q);
        p[i] = q + nl * (u * trust);
    }
}
