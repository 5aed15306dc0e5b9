// Stepwise plugin ABI — optimizers ("what algorithm").
//
// An optimizer instance holds the component's default hyperparameters. The host owns the
// parameters, the gradients and all per-parameter state; the plugin declares its state as
// named slots (`exp_avg`, `exp_avg_sq`, `step`, ...) and the host allocates them, saves
// them, loads them and shows them, keyed by parameter names. `step` is multi-tensor: one
// call per param group per optimization step, over every tensor of the group.
//
// Rationale: host-owned named slots make checkpoints, inspection and sharding generic;
// one call per group makes the boundary cost nothing per tensor.
#ifndef STEPWISE_OPTIMIZER_H
#define STEPWISE_OPTIMIZER_H

#include "schema.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STEPWISE_MAX_RANK 8u

typedef enum stepwise_slot_kind {
    // F32 storage; the parameter's shape unless `slot_shape` says otherwise.
    STEPWISE_SLOT_TENSOR = 0,
    // One double (e.g. `step`, ASGD's `eta` and `mu`).
    STEPWISE_SLOT_SCALAR = 1,
} stepwise_slot_kind;

// A named piece of per-parameter state. Static.
typedef struct stepwise_slot {
    size_t struct_size;
    const char *name; // e.g. "exp_avg"; the key in checkpoints: "<param>.<slot>"
    stepwise_slot_kind kind;
    const char *doc;
} stepwise_slot;

// What kind of layer owns a parameter, declared by the model code. Used by parameter-wise
// configuration (bias_lr_mult, norm_decay_mult, ...) and by LARS-style exclusions.
typedef enum stepwise_param_tag {
    STEPWISE_PARAM_WEIGHT = 0,
    STEPWISE_PARAM_BIAS = 1,
    STEPWISE_PARAM_NORM = 2,        // weight or bias of a normalization layer
    STEPWISE_PARAM_DWCONV = 3,      // depth-wise convolution weight
    STEPWISE_PARAM_EMBEDDING = 4,
    STEPWISE_PARAM_OTHER = 5,
} stepwise_param_tag;

// Flags of one parameter in a step (bitwise or).
enum {
    // The parameter's slots were just allocated (zero-filled) and hold no state yet: the
    // optimizer initializes them on this step, as torch does on a parameter's first step.
    // The host clears the flag after a step that received a gradient for it.
    STEPWISE_PARAM_STATE_FRESH = 1u << 0,
};

// One tensor in a step. Lent for the call.
typedef struct stepwise_param {
    size_t struct_size;
    const char *name;       // stable parameter name, e.g. "generator.fc1.weight"
    stepwise_param_tag tag;
    uint32_t flags;         // STEPWISE_PARAM_*
    uint32_t rank;
    const int64_t *shape;   // `rank` extents, row-major
    int64_t numel;
    stepwise_dtype dtype;   // STEPWISE_F32 in ABI 1.x
    float *data;            // numel values, updated in place
    // numel values, or NULL when the parameter has no gradient on this step: then the
    // optimizer leaves it and its state untouched, as torch skips `p.grad is None`.
    // Optimizers only read it; wrappers may scale or clip it in pre_step.
    float *grad;
    // `slot_count` pointers in the optimizer's slot order: TENSOR slots point to F32
    // storage of the slot's shape, SCALAR slots to one double; NULL for a slot that
    // `slot_shape` reported absent for this parameter. Host-owned, 64-byte aligned.
    void *const *slots;
} stepwise_param;

// One param group in a step. Lent for the call.
typedef struct stepwise_group {
    size_t struct_size;
    uint32_t index;                 // position in the optimizer's param groups
    const stepwise_values *values;  // this group's current hyperparameters, schema order
    uint32_t param_count;
    const stepwise_param *const *params;
} stepwise_group;

// The loss-evaluating callback lent to closure optimizers (LBFGS).
typedef struct stepwise_closure {
    size_t struct_size;
    void *ctx; // host's
    // Re-evaluates the loss at the current parameter values, rewrites every gradient of
    // the group in place (the `grad` buffers of the group being stepped, which keep
    // their addresses; a parameter the loss does not reach gets zeros), and stores the
    // loss in `*loss`. Returns STEPWISE_OK or an error with `*error` set (the caller owns
    // it). [instance-serial] called only from inside `step`, on the same thread.
    stepwise_status (*evaluate)(const struct stepwise_closure *closure, double *loss,
                                stepwise_error **error);
} stepwise_closure;

