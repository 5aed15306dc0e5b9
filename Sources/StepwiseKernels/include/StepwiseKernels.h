// Single-pass, vectorized optimizer kernels over float32 buffers.
//
// Each elementwise kernel reads and writes every buffer once over [0, n) of one tensor;
// callers split tensors into pieces and run pieces in parallel. Kernels never allocate.
//
// Numerics follow torch.optim's single-tensor code paths (`_single_tensor_*`): torch
// computes per-step scalars (bias corrections, step sizes) as Python floats (double) and
// hands them to float32 tensor ops, which round them to float32 and evaluate each op with
// one float32 rounding, in the order torch writes them. So every optimizer has two parts:
//   * `sk_<name>_prepare` turns hyperparameters (double) and the step count into an
//     `sk_<name>_args` of float32 coefficients, doing in double what torch does in Python;
//   * `sk_<name>` is the elementwise float32 math, op for op as torch evaluates it.
// `step` is the parameter's step count *after* this step's increment (1 on the first step),
// as torch's float32 `state["step"]` reads back through `.item()`.
//
// Shared conventions of the args structs:
//   sign          -1 when `maximize` (the gradient is negated first), else +1
//   weight_decay  L2 coefficient added to the gradient (0 when none or decoupled)
//   decay         decoupled weight decay factor float(1 - lr * weight_decay), or 1
#ifndef STEPWISE_KERNELS_H
#define STEPWISE_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- shared scalar math (double, as Python computes it) ------------------------------

// 1 - beta**step.
double sk_bias_correction(double beta, double step);
// float(1 - lr * weight_decay), the decoupled (AdamW-style) decay factor.
float sk_decay_factor(double lr, double weight_decay);

// ---- SGD (torch.optim.SGD) -----------------------------------------------------------
//   d = sign*g + wd*p
//   buf = first ? d : buf*momentum + keep*d         (momentum != 0; keep = 1 - dampening)
//   u = nesterov ? d + momentum*buf : buf           (momentum != 0; else u = d)
//   p = p + neg_lr*u
typedef struct sk_sgd_args {
    float sign, weight_decay, momentum, keep, neg_lr;
    bool nesterov, first_step;
} sk_sgd_args;
void sk_sgd_prepare(double lr, double momentum, double dampening, double weight_decay,
                    bool nesterov, bool maximize, sk_sgd_args *out);
void sk_sgd(float *p, const float *g, float *buf, int64_t n, const sk_sgd_args *a);

// ---- Adam / AdamW (torch.optim.Adam, decoupled_weight_decay) -------------------------
//   p' = p*decay; d = sign*g + wd*p
//   m = lerp(m, d, 1-beta1); v = v*beta2 + ((1-beta2)*d)*d
//   s = amsgrad ? (vmax = max(vmax, v)) : v
//   p = p' + (neg_step*m) / (sqrt(s)/bc2_sqrt + eps)
typedef struct sk_adam_args {
    float sign, weight_decay, decay, w1, beta2, c2, bc2_sqrt, eps, neg_step;
    bool amsgrad;
} sk_adam_args;
void sk_adam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                     bool decoupled, bool amsgrad, bool maximize, double step, sk_adam_args *out);
void sk_adam(float *p, const float *g, float *m, float *v, float *vmax, int64_t n,
             const sk_adam_args *a);

// ---- Adamax (torch.optim.Adamax) -----------------------------------------------------
//   d = sign*g + wd*p; m = lerp(m, d, 1-beta1); u = max(u*beta2, |d| + eps)
//   p = p + (neg_clr*m)/u,  clr = lr / (1 - beta1**step)
typedef struct sk_adamax_args {
    float sign, weight_decay, w1, beta2, eps, neg_clr;
} sk_adamax_args;
void sk_adamax_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                       bool maximize, double step, sk_adamax_args *out);
void sk_adamax(float *p, const float *g, float *m, float *u, int64_t n, const sk_adamax_args *a);

