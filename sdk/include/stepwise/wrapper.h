// Stepwise plugin ABI — optimizer wrappers ("how to step").
//
// A wrapper sits around any optimizer and decides how a step is taken: gradient
// accumulation, loss scaling for mixed precision, unscaling, the non-finite check and
// gradient clipping. It never knows which algorithm it wraps. The host's OptimWrapper
// (MMEngine's names: update_params, backward, step, zero_grad, should_update, ...) asks
// the wrapper instance at each point:
//
//   factor = loss_factor(iter)            -> the model's backward runs on loss * factor
//   if should_update(iter):
//       pre_step(grads)                   -> unscale, check, clip; OK or SKIPPED
//       optimizer step unless SKIPPED
//       post_step(stepped)                -> e.g. grow or back off the loss scale
//       zero the gradients
//
// Rationale: MMEngine keeps accumulation, clipping and AMP in wrappers so any optimizer
// gets them; here the same split crosses the ABI.
#ifndef STEPWISE_WRAPPER_H
#define STEPWISE_WRAPPER_H

#include "optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// The run a wrapper is built into. Lent to create; copied by the plugin.
typedef struct stepwise_wrapper_setup {
    size_t struct_size;
    int64_t start_iter; // the iteration the run (or a resumed run) starts at
    int64_t max_iters;  // total iterations; 0 when unknown (no short last window)
} stepwise_wrapper_setup;

// Every gradient the wrapped optimizer is about to see, grouped as the optimizer's param
// groups. `grad` buffers are writable (unscale, clip); `data` must not be changed. Lent.
typedef struct stepwise_grad_set {
    size_t struct_size;
    uint32_t group_count;
    const stepwise_group *const *groups;
} stepwise_grad_set;

// Filled by pre_step; zero-filled by the host, which sets struct_size.
typedef struct stepwise_pre_step_info {
    size_t struct_size;
    bool found_non_finite; // a NaN or infinity was seen in a gradient
    bool has_grad_norm;    // clipped by norm and the norm was finite
    double grad_norm;      // the total norm before clipping (unscaled gradients)
} stepwise_pre_step_info;

typedef struct stepwise_wrapper_api {
    size_t struct_size;
    uint32_t flags; // none defined in 1.0

    // Cross-key validation. Optional. [any-thread]
    stepwise_status (*check)(const stepwise_host *host, const stepwise_values *values,
                             stepwise_error **error);

    // Creates an instance. `values` stay valid until destroy; `setup` is lent.
    // Required. [any-thread]
    stepwise_status (*create)(const stepwise_host *host, const stepwise_values *values,
                              const stepwise_wrapper_setup *setup, void **instance,
                              stepwise_error **error);

    // Required. [instance-serial]
    void (*destroy)(void *instance);

    // The factor the loss of iteration `iter` is multiplied by before backward: the
    // accumulation divisor (the real length of a short last window) times the loss
    // scale. Required. [instance-serial]
    double (*loss_factor)(void *instance, int64_t iter);

    // Whether iteration `iter` ends an accumulation window (the optimizer steps).
    // Required. [instance-serial]
    bool (*should_update)(void *instance, int64_t iter);

    // Whether gradients must be synchronized across processes on iteration `iter`
    // (false inside an accumulation window). Optional: NULL means should_update.
    // [instance-serial]
    bool (*should_sync)(void *instance, int64_t iter);

    // Prepares the gradients for the optimizer: unscales, checks for non-finite values,
    // clips. Returns STEPWISE_OK (step), STEPWISE_SKIPPED (do not step: non-finite
    // gradients under a loss scaler, or the wrapper's skip-non-finite option), or an
    // error with `*error` set. `grads` is lent. Required. [instance-serial]
    stepwise_status (*pre_step)(void *instance, const stepwise_grad_set *grads,
                                stepwise_pre_step_info *info, stepwise_error **error);

    // Called after the optimizer stepped (`stepped`) or was skipped. Optional.
    // [instance-serial]
    stepwise_status (*post_step)(void *instance, bool stepped, stepwise_error **error);

    // The current loss scale (1 for wrappers without one). Optional. [instance-serial]
    double (*loss_scale)(void *instance);

    // Counters and scaler state as an opaque blob of `state_version`. Optional (both or
    // neither). [instance-serial]
    stepwise_status (*save_state)(void *instance, const stepwise_ostream *stream,
                                  stepwise_error **error);
    stepwise_status (*load_state)(void *instance, const stepwise_istream *stream,
                                  stepwise_error **error);
    uint32_t state_version;
} stepwise_wrapper_api;

#define STEPWISE_WRAPPER_API_SIZE_1_0 \
    (offsetof(stepwise_wrapper_api, state_version) + sizeof(uint32_t))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_WRAPPER_H