// Filled by `step`; the host zero-fills it and sets struct_size before the call.
typedef struct stepwise_step_info {
    size_t struct_size;
    bool has_loss;  // closure optimizers: true, with `loss` the closure's first value
    double loss;
} stepwise_step_info;

// Flags of an optimizer (bitwise or).
enum {
    // `step` needs a closure (LBFGS). Without one, the host refuses to step.
    STEPWISE_OPT_NEEDS_CLOSURE = 1u << 0,
    // Supports only one param group (torch's LBFGS).
    STEPWISE_OPT_SINGLE_GROUP = 1u << 1,
    // Non-finite gradients: without this flag they propagate into the parameters, as in
    // torch (guarding against them is a wrapper's job); with it, `step` checks and
    // returns STEPWISE_NON_FINITE without changing anything.
    STEPWISE_OPT_REJECTS_NON_FINITE = 1u << 2,
};

typedef struct stepwise_optimizer_api {
    size_t struct_size;
    uint32_t flags; // STEPWISE_OPT_*
    uint32_t slot_count;
    const stepwise_slot *const *slots; // static

    // Cross-key validation beyond the schema's ranges (e.g. "Nesterov momentum requires a
    // momentum and zero dampening"). Called by the host for the defaults and for every
    // param group's values. Returns STEPWISE_OK or STEPWISE_INVALID_ARGUMENT with
    // `*error` set. `values` is lent. Optional. [any-thread]
    stepwise_status (*check)(const stepwise_host *host, const stepwise_values *values,
                             stepwise_error **error);

    // Creates an instance. `values` are the validated defaults (schema order); they and
    // everything they point to stay valid until destroy. `host` is static. Returns
    // STEPWISE_OK with `*instance` set, or an error. Required. [any-thread]
    stepwise_status (*create)(const stepwise_host *host, const stepwise_values *values,
                              void **instance, stepwise_error **error);

    // Destroys an instance. Required. [instance-serial]
    void (*destroy)(void *instance);

    // The shape of TENSOR slot `slot` for `param`: writes up to STEPWISE_MAX_RANK extents
    // to `shape` and the rank to `*rank`, and returns true; or returns false when the
    // parameter has no such slot (Adafactor keeps `row_var`/`col_var` for matrices and
    // `variance` for vectors). `param` is lent; only its name, tag, rank and shape are
    // meaningful. Optional: NULL means every TENSOR slot has the parameter's shape.
    // [instance-serial]
    bool (*slot_shape)(void *instance, uint32_t slot, const stepwise_param *param,
                       int64_t *shape, uint32_t *rank);

    // Applies one optimization step to every parameter of `group` that has a gradient.
    // `group` and everything it points to are lent for this call only; `closure` is NULL
    // unless STEPWISE_OPT_NEEDS_CLOSURE. Returns STEPWISE_OK, STEPWISE_SKIPPED (nothing
    // was changed), or an error with `*error` set (the caller owns it), in which case
    // parameters and state are left as they were where possible. Must not allocate on
    // the hot path; may call host->parallel_for. Required. [instance-serial]
    stepwise_status (*step)(void *instance, const stepwise_group *group,
                            const stepwise_closure *closure, stepwise_step_info *info,
                            stepwise_error **error);

    // State beyond the slots (LBFGS history), as an opaque blob of `state_version`. Save
    // writes everything through `stream`; load reads it back and must refuse garbage,
    // truncated or oversized input with STEPWISE_BAD_STATE, without crashing or
    // allocating more than the declared sizes justify. Streams are lent. Optional (both
    // or neither). [instance-serial]
    stepwise_status (*save_state)(void *instance, const stepwise_ostream *stream,
                                  stepwise_error **error);
    stepwise_status (*load_state)(void *instance, const stepwise_istream *stream,
                                  stepwise_error **error);
    uint32_t state_version;
} stepwise_optimizer_api;

#define STEPWISE_OPTIMIZER_API_SIZE_1_0 \
    (offsetof(stepwise_optimizer_api, state_version) + sizeof(uint32_t))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_OPTIMIZER_H