// ---- NAdam (torch.optim.NAdam) -------------------------------------------------------
// `mu_product` is torch's float32 state, updated in place by prepare.
//   p' = p*decay; d = sign*g + wd*p
//   m = lerp(m, d, 1-beta1); v = v*beta2 + ((1-beta2)*d)*d
//   den = sqrt(v / bc2) + eps
//   p = p' + (c_grad*d)/den;  p = p + (c_avg*m)/den
typedef struct sk_nadam_args {
    float sign, weight_decay, decay, w1, beta2, c2, bc2, eps, c_grad, c_avg;
} sk_nadam_args;
void sk_nadam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                      double momentum_decay, bool decoupled, bool maximize, double step,
                      double *mu_product, sk_nadam_args *out);
void sk_nadam(float *p, const float *g, float *m, float *v, int64_t n, const sk_nadam_args *a);

// ---- RAdam (torch.optim.RAdam) -------------------------------------------------------
//   p' = p*decay; d = sign*g + wd*p
//   m = lerp(m, d, 1-beta1); v = v*beta2 + ((1-beta2)*d)*d; b = m / bc1
//   rectified (rho_t > 5): p = p' - ((b*lr) * ((1/(sqrt(v)+eps)) * bc2_sqrt)) * rect
//   otherwise:             p = p' - b*lr
typedef struct sk_radam_args {
    float sign, weight_decay, decay, w1, beta2, c2, bc1, lr, eps, bc2_sqrt, rect;
    bool rectified;
} sk_radam_args;
void sk_radam_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                      bool decoupled, bool maximize, double step, sk_radam_args *out);
void sk_radam(float *p, const float *g, float *m, float *v, int64_t n, const sk_radam_args *a);

// ---- Adagrad (torch.optim.Adagrad) ---------------------------------------------------
//   d = sign*g + wd*p; s = (first ? init : s) + d*d
//   p = p + (neg_clr*d)/(sqrt(s) + eps),  clr = lr / (1 + (step-1)*lr_decay)
typedef struct sk_adagrad_args {
    float sign, weight_decay, init, eps, neg_clr;
    bool first_step;
} sk_adagrad_args;
void sk_adagrad_prepare(double lr, double lr_decay, double weight_decay, double eps,
                        double initial_accumulator_value, bool maximize, double step,
                        sk_adagrad_args *out);
void sk_adagrad(float *p, const float *g, float *sum, int64_t n, const sk_adagrad_args *a);

// ---- Adadelta (torch.optim.Adadelta) -------------------------------------------------
//   d = sign*g + wd*p; v = v*rho + ((1-rho)*d)*d
//   x = (sqrt(u + eps) / sqrt(v + eps)) * d; u = u*rho + ((1-rho)*x)*x
//   p = p + neg_lr*x
typedef struct sk_adadelta_args {
    float sign, weight_decay, rho, c, eps, neg_lr;
} sk_adadelta_args;
void sk_adadelta_prepare(double lr, double rho, double eps, double weight_decay, bool maximize,
                         sk_adadelta_args *out);
void sk_adadelta(float *p, const float *g, float *v, float *u, int64_t n,
                 const sk_adadelta_args *a);

// ---- RMSprop (torch.optim.RMSprop) ---------------------------------------------------
//   d = sign*g + wd*p; v = v*alpha + ((1-alpha)*d)*d
//   centered: ga = lerp(ga, d, 1-alpha); avg = sqrt(v - ga*ga) + eps; else sqrt(v) + eps
//   momentum: buf = buf*momentum + d/avg; p = p + neg_lr*buf;  else p = p + (neg_lr*d)/avg
typedef struct sk_rmsprop_args {
    float sign, weight_decay, alpha, c, eps, momentum, neg_lr;
    bool centered, use_momentum;
} sk_rmsprop_args;
void sk_rmsprop_prepare(double lr, double alpha, double eps, double weight_decay, double momentum,
                        bool centered, bool maximize, sk_rmsprop_args *out);
void sk_rmsprop(float *p, const float *g, float *v, float *grad_avg, float *buf, int64_t n,
                const sk_rmsprop_args *a);

// ---- Rprop (torch.optim.Rprop) -------------------------------------------------------
//   d = sign*g; f = sgn(d*prev) -> etaplus (>0), etaminus (<0), 1 (0)
//   step = clamp((first ? lr : step)*f, min, max); d = (f == etaminus) ? 0 : d
//   p = p - sgn(d)*step; prev = d
typedef struct sk_rprop_args {
    float sign, lr, etaminus, etaplus, step_min, step_max;
    bool first_step;
} sk_rprop_args;
void sk_rprop_prepare(double lr, double etaminus, double etaplus, double step_min, double step_max,
                      bool maximize, sk_rprop_args *out);
