// Stepwise plugin ABI — the services the host lends to plugins.
//
// Plugins link against nothing of the host (the host executable exports no symbols); the
// only way back into the host is this table. A pointer to it is passed to every `create`
// call and stays valid until the process exits (static), so an instance may keep it.
#ifndef STEPWISE_HOST_H
#define STEPWISE_HOST_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum stepwise_log_level {
    STEPWISE_LOG_DEBUG = 0,
    STEPWISE_LOG_INFO = 1,
    STEPWISE_LOG_WARNING = 2,
    STEPWISE_LOG_ERROR = 3,
} stepwise_log_level;

// The body of a parallel loop: processes indices [begin, end). `ctx` is the plugin's,
// passed through unchanged.
typedef void (*stepwise_range_fn)(void *ctx, int64_t begin, int64_t end);

typedef struct stepwise_host {
    size_t struct_size;
    stepwise_version abi_version; // the host's ABI version
    const char *name;             // "stepwise"; static
    const char *version;          // the host's release, e.g. "0.1.0"; static

    // Writes one line to the host's log, prefixed with the plugin's name. `message` is
    // lent. [any-thread]
    void (*log)(const struct stepwise_host *host, stepwise_log_level level, const char *message);

    // Creates an error value. `message` is lent and copied. The error belongs to whoever
    // receives it through a `stepwise_error **` out-parameter; it is released with
    // error_free. Never returns NULL (an allocation failure yields a static error).
    // [any-thread]
    stepwise_error *(*error_new)(const struct stepwise_host *host, stepwise_status status,
                                 const char *message);

    // Releases an error made by error_new. NULL is ignored. [any-thread]
    void (*error_free)(const struct stepwise_host *host, stepwise_error *error);

    // The status and message of an error; the message lives as long as the error.
    // [any-thread]
    stepwise_status (*error_status)(const struct stepwise_host *host, const stepwise_error *error);
    const char *(*error_message)(const struct stepwise_host *host, const stepwise_error *error);

    // Runs body(ctx, b, e) over disjoint ranges that cover [0, count) exactly once, on the
    // host's thread pool, and returns when all are done. Ranges hold at least `grain`
    // indices (except the last); with count <= grain, or a pool of one thread, it runs
    // body(ctx, 0, count) on the calling thread. The body must not call parallel_for.
    // Allocation-free: safe on an optimizer's hot path.
    // [any-thread] but calls from several threads at once are serialized.
    void (*parallel_for)(const struct stepwise_host *host, int64_t count, int64_t grain,
                         void *ctx, stepwise_range_fn body);

    // The number of threads parallel_for may use (>= 1). [any-thread]
    uint32_t (*thread_count)(const struct stepwise_host *host);
} stepwise_host;

#define STEPWISE_HOST_SIZE_1_0 (offsetof(stepwise_host, thread_count) + sizeof(void *))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_HOST_H
