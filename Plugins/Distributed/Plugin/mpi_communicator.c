// The `mpi` communicator: data-parallel collectives over Open MPI, for processes started
// by mpirun (or one process on its own, MPI's singleton mode).
//
// This plugin does not link MPI: loading Open MPI costs ~10 ms and pulls in a dozen
// libraries, which every `stepwise` command would pay while loading plugins. The MPI
// calls live in libStepwiseMPI.so (Plugins/Distributed/Backend), opened on the first
// create from, in order: the `library` key, $STEPWISE_MPI_LIBRARY, the folder this
// plugin was loaded from. It is opened RTLD_GLOBAL because Open MPI's own components,
// which libmpi dlopens, resolve their symbols against libmpi's.
#define _GNU_SOURCE
#include <stepwise/stepwise.h>

#include "../Backend/include/stepwise_mpi.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const stepwise_hyperparam library = {
    .struct_size = sizeof(stepwise_hyperparam),
    .name = "library",
    .type = STEPWISE_TYPE_STRING,
    .flags = STEPWISE_HP_NULLABLE,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_NONE},
    .doc = "path of libStepwiseMPI.so; None: $STEPWISE_MPI_LIBRARY, else beside this plugin",
};
static const stepwise_hyperparam *const hyperparams[] = {&library};

// The backend's functions, resolved once per process.
static struct {
    int (*init)(void);
    int (*rank)(int *);
    int (*size)(int *);
    int (*allreduce_sum)(void *, int64_t, int);
    int (*iallreduce_sum)(void *, int64_t, int, void **);
    int (*wait)(void *);
    int (*allgatherv)(const void *, int64_t, void *, const int *, const int *, int);
    int (*bcast)(void *, int64_t, int, int);
    int (*barrier)(void);
    void (*error_text)(int, char *, int);
} mpi;
static bool mpi_loaded;
static char mpi_path[PATH_MAX];
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct communicator {
    const stepwise_host *host;
    int rank, size;
} communicator;

static stepwise_status fail(const stepwise_host *host, stepwise_error **error, stepwise_status status,
                            const char *format, ...) __attribute__((format(printf, 4, 5)));
static stepwise_status fail(const stepwise_host *host, stepwise_error **error, stepwise_status status,
                            const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    *error = host->error_new(host, status, message);
    return status;
}

// The folder this plugin was loaded from, with a trailing '/', or "" when unknown.
static void own_folder(char *out, size_t cap) {
    Dl_info info;
    out[0] = '\0';
    if (!dladdr((void *)own_folder, &info) || !info.dli_fname) return;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash) return;
    size_t n = (size_t)(slash - info.dli_fname) + 1;
    if (n >= cap) return;
    memcpy(out, info.dli_fname, n);
    out[n] = '\0';
}

static stepwise_status load_backend(const stepwise_host *host, const char *configured, stepwise_error **error) {
    pthread_mutex_lock(&load_lock);
    stepwise_status status = STEPWISE_OK;
    if (mpi_loaded) {
        // One MPI per process: a second create may not name another backend.
        if (configured && strcmp(configured, mpi_path) != 0) {
            status = fail(host, error, STEPWISE_INVALID_ARGUMENT,
                          "mpi communicator: 'library' is %s, but this process already uses the MPI backend %s",
                          configured, mpi_path);
        }
        goto done;
    }
    char path[PATH_MAX];
    const char *env = getenv("STEPWISE_MPI_LIBRARY");
    if (configured) {
        snprintf(path, sizeof path, "%s", configured);
    } else if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        char folder[PATH_MAX];
        own_folder(folder, sizeof folder);
        snprintf(path, sizeof path, "%slibStepwiseMPI.so", folder);
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
    if (!handle) {
        const char *why = dlerror();
        // A path the config names is a bad value of that key; a missing default is a build
        // without Open MPI.
        status = fail(host, error, configured ? STEPWISE_INVALID_ARGUMENT : STEPWISE_UNSUPPORTED,
                      "mpi communicator: cannot open the MPI backend %s%s (%s); build Stepwise with Open MPI "
                      "installed (bash scripts/setup.sh), or set 'library' or STEPWISE_MPI_LIBRARY",
                      path, configured ? " (key 'library')" : "", why ? why : "unknown reason");
        goto done;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"swmpi_init", (void **)&mpi.init}, {"swmpi_rank", (void **)&mpi.rank},
        {"swmpi_size", (void **)&mpi.size}, {"swmpi_allreduce_sum", (void **)&mpi.allreduce_sum},
        {"swmpi_iallreduce_sum", (void **)&mpi.iallreduce_sum}, {"swmpi_wait", (void **)&mpi.wait},
        {"swmpi_allgatherv", (void **)&mpi.allgatherv}, {"swmpi_bcast", (void **)&mpi.bcast},
        {"swmpi_barrier", (void **)&mpi.barrier}, {"swmpi_error_text", (void **)&mpi.error_text},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        *symbols[i].slot = dlsym(handle, symbols[i].name);
        if (!*symbols[i].slot) {
            status = fail(host, error, STEPWISE_UNSUPPORTED,
                          "mpi communicator: %s has no %s; it is not this Stepwise's MPI backend (rebuild it)",
                          path, symbols[i].name);
            goto done;
        }
    }
    snprintf(mpi_path, sizeof mpi_path, "%s", path);
    mpi_loaded = true;