void sk_rprop(float *p, const float *g, float *prev, float *step_size, int64_t n,
              const sk_rprop_args *a);

// ---- ASGD (torch.optim.ASGD) ---------------------------------------------------------
// `eta` and `mu` are torch's float32 state; prepare reads them for this step and then
// advances them for the next one, as torch does after the update.
//   d = sign*g + wd*p; p = p*(1 - lambd*eta); p = p + (-eta)*d
//   ax = (mu != 1) ? ax + (p - ax)*mu : p
typedef struct sk_asgd_args {
    float sign, weight_decay, decay, neg_eta, mu;
} sk_asgd_args;
void sk_asgd_prepare(double lr, double lambd, double alpha, double t0, double weight_decay,
                     bool maximize, double step, double *eta, double *mu, sk_asgd_args *out);
void sk_asgd(float *p, const float *g, float *ax, int64_t n, const sk_asgd_args *a);

// ---- Lion (Chen et al. 2023; timm.optim.Lion) ----------------------------------------
//   d = sign*g; p = p*decay; p = p + neg_lr*sgn(m*beta1 + (1-beta1)*d); m = lerp(m, d, 1-beta2)
typedef struct sk_lion_args {
    float sign, decay, beta1, c1, w2, neg_lr;
} sk_lion_args;
void sk_lion_prepare(double lr, double beta1, double beta2, double weight_decay, bool maximize,
                     sk_lion_args *out);
void sk_lion(float *p, const float *g, float *m, int64_t n, const sk_lion_args *a);

// ---- LARS (MMSelfSup's mmselfsup.engine.optimizers.LARS) -----------------------------
// Needs the tensor's ‖p‖ and ‖g‖ first (sk_sumsq over pieces), then one pass:
//   d = (g + wd*p) * actual_lr
//   buf = first ? d : buf*momentum + keep*d; u = nesterov ? d + momentum*buf : buf
//   p = p - u
typedef struct sk_lars_args {
    float weight_decay, actual_lr, momentum, keep;
    bool use_momentum, nesterov, first_step;
} sk_lars_args;
// `weight_norm`, `grad_norm`: the float32 norms torch computes, as doubles.
void sk_lars_prepare(double lr, double momentum, double dampening, double weight_decay, double eta,
                     double eps, bool nesterov, bool exclude, double weight_norm, double grad_norm,
                     sk_lars_args *out);
void sk_lars(float *p, const float *g, float *buf, int64_t n, const sk_lars_args *a);

// ---- LAMB (timm.optim.Lamb, NVIDIA apex FusedLAMB behaviour) -------------------------
// Two passes when the trust ratio is needed (weight_decay != 0 or always_adapt), after
// the clip factor's ‖g‖ (sk_sumsq); lamb.c argues why 44 B/param is the least traffic:
//   gc = g / clip                                             (clip = 1 without clipping)
//   m = averaging ? lerp(m, gc, 1-beta1) : m*beta1 + beta3*gc; v = v*beta2 + ((1-beta2)*gc)*gc
//   u = (m / bc1) / (sqrt(v)/bc2_sqrt + eps)
//   decoupled: p' = p + wd_neg*p; else p' = p and u = u + wd*p
//   pass 1 (sk_lamb_moments): updates m, v, accumulates ‖p'‖² and ‖u‖² into norms[0..1]
//   pass 2 (sk_lamb_apply):   p = p' + neg_lr*(u*trust), u as stored by pass 1
// Without the trust ratio, sk_lamb_moments with `apply` set does everything in one pass.
typedef struct sk_lamb_args {
    float clip, w1, beta1, beta3, beta2, c2, bc1, bc2_sqrt, eps, weight_decay, wd_neg, neg_lr, trust;
    bool averaging, decoupled, apply;
    // Set by prepare: 1/clip, 1/bc1, 1/bc2_sqrt in double (divisions by these constants
    // become exact multiplications), and the |g| below which g / clip may be subnormal.
    double r_clip, r_bc1, r_bc2_sqrt;
    float clip_tiny;
} sk_lamb_args;
void sk_lamb_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                     bool bias_correction, bool grad_averaging, bool decoupled, double wd_scale,
                     double step, float clip, sk_lamb_args *out);
