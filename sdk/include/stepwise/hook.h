// Stepwise plugin ABI — training-loop hooks.
//
// A hook is called at the points of the runner's loop it subscribes to (MMEngine's hook
// points) in priority order, lowest value first (MMEngine: HIGHEST 0, NORMAL 50, LOWEST
// 100). It sees the loop through a runner view the host lends for the call: counters,
// the scalars logged this iteration, the parameters, and a few requests (stop, save).
#ifndef STEPWISE_HOOK_H
#define STEPWISE_HOOK_H

#include "optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum stepwise_hook_point {
    STEPWISE_HOOK_BEFORE_RUN = 0,
    STEPWISE_HOOK_BEFORE_TRAIN_EPOCH = 1,
    STEPWISE_HOOK_BEFORE_TRAIN_ITER = 2,
    STEPWISE_HOOK_AFTER_TRAIN_ITER = 3,
    STEPWISE_HOOK_AFTER_TRAIN_EPOCH = 4,
    STEPWISE_HOOK_BEFORE_VAL_EPOCH = 5,
    STEPWISE_HOOK_AFTER_VAL_EPOCH = 6,
    STEPWISE_HOOK_AFTER_RUN = 7,
    STEPWISE_HOOK_BEFORE_SAVE_CHECKPOINT = 8,
    STEPWISE_HOOK_AFTER_LOAD_CHECKPOINT = 9,
} stepwise_hook_point;

#define STEPWISE_HOOK_MASK(point) (1ull << (point))

// The loop as a hook sees it. Lent for the call; every function is [instance-serial] and
// may only be called during the hook call it was lent to.
typedef struct stepwise_runner_view {
    size_t struct_size;
    void *ctx; // host's
    int64_t epoch, iter, inner_iter;     // 0-based
    int64_t max_epochs, max_iters, iters_per_epoch;
    // Scalars logged for this iteration ("loss", "generator.lr", "grad_norm", "time")
    // or, at AFTER_VAL_EPOCH, the validation metrics. Lent.
    uint32_t scalar_count;
    const stepwise_named_value *const *scalars;
    bool is_terminal;                    // stdout is a terminal (progress bars)
    const char *work_dir;                // output folder; lent

    // The trainable parameters, in a stable order; `*out` is filled with a view whose
    // `data` the hook may read and write (EMA swaps). Returns false past the end.
    bool (*param_at)(const struct stepwise_runner_view *view, uint32_t index,
                     stepwise_param *out);
    uint32_t param_count;

    // Prints a line (`transient`: a status line a terminal may overwrite). `text` lent.
    void (*print)(const struct stepwise_runner_view *view, const char *text, bool transient);

    // Asks the runner to stop after this point; `reason` is lent and logged.
    void (*request_stop)(const struct stepwise_runner_view *view, const char *reason);

    // Saves a checkpoint of the whole run to `path` (lent), atomically.
    stepwise_status (*save_checkpoint)(const struct stepwise_runner_view *view,
                                       const char *path, stepwise_error **error);
} stepwise_runner_view;

typedef struct stepwise_hook_api {
    size_t struct_size;
    uint64_t points;          // STEPWISE_HOOK_MASK bits of the points it handles
    int32_t default_priority; // overridden by a config's `priority`

    stepwise_status (*check)(const stepwise_host *host, const stepwise_values *values,
                             stepwise_error **error); // optional [any-thread]

    // `values` stay valid until destroy. Required. [any-thread]
    stepwise_status (*create)(const stepwise_host *host, const stepwise_values *values,
                              void **instance, stepwise_error **error);

    void (*destroy)(void *instance); // required [instance-serial]

    // Called at `point` (one of the subscribed ones). `view` is lent. An error stops the
    // run with the hook's message. Required. [instance-serial]
    stepwise_status (*on_event)(void *instance, stepwise_hook_point point,
                                const stepwise_runner_view *view, stepwise_error **error);

    // State (EMA weights, early-stopping counters) as an opaque blob. Optional (both or
    // neither). [instance-serial]
    stepwise_status (*save_state)(void *instance, const stepwise_ostream *stream,
                                  stepwise_error **error);
    stepwise_status (*load_state)(void *instance, const stepwise_istream *stream,
                                  stepwise_error **error);
    uint32_t state_version;
} stepwise_hook_api;

#define STEPWISE_HOOK_API_SIZE_1_0 \
    (offsetof(stepwise_hook_api, state_version) + sizeof(uint32_t))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_HOOK_H