done:
    pthread_mutex_unlock(&load_lock);
    return status;
}

// Turns an MPI return code into the call's status; `what` names the operation and
// `count` its elements (-1: an operation without data).
static stepwise_status check(const communicator *self, int code, stepwise_error **error, const char *what,
                             int64_t count) {
    if (code == 0) return STEPWISE_OK;
    char text[512], elements[48] = "";
    mpi.error_text(code, text, (int)sizeof text);
    if (count >= 0) snprintf(elements, sizeof elements, " of %lld elements", (long long)count);
    return fail(self->host, error, STEPWISE_IO_ERROR, "MPI %s%s on rank %d of %d failed: %s (code %d)",
                what, elements, self->rank, self->size, text, code);
}

static stepwise_status dtype_code(const communicator *self, stepwise_dtype dtype, int *code, stepwise_error **error) {
    if (dtype == STEPWISE_F32) *code = SWMPI_F32;
    else if (dtype == STEPWISE_F64) *code = SWMPI_F64;
    else return fail(self->host, error, STEPWISE_UNSUPPORTED, "mpi communicator: dtype %d is not supported (F32 and F64 are)", (int)dtype);
    return STEPWISE_OK;
}

static stepwise_status op_supported(const communicator *self, stepwise_reduce_op op, stepwise_error **error) {
    if (op == STEPWISE_REDUCE_SUM) return STEPWISE_OK;
    return fail(self->host, error, STEPWISE_UNSUPPORTED, "mpi communicator: reduce op %d is not supported", (int)op);
}

static stepwise_status communicator_create(const stepwise_host *host, const stepwise_values *values,
                                           void **instance, stepwise_error **error) {
    const stepwise_value *configured = values->items[0];
    stepwise_status status = load_backend(host, configured->type == STEPWISE_TYPE_STRING ? configured->s : NULL, error);
    if (status != STEPWISE_OK) return status;
    communicator probe = {.host = host, .rank = 0, .size = 1};
    if ((status = check(&probe, mpi.init(), error, "initialization", -1)) != STEPWISE_OK) return status;
    int rank = 0, size = 1;
    if ((status = check(&probe, mpi.rank(&rank), error, "rank query", -1)) != STEPWISE_OK) return status;
    if ((status = check(&probe, mpi.size(&size), error, "size query", -1)) != STEPWISE_OK) return status;
    communicator *self = calloc(1, sizeof *self);
    if (!self) return fail(host, error, STEPWISE_OUT_OF_MEMORY, "mpi communicator: out of memory");
    *self = (communicator){.host = host, .rank = rank, .size = size};
    *instance = self;
    return STEPWISE_OK;
}

static void communicator_destroy(void *instance) { free(instance); }
static int32_t communicator_rank(void *instance) { return ((communicator *)instance)->rank; }
static int32_t communicator_size(void *instance) { return ((communicator *)instance)->size; }

static stepwise_status communicator_all_reduce(void *instance, void *buffer, int64_t count, stepwise_dtype dtype,
                                               stepwise_reduce_op op, stepwise_error **error) {
    communicator *self = instance;
    int code;
    stepwise_status status = dtype_code(self, dtype, &code, error);
    if (status == STEPWISE_OK) status = op_supported(self, op, error);
    if (status != STEPWISE_OK) return status;
    return check(self, mpi.allreduce_sum(buffer, count, code), error, "all-reduce", count);
}

static stepwise_status communicator_all_reduce_start(void *instance, void *buffer, int64_t count,
                                                     stepwise_dtype dtype, stepwise_reduce_op op,
                                                     stepwise_comm_request **request, stepwise_error **error) {
    communicator *self = instance;
    int code;
    stepwise_status status = dtype_code(self, dtype, &code, error);
    if (status == STEPWISE_OK) status = op_supported(self, op, error);
    if (status != STEPWISE_OK) return status;
    if (count > INT_MAX) {
        return fail(self->host, error, STEPWISE_INVALID_ARGUMENT,
                    "mpi communicator: a started all-reduce holds at most 2^31 - 1 elements, got %lld", (long long)count);
    }
    void *started = NULL;
    status = check(self, mpi.iallreduce_sum(buffer, count, code, &started), error, "start of an all-reduce", count);
    if (status == STEPWISE_OK) *request = started;
    return status;
}