// torch.where(w > 0, torch.where(u > 0, w / u, 1), 1), clamped at 1 with trust_clip; the
// norms are float32 as torch computes them.
float sk_lamb_trust_ratio(float weight_norm, float update_norm, bool trust_clip);
// Without `apply`, the moments pass stores u to `u` (n floats, caller's scratch) for the
// apply pass; with it, `u` is unused and may be NULL. A 64-byte aligned `u` is written with
// streaming stores (the fast path); any other alignment works, more slowly.
void sk_lamb_moments(float *p, const float *g, float *m, float *v, float *u, int64_t n,
                     const sk_lamb_args *a, double norms[2]);
void sk_lamb_apply(float *p, const float *u, int64_t n, const sk_lamb_args *a);

// ---- Adafactor (torch.optim.Adafactor) -----------------------------------------------
// Not elementwise: every tensor needs its own norms and factored row/column statistics.
// One call per tensor. A tensor of rank >= 2 is `batch` matrices of rows x cols (the last
// two dimensions) with row_var [batch, rows] and col_var [batch, cols]; a vector uses
// `variance` (rows = 1, cols = n, batch = 1) and row_var = col_var = NULL.
typedef struct sk_adafactor_args {
    double lr, beta2_decay, eps1, eps2, d, weight_decay, step;
    float sign;
} sk_adafactor_args;
// `scratch` holds at least `cols` doubles.
void sk_adafactor(float *p, const float *g, float *row_var, float *col_var, float *variance,
                  int64_t batch, int64_t rows, int64_t cols, const sk_adafactor_args *a,
                  double *scratch);

// ---- reductions and the bandwidth probe ----------------------------------------------

// Sum of squares in double (independent vector accumulators, so it vectorizes).
double sk_sumsq(const float *x, int64_t n);
// Both sums of squares of x and y in one pass (two streams keep more reads in flight).
void sk_sumsq2(const float *x, const float *y, int64_t n, double out[2]);
// a[i] += s * b[i]: the read-modify-write pattern of an optimizer step, for `stepwise bench`.
void sk_triad(float *a, const float *b, float s, int64_t n);

// ---- Dense-layer epilogues (StepwiseModels' fused MLP path) --------------------------
// The elementwise work around a dense layer's matrix product, in one pass over its output,
// so that a layer costs its product plus one sweep of memory. Activations: identity,
// ReLU (x < 0 ? 0 : x), LeakyReLU (x > 0 ? x : slope * x, slope >= 0), as torch's.
// "bf16-rounded" means rounded to bfloat16 (nearest-even) and kept as float32: the
// operand of an emulated bfloat16 product.
#define SK_ACT_IDENTITY 0
#define SK_ACT_RELU 1
#define SK_ACT_LEAKY_RELU 2

// Forward: y[rows, cols] = act(P + bias), where P = a[rows, k] * bt[k, cols] when `a` and
// `bt` are non-NULL (a product too thin for sgemm, k = 1 or 2), else P is what `y`
// already holds (sgemm's output). `bias` may be NULL. If `rounded` is non-NULL, it also
// receives y bf16-rounded (the next layer's operand). Buffers other than y do not overlap.
void sk_dense_forward_epilogue(float *y, const float *a, const float *bt, int64_t k, const float *bias,
                               int64_t rows, int64_t cols, int act, float slope, float *rounded);

// Backward through act, given the gradient G with respect to its output y:
// dpre[rows, cols] = G * act'(y), with G = a[rows, k] * bt[k, cols] when `a` and `bt`
// are non-NULL, else G = g (which may equal dpre). act' is read from y's sign; y NULL
// means identity. If `db` is non-NULL, db[j] += sum over rows of dpre (row order). If
// `rounded` is non-NULL, it also receives dpre bf16-rounded.
void sk_dense_backward_epilogue(const float *g, const float *a, const float *bt, int64_t k, const float *y,
                                int act, float slope, float *dpre, float *db, float *rounded,
                                int64_t rows, int64_t cols);

// destination[i] = source[i] bf16-rounded; the two may be equal.
void sk_round_bfloat16(const float *source, float *destination, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
