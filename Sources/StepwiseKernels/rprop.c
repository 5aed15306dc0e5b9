#include "StepwiseKernels.h"
#include "vector.h"

void sk_rprop_prepare(double lr, double etaminus, double etaplus, double step_min, double step_max,
                      bool maximize, sk_rprop_args *out) {
    *out = (sk_rprop_args){
        .sign = maximize ? -1.0f : 1.0f, .lr = (float)lr, .etaminus = (float)etaminus,
        .etaplus = (float)etaplus, .step_min = (float)step_min, .step_max = (float)step_max,
        .first_step = false,
    };
}

SK_MULTIVERSION
void sk_rprop(float *restrict p, const float *restrict g, float *restrict prev,
              float *restrict step_size, int64_t n, const sk_rprop_args *a) {
    const float sign = a->sign, lr = a->lr, em = a->etaminus, ep = a->etaplus;
    const float lo = a->step_min, hi = a->step_max;
    const bool first = a->first_step;
    for (int64_t i = 0; i < n; i++) {
        float d = sign * g[i];
        float s = sk_sign(d * (first ? 0.0f : prev[i]));
        float f = s > 0.0f ? ep : (s < 0.0f ? em : 1.0f);
        float st = (first ? lr : step_size[i]) * f;
        // clamp_(min, max): NaN stays NaN.
        st = st < lo ? lo : st;
        st = st > hi ? hi : st;
        step_size[i] = st;
        d = f == em ? 0.0f : d;
        prev[i] = d;
        p[i] = p[i] - sk_sign(d) * st;
    }
}
