#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

void sk_asgd_prepare(double lr, double lambd, double alpha, double t0, double weight_decay,
                     bool maximize, double step, double *eta, double *mu, sk_asgd_args *out) {
    double eta_value = *eta;
    *out = (sk_asgd_args){
        .sign = maximize ? -1.0f : 1.0f, .weight_decay = (float)weight_decay,
        .decay = (float)(1.0 - lambd * eta_value), .neg_eta = (float)(-eta_value), .mu = (float)*mu,
    };
    // torch stores both as float32 tensors.
    *eta = (double)(float)(lr / pow(1.0 + lambd * lr * step, alpha));
    *mu = (double)(float)(1.0 / fmax(1.0, step - t0));
}

SK_MULTIVERSION
void sk_asgd(float *restrict p, const float *restrict g, float *restrict ax, int64_t n,
             const sk_asgd_args *a) {
    const float sign = a->sign, wd = a->weight_decay, decay = a->decay, ne = a->neg_eta, mu = a->mu;
    if (mu != 1.0f) {
        for (int64_t i = 0; i < n; i++) {
            float d = sk_grad(g[i], p[i], sign, wd);
            float q = p[i] * decay + ne * d;
            p[i] = q;
            ax[i] = ax[i] + (q - ax[i]) * mu;
        }
        return;
    }
    // Before averaging starts `ax` only receives a copy of p. The hardware prefetcher
    // follows read streams, not write-only ones, so the lines of `ax` are requested ahead
    // by hand (one prefetch per 64-byte line, 1 KiB ahead).
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __builtin_prefetch(ax + i + 256, 1, 3);
        for (int64_t k = i; k < i + 16; k++) {
            float d = sk_grad(g[k], p[k], sign, wd);
            float q = p[k] * decay + ne * d;
            p[k] = q;
            ax[k] = q;
        }
    }
    for (; i < n; i++) {
        float d = sk_grad(g[i], p[i], sign, wd);
        float q = p[i] * decay + ne * d;
        p[i] = q;
        ax[i] = q;
    }
}
