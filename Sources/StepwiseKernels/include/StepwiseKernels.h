// Single-pass, vectorized optimizer kernels over float32 buffers. Each kernel reads and
// writes every buffer once, over [0, n) of one tensor; callers split tensors into chunks
// and run chunks in parallel. Kernels never allocate. Hyperparameters arrive already
// resolved for this step (bias corrections, effective step sizes), as float32 where the
// reference computes in float32, so each kernel is just the elementwise math.
#ifndef STEPWISE_KERNELS_H
#define STEPWISE_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// SGD with momentum, dampening, nesterov, weight decay and maximize (torch.optim.SGD):
//   g = ±grad + wd * p
//   buf = first ? g : momentum * buf + (1 - dampening) * g      (momentum != 0)
//   g = nesterov ? g + momentum * buf : buf                       (momentum != 0)
//   p = p - lr * g
typedef struct sk_sgd_args {
    float lr, momentum, dampening, weight_decay;
    bool nesterov, maximize, first_step;
} sk_sgd_args;
void sk_sgd(float *p, const float *g, float *buf, int64_t n, const sk_sgd_args *a);

#ifdef __cplusplus
}
#endif

#endif
