// Stepwise plugin ABI — communicators: collectives between the processes of one
// data-parallel run. Added in ABI 1.1.
//
// A communicator is the transport under data-parallel training: what torch.distributed
// calls a backend and MMEngine's `env_cfg = {dist_cfg: {backend: ...}}` names. The host
// decides *when* to communicate; a communicator only moves numbers:
//
//   for each optimizer step (the end of an accumulation window, never inside one):
//       all_reduce_start / all_reduce   -> gradient buckets, summed over ranks; then the
//                                          wrapper's pre_step sees the averaged gradients
//       wait                            -> every bucket, before pre_step
//   ZeRO-1, after the optimizer stepped:
//       all_gather                      -> each rank's updated parameter shard to all
//
// Every process of the run creates one instance from the same config. Collectives are
// matched by order, as in MPI: every rank issues the same collectives, with the same
// counts and dtypes, in the same order. A failed collective leaves its buffers
// unspecified; the host then stops the run on that rank with the error.
//
// Threads: every function taking an instance is [instance-serial] and is called on the
// thread that created the instance (transports such as MPI_THREAD_FUNNELED require it).
#ifndef STEPWISE_COMMUNICATOR_H
#define STEPWISE_COMMUNICATOR_H

#include "base.h"
#include "host.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

// A collective in flight, started by all_reduce_start. Opaque; owned by the plugin from
// start until wait, which always releases it.
typedef struct stepwise_comm_request stepwise_comm_request;

// Values are stable; new operations are only appended.
typedef enum stepwise_reduce_op {
    STEPWISE_REDUCE_SUM = 0,
} stepwise_reduce_op;

typedef struct stepwise_communicator_api {
    size_t struct_size;
    uint32_t flags; // none defined in 1.1

    // Cross-key validation. Optional. [any-thread]
    stepwise_status (*check)(const stepwise_host *host, const stepwise_values *values,
                             stepwise_error **error);

    // Joins the run (e.g. MPI_Init) and creates an instance; rank and size are known when
    // it returns. `values` stay valid until destroy. Fails with a message a user can act
    // on when the transport is missing or the process was not started by its launcher
    // in a way it can use. Required. [any-thread]
    stepwise_status (*create)(const stepwise_host *host, const stepwise_values *values,
                              void **instance, stepwise_error **error);

    // Releases the instance. Every request it started has been waited for. The
    // transport itself may stay up until the process exits (MPI can start only once per
    // process, so the bundled plugin finalizes it at exit), so a later create in the same
    // process must still work. Required. [instance-serial]
    void (*destroy)(void *instance);

    // This process's rank in [0, size), and the number of processes (>= 1).
    // Required. [instance-serial]
    int32_t (*rank)(void *instance);
    int32_t (*size)(void *instance);

    // In place: every rank's `buffer` of `count` elements becomes the element-wise `op`
    // over all ranks. STEPWISE_F32 and STEPWISE_F64 must be supported; another dtype
    // fails with STEPWISE_UNSUPPORTED. `buffer` is lent. Required. [instance-serial]
    stepwise_status (*all_reduce)(void *instance, void *buffer, int64_t count,
                                  stepwise_dtype dtype, stepwise_reduce_op op,
                                  stepwise_error **error);

    // Starts the same operation as all_reduce and returns at once, so the host can go on
    // with backward while a gradient bucket travels. `buffer` stays lent until wait
    // returns: the host neither reads nor writes it before. `*request` is set on success.
    // Optional: NULL means the host calls all_reduce (no overlap). [instance-serial]
    stepwise_status (*all_reduce_start)(void *instance, void *buffer, int64_t count,
                                        stepwise_dtype dtype, stepwise_reduce_op op,
                                        stepwise_comm_request **request,
                                        stepwise_error **error);

    // Completes a started operation and releases `request`, also when it fails.
    // Required when all_reduce_start is given. [instance-serial]
    stepwise_status (*wait)(void *instance, stepwise_comm_request *request,
                            stepwise_error **error);

    // Gathers: rank r sends `counts[r]` elements (`send_count` == counts[rank]); every
    // rank receives all of them concatenated in rank order in `receive`, which holds the
    // sum of `counts`. `counts` has `size` entries. All pointers are lent.
    // Required. [instance-serial]
    stepwise_status (*all_gather)(void *instance, const void *send, int64_t send_count,
                                  void *receive, const int64_t *counts, stepwise_dtype dtype,
                                  stepwise_error **error);

    // Copies `root`'s `buffer` to every rank's. `buffer` is lent. Required.
    // [instance-serial]
    stepwise_status (*broadcast)(void *instance, void *buffer, int64_t count,
                                 stepwise_dtype dtype, int32_t root, stepwise_error **error);

    // Returns when every rank has called it. Required. [instance-serial]
    stepwise_status (*barrier)(void *instance, stepwise_error **error);
} stepwise_communicator_api;

#define STEPWISE_COMMUNICATOR_API_SIZE_1_1 \
    (offsetof(stepwise_communicator_api, barrier) + sizeof(void *))

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_COMMUNICATOR_H
