// Stepwise plugin ABI — parameter schedulers.
//
// A scheduler drives one hyperparameter of every param group of one optimizer: the
// learning rate, the momentum (SGD's `momentum`, Adam's `betas[0]`), or any named
// hyperparameter (`param_name`). The host resolves *which* value is driven from the
// component's target (below) and the optimizer's schema roles; the plugin only computes
// numbers. The host tells the scheduler about the training loop through ticks (events);
// the plugin decides on which events it acts, so each dialect's timing (MMEngine's
// by_epoch windows, torch's per-iteration steps, MMCV's before-iteration hooks,
// MindSpore's functions of the global step) lives in one place, the plugin.
//
// Rationale: a scheduler is a pure function of (its step counters, base values, current
// values, metrics) plus small explicit state it saves and loads. Building one changes
// nothing; only ticks change values; reading values never advances a scheduler.
#ifndef STEPWISE_SCHEDULER_H
#define STEPWISE_SCHEDULER_H

#include "schema.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

// Which hyperparameter a scheduler component drives.
typedef enum stepwise_schedule_target {
    STEPWISE_TARGET_LR = 0,         // the optimizer's STEPWISE_ROLE_LR hyperparameter
    STEPWISE_TARGET_MOMENTUM = 1,   // the optimizer's STEPWISE_ROLE_MOMENTUM hyperparameter
    STEPWISE_TARGET_PARAM_NAME = 2, // the one named by the component's `param_name` key
} stepwise_schedule_target;

// The loop convention a component follows; it selects how the host builds it from a
// config (MMEngine's by_epoch / begin / end / convert_to_iter_based keys; MMCV's
// lr_config policy names) and which loop `stepwise schedule` simulates.
typedef enum stepwise_schedule_dialect {
    STEPWISE_DIALECT_MMENGINE = 0,
    STEPWISE_DIALECT_TORCH = 1,
    STEPWISE_DIALECT_MMCV = 2,
    STEPWISE_DIALECT_MINDSPORE = 3,
} stepwise_schedule_dialect;

struct stepwise_schedule_tick;

// The loop a scheduler is built into. Lent to create; copied by the plugin.
typedef struct stepwise_schedule_setup {
    size_t struct_size;
    uint32_t group_count;    // values per tick
    int64_t max_epochs;      // 0 when unknown
    int64_t iters_per_epoch; // 0 when unknown
    int64_t max_iters;       // 0 when unknown
    // Sub-schedulers the host built from this component's STEPWISE_HP_SCHEDULERS
    // hyperparameter (torch's SequentialLR / ChainedScheduler), driving the same values.
    // `tick_child` ticks child `child` with a tick the plugin prepares. NULL / 0 when the
    // component has no such hyperparameter. `children_ctx` is the host's.
    uint32_t child_count;
    void *children_ctx;
    stepwise_status (*tick_child)(void *children_ctx, uint32_t child,
                                  const struct stepwise_schedule_tick *tick,
                                  stepwise_error **error);
} stepwise_schedule_setup;

typedef enum stepwise_schedule_event {
    STEPWISE_TICK_START = 0,        // once, when training starts (MMEngine and torch apply
                                    // their first value here, MMCV's before_run)
    STEPWISE_TICK_BEFORE_EPOCH = 1,
    STEPWISE_TICK_BEFORE_ITER = 2,
    STEPWISE_TICK_AFTER_ITER = 3,   // after the optimizer stepped
    STEPWISE_TICK_AFTER_EPOCH = 4,
    STEPWISE_TICK_AFTER_VAL = 5,    // validation metrics are in the tick
} stepwise_schedule_event;

// One event of the training loop. Lent for the call.
typedef struct stepwise_schedule_tick {
    size_t struct_size;
    stepwise_schedule_event event;
    int64_t epoch;       // 0-based epoch the event belongs to
    int64_t iter;        // 0-based global iteration
    int64_t inner_iter;  // 0-based iteration within the epoch
    // >= 0: jump to this step count and compute the closed form (torch's step(epoch),
    // used by SequentialLR at its milestones); -1 otherwise.
    int64_t jump_to_step;
    uint32_t group_count;
    // Per group: the value before any scheduler touched it (MMEngine's and torch's
    // `initial_lr`, MMCV's base_lr).
    const double *base_values;
    // Per group: in, the current value; out, the value the scheduler sets (left as is
    // when it does not act on this event).
    double *values;
    uint32_t metric_count;                        // AFTER_VAL only
    const stepwise_named_value *const *metrics;   // lent
    // Appended (read only when struct_size covers it). Per group: in, the current momentum;
    // out, the momentum the scheduler sets. Non-NULL only for a scheduler flagged
    // STEPWISE_SCHED_ALSO_MOMENTUM whose optimizer has a STEPWISE_ROLE_MOMENTUM
    // hyperparameter (torch's CyclicLR and OneCycleLR cycle it with the lr).
    double *momentum_values;
} stepwise_schedule_tick;

// Flags of a scheduler (bitwise or).
enum {
    // Reads metrics (ReduceOnPlateau): the host refuses to run it in a loop that never
    // supplies the metric it monitors.
    STEPWISE_SCHED_NEEDS_METRICS = 1u << 0,
    // Besides its target, may drive the momentum through tick->momentum_values (torch's
    // `cycle_momentum`). Rationale: torch couples the two in one scheduler; a second,
    // hidden momentum scheduler would split one piece of state in two.
    STEPWISE_SCHED_ALSO_MOMENTUM = 1u << 1,
};

typedef struct stepwise_scheduler_api {
    size_t struct_size;
    uint32_t flags;
    stepwise_schedule_target target;
    stepwise_schedule_dialect dialect;

    // Cross-key validation (e.g. "begin must be smaller than end"). Optional.
    // [any-thread]
    stepwise_status (*check)(const stepwise_host *host, const stepwise_values *values,
                             stepwise_error **error);

    // Creates an instance for `setup`. `values` stay valid until destroy; `setup` is
    // lent. Building changes no hyperparameter. Required. [any-thread]
    stepwise_status (*create)(const stepwise_host *host, const stepwise_values *values,
                              const stepwise_schedule_setup *setup, void **instance,
                              stepwise_error **error);

    // Required. [instance-serial]
    void (*destroy)(void *instance);

    // Delivers one loop event; the scheduler advances its counters and writes new values
    // when it acts on it. Returns STEPWISE_OK or an error with `*error` set (values are
    // then left unchanged). Required. [instance-serial]
    stepwise_status (*tick)(void *instance, const stepwise_schedule_tick *tick,
                            stepwise_error **error);

    // Counters and small state (ReduceOnPlateau's best value), as an opaque blob of
    // `state_version`; loading into a freshly created instance continues exactly where
    // the saved one was, without taking a step. Required for resumable schedulers; NULL
    // means the scheduler has no state beyond its hyperparameters. [instance-serial]
    stepwise_status (*save_state)(void *instance, const stepwise_ostream *stream,
                                  stepwise_error **error);
    stepwise_status (*load_state)(void *instance, const stepwise_istream *stream,
                                  stepwise_error **error);
    uint32_t state_version;
} stepwise_scheduler_api;

#define STEPWISE_SCHEDULER_API_SIZE_1_0 \
    (offsetof(stepwise_scheduler_api, state_version) + sizeof(uint32_t))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_SCHEDULER_H