static stepwise_status communicator_wait(void *instance, stepwise_comm_request *request, stepwise_error **error) {
    return check(instance, mpi.wait(request), error, "wait for an all-reduce", -1);
}

static stepwise_status communicator_all_gather(void *instance, const void *send, int64_t send_count, void *receive,
                                               const int64_t *counts, stepwise_dtype dtype, stepwise_error **error) {
    communicator *self = instance;
    int code;
    stepwise_status status = dtype_code(self, dtype, &code, error);
    if (status != STEPWISE_OK) return status;
    int *counts32 = malloc(sizeof(int) * (size_t)self->size * 2);
    if (!counts32) return fail(self->host, error, STEPWISE_OUT_OF_MEMORY, "mpi communicator: out of memory");
    int *displs = counts32 + self->size;
    int64_t total = 0;
    for (int r = 0; r < self->size; r++) {
        if (counts[r] < 0 || counts[r] > INT_MAX || total + counts[r] > INT_MAX) {
            free(counts32);
            return fail(self->host, error, STEPWISE_INVALID_ARGUMENT,
                        "mpi communicator: all-gather counts must be non-negative and total below 2^31 (rank %d: %lld)",
                        r, (long long)counts[r]);
        }
        counts32[r] = (int)counts[r];
        displs[r] = (int)total;
        total += counts[r];
    }
    if (send_count != counts[self->rank]) {
        free(counts32);
        return fail(self->host, error, STEPWISE_INVALID_ARGUMENT,
                    "mpi communicator: all-gather sends %lld elements but counts[%d] is %lld", (long long)send_count,
                    self->rank, (long long)counts[self->rank]);
    }
    status = check(self, mpi.allgatherv(send, send_count, receive, counts32, displs, code), error, "all-gather", total);
    free(counts32);
    return status;
}

static stepwise_status communicator_broadcast(void *instance, void *buffer, int64_t count, stepwise_dtype dtype,
                                              int32_t root, stepwise_error **error) {
    communicator *self = instance;
    int code;
    stepwise_status status = dtype_code(self, dtype, &code, error);
    if (status != STEPWISE_OK) return status;
    if (root < 0 || root >= self->size) {
        return fail(self->host, error, STEPWISE_INVALID_ARGUMENT, "mpi communicator: broadcast root %d is not a rank of %d",
                    (int)root, self->size);
    }
    return check(self, mpi.bcast(buffer, count, code, root), error, "broadcast", count);
}

static stepwise_status communicator_barrier(void *instance, stepwise_error **error) {
    return check(instance, mpi.barrier(), error, "barrier", -1);
}

static const stepwise_communicator_api api = {
    .struct_size = sizeof(stepwise_communicator_api),
    .create = communicator_create,
    .destroy = communicator_destroy,
    .rank = communicator_rank,
    .size = communicator_size,
    .all_reduce = communicator_all_reduce,
    .all_reduce_start = communicator_all_reduce_start,
    .wait = communicator_wait,
    .all_gather = communicator_all_gather,
    .broadcast = communicator_broadcast,
    .barrier = communicator_barrier,
};

static const stepwise_component mpi_component = {
    .struct_size = sizeof(stepwise_component),
    .kind = STEPWISE_KIND_COMMUNICATOR,
    .type_name = "mpi",
    .summary = "Collectives over Open MPI (processes started by mpirun), as torch.distributed's mpi backend",
    .reference = "MPI 3.1 standard: MPI_Allreduce, MPI_Iallreduce, MPI_Allgatherv, MPI_Bcast on MPI_COMM_WORLD",
    .hyperparam_count = 1,
    .hyperparams = hyperparams,
    .api = &api,
};
static const stepwise_component *const components[] = {&mpi_component};

static const stepwise_plugin plugin = {
    .struct_size = sizeof(stepwise_plugin),
    .abi_version = STEPWISE_ABI_VERSION_INIT,
    .id = "stepwise",
    .name = "Stepwise distributed",
    .version = "0.1.0",
    .vendor = "Stepwise",
    .description = "Communicators for data-parallel training",
    .component_count = 1,
    .components = components,
};

STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *host) {
    (void)host;
    return &plugin;
}
