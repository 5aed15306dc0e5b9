#include "StepwiseKernels.h"
#include <math.h>

double sk_bias_correction(double beta, double step) { return 1.0 - pow(beta, step); }

float sk_decay_factor(double lr, double weight_decay) { return (float)(1.0 - lr * weight_decay); }

void sk_prefetch(const void *p, int64_t bytes) {
    // Prefetches never fault, so NULL and buffers shorter than `bytes` are fine.
    const char *c = p;
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 1, 3);
}
